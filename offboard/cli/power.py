"""Commands for power and incidents: freeze and unfreeze an account (R-EXC-1), recover a frozen
enterprise (R-ADM-4)."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.actions import backup_admin, handover
from offboard.actions import freeze as freeze_actions
from offboard.cli.common import ByOpt, JsonOpt, act, ok, reading
from offboard.cli.output import emit_json
from offboard.cli.state import STATE
from offboard.i18n.glossary import Term
from offboard.queries.power import Handover, current_handover

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


handover_app = typer.Typer(help="Hand super-admin power over (R-ADM-1) in the policy's mode.", no_args_is_help=True)
ByNeeded = Annotated[str, typer.Option("--by", help="Your userid: each party of a handover acts as themself.")]


def _print_handover(result: Handover | None, json_out: bool) -> None:
    if json_out:
        emit_json(result)
        return
    if result is None:
        ok("No handover yet.")
        return
    ok(
        "Handover {id} ({mode}) from {from_userid} to {to_userid}: {state}.",
        id=result.id,
        mode=Term("handover_mode", result.mode),
        from_userid=result.from_userid,
        to_userid=result.to_userid,
        state=Term("handover_state", result.state),
    )
    if result.custodian_userid and result.state == "pending":
        ok("{userid} holds power in escrow until {to_userid} accepts.", userid=result.custodian_userid, to_userid=result.to_userid)
    if result.state == "pending" and result.link_expires_at:
        ok("{to_userid} accepts before {until}: `offboard handover accept --by {to_userid} --totp CODE`, or in the console.", to_userid=result.to_userid, until=result.link_expires_at.isoformat()[:16])
    if result.window_until and result.state == "completed":
        ok("{from_userid} keeps emergency powers until {until}.", from_userid=result.from_userid, until=result.window_until.isoformat()[:16])


@handover_app.command("start")
def handover_start(
    by: ByNeeded,
    to: Annotated[str, typer.Option("--to", help="Userid of the successor.")],
    totp: TotpOpt,
    custodian: Annotated[str | None, typer.Option("--custodian", help="escrow mode: who holds power until the successor accepts.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Start a handover of your super-admin power."""
    _print_handover(act(lambda u: handover.start(u, to=to, totp=totp, custodian=custodian), by), json_out)


@handover_app.command("accept")
def handover_accept(by: ByNeeded, totp: TotpOpt, json_out: JsonOpt = False) -> None:
    """Accept the handover that waits for you, with your own code."""
    _print_handover(act(lambda u: handover.accept(u, totp=totp), by), json_out)


@handover_app.command("cancel")
def handover_cancel(by: ByNeeded, totp: TotpOpt, json_out: JsonOpt = False) -> None:
    """Cancel your pending handover (in escrow, power comes back from the custodian)."""
    _print_handover(act(lambda u: handover.cancel(u, totp=totp), by), json_out)


@handover_app.command("revert")
def handover_revert(by: ByNeeded, totp: TotpOpt, json_out: JsonOpt = False) -> None:
    """Take power back inside your emergency window (R-ADM-2)."""
    _print_handover(act(lambda u: handover.revert(u, totp=totp), by), json_out)


@handover_app.command("status")
def handover_status(by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """The latest handover of the enterprise."""
    with reading(by) as (conn, tenant, actor):
        found = current_handover(conn, tenant.id, actor)
    _print_handover(found, json_out)
