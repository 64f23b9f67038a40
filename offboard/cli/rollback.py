"""`offboard rollback`: what a stolen account changed since a time, each change with its
inverse, shown first and applied only with --apply and your code (R-EXC-1)."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.actions import rollback
from offboard.cli.common import JsonOpt, act, ok, reading, warn
from offboard.cli.output import emit_json, table
from offboard.cli.state import STATE
from offboard.domain.errors import ValidationError, error
from offboard.i18n import translate
from offboard.queries.rollback import RollbackPlan, rollback_plan
from offboard.i18n import mark as _


VERDICTS = {"undo": _("undo"), "superseded": _("left as it is"), "unchanged": _("nothing to undo")}


def _print(plan: RollbackPlan) -> None:
    loc = STATE.locale
    if not plan.items:
        ok("{name} ({userid}) made no role, token, policy or handover change since {since}.", name=plan.name, userid=plan.userid, since=plan.since_local)
        return
    rows = [
        [
            "\n".join(f"{line.at_local}  {line.sentence}" for line in item.changes),
            translate(VERDICTS[item.verdict], loc),
            item.undo or item.why or "",
        ]
        for item in plan.items
    ]
    title = translate("Changes by {name} ({userid}) since {since} ({timezone})", loc, name=plan.name, userid=plan.userid, since=plan.since_local, timezone=plan.timezone)
    table(title, [translate(_("What they changed"), loc), translate(_("Verdict"), loc), translate(_("What the rollback does"), loc)], rows)
    ok("{undo} to undo, {superseded} left as they are, {unchanged} with nothing to undo.", undo=plan.to_undo, superseded=plan.superseded, unchanged=plan.unchanged)


def rollback_cmd(
    member: str,
    since: Annotated[str, typer.Option("--since", help="From when: a day (2026-12-01) or a time (2026-12-01 09:30) in the enterprise's time zone.")],
    by: Annotated[str, typer.Option("--by", help="Your userid (a super admin).")],
    apply: Annotated[bool, typer.Option("--apply", help="Undo what the plan marks 'undo', in one transaction (needs --totp).")] = False,
    totp: Annotated[str | None, typer.Option("--totp", help="Your current 6-digit code, with --apply.")] = None,
    digest: Annotated[str | None, typer.Option("--plan", help="The plan's digest as shown; --apply refuses if the plan has changed since.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the rollback plan of an account's changes since a time; undo them with --apply."""
    if not apply:
        services = STATE.services()
        with reading(by) as (conn, tenant, actor):
            plan = rollback_plan(conn, tenant, actor, member, since, services.clock.now(), STATE.locale)
        if json_out:
            emit_json(plan)
            return
        _print(plan)
        if plan.to_undo:
            warn(
                "Nothing is changed yet. To undo: offboard rollback {userid} --since '{since}' --by {by} --apply --plan {digest} --totp CODE",
                userid=plan.userid,
                since=since,
                by=by,
                digest=plan.digest,
            )
        return
    if not totp:
        raise error(ValidationError, "totp_required", "Applying a rollback needs your current 6-digit code: --totp CODE.")
    result = act(lambda u: rollback.apply(u, member, since=since, totp=totp, digest=digest, locale=STATE.locale), by)
    if json_out:
        emit_json(result)
        return
    _print(result.plan)
    ok("Rolled back: {count} change(s) undone in one transaction, recorded in the audit trail.", count=result.undone)
