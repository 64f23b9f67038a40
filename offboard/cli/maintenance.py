"""Commands for the database and the audit trail."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.queries import audit as audit_q
from offboard.cli.common import ByOpt, JsonOpt, ok, reading
from offboard.cli.output import emit_json, table
from offboard.cli.state import STATE
from offboard.store import schema

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
keys_app = typer.Typer(help="The key file's keys: what wraps sealed data and the audit keys (R-LAW-3).", no_args_is_help=True)


@keys_app.command("rotate")
def keys_rotate(json_out: JsonOpt = False) -> None:
    """A new key-encryption key per data region, and every data key and audit key re-wrapped under it; the sealed data is not touched. Back the key file up afterwards."""
    from offboard.actions.keys import rotate

    done = rotate(STATE.services())
    if json_out:
        emit_json(done)
    elif not done:
        ok("Nothing is wrapped yet; no key to rotate.")
    else:
        for r in done:
            ok(
                "{tenant}: {data} data key(s), {audit} audit key(s) and {secrets} webhook secret(s) re-wrapped under the new key.",
                tenant=r.tenant,
                data=r.data_keys,
                audit=r.audit_keys,
                secrets=r.webhook_secrets,
            )


@db_app.command("upgrade")
def db_upgrade(json_out: JsonOpt = False) -> None:
    """Create or migrate the schema to this version; running it again changes nothing."""
    before, after = schema.upgrade(STATE.services(check_schema=False).db)
    if json_out:
        emit_json({"from": before, "to": after, "changed": before != after})
    elif before == after:
        ok("Schema already at {rev}; nothing to do.", rev=after)
    else:
        ok("Schema migrated from {before} to {after}.", before=before or "empty", after=after)


@audit_app.command("list")
def audit_list(
    before: Annotated[int | None, typer.Option(help="Show events before this sequence number.")] = None,
    limit: Annotated[int, typer.Option(help="How many (1-500).")] = 50,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. member.added, or a prefix ending in a dot, e.g. exit.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only events done by this member (userid).")] = None,
    member: Annotated[str | None, typer.Option(help="Only events about this member (userid).")] = None,
    since: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD in the enterprise's time zone.")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD in the enterprise's time zone.")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The newest audit events first, each told in words."""
    with reading(by) as (conn, tenant, reader):
        rows = audit_q.events(conn, tenant, reader, before=before, limit=limit, action=action, by=actor, member=member, since=since, until=until, locale=STATE.locale).items
    if json_out:
        emit_json(rows)
        return
    table(None, ["seq", "at", "action", "what happened"], [[r.seq, r.at_local, r.action, r.sentence] for r in rows])
