"""Commands for power and incidents: freeze and unfreeze an account (R-EXC-1), recover a frozen
enterprise (R-ADM-4)."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.actions import backup_admin
from offboard.actions import freeze as freeze_actions
from offboard.cli.common import ByOpt, JsonOpt, act, ok
from offboard.cli.output import emit_json
from offboard.cli.state import STATE

TotpOpt = Annotated[str, typer.Option("--totp", help="Your current 6-digit code.")]


def freeze_cmd(
    member: str,
    reason: Annotated[str, typer.Option("--reason", help="Why the account is frozen (a stolen password, a lost phone).")],
    force: Annotated[bool, typer.Option("--force", help="Freeze even the last super admin; the enterprise is then frozen until `tenant recover`.")] = False,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Freeze an account at once: sessions and tokens revoked, credentials locked (R-EXC-1)."""
    result = act(lambda u: freeze_actions.freeze(u, member, reason=reason, force=force), by)
    if json_out:
        emit_json(result)
        return
    ok("{userid} is frozen: {sessions} session(s) and {tokens} token(s) revoked, sign-in locked.", userid=result.userid, sessions=result.sessions_revoked, tokens=result.tokens_revoked)
    if result.backup_activated:
        ok("{userid}, the backup super admin, is now the primary super admin.", userid=result.backup_activated)
    if result.tenant_frozen:
        ok("The enterprise is frozen until an operator recovers it (offboard tenant recover).")


def unfreeze_cmd(member: str, totp: TotpOpt, by: ByOpt = None) -> None:
    """Give a frozen account back (verified with your code); its owner signs in anew."""
    act(lambda u: freeze_actions.unfreeze(u, member, totp=totp), by)
    ok("{userid} is active again; they sign in anew.", userid=member)


def tenant_recover(
    slug: str,
    new_admin: Annotated[str, typer.Option("--new-admin", help="Userid of the active member who becomes the primary super admin.")],
    totp: Annotated[str, typer.Option("--totp", help="The new super admin's current 6-digit code.")],
    json_out: JsonOpt = False,
) -> None:
    """Lift a frozen enterprise by naming its new super admin (operator, R-ADM-4)."""
    result = freeze_actions.recover_tenant(STATE.services(), slug, new_admin=new_admin, totp=totp)
    if json_out:
        emit_json(result)
        return
    ok("Enterprise {slug} recovered; {userid} is its primary super admin.", slug=slug, userid=result.new_admin)


backup_app = typer.Typer(help="The backup super admin (R-ADM-3, AB角).", no_args_is_help=True)


@backup_app.command("set")
def backup_set(member: str, by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """Name the backup super admin; a previous backup gives up the role."""
    result = act(lambda u: backup_admin.set_backup(u, member), by)
    if json_out:
        emit_json(result)
        return
    ok("{userid} is the backup super admin.", userid=result.userid)
    if result.replaced:
        ok("{userid} is no longer the backup and no longer a super admin.", userid=result.replaced)


@backup_app.command("remove")
def backup_remove(by: ByOpt = None) -> None:
    """Remove the backup super admin's role (refused if they are the last super admin)."""
    userid = act(backup_admin.remove_backup, by)
    ok("{userid} is no longer the backup super admin.", userid=userid)
