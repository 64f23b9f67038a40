"""`offboard data show|hold|release|erase|requests|access|restore-export`: a member's data under the law: what is
kept and until when (R-LAW-2), legal holds, erasure requests answered with a schedule, and the
copy of their personal data they may ask for (R-LAW-1), and a departed member's sealed records
read from an enterprise backup (R-DATA-4)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from offboard.actions import backup_export, erasure, holds, subject_access
from offboard.cli.common import BasisRefOpt, ByOpt, JsonOpt, LegalBasisOpt, ToRegionOpt, act, ok, reading, warn
from offboard.cli.output import emit_json, table
from offboard.cli.state import STATE
from offboard.i18n import glossary, translate
from offboard.queries import data_lifecycle as data_q
from offboard.queries.audit_text import tenant_time

data_app = typer.Typer(help="A member's data under the law: retention, legal holds, erasure requests (R-LAW-1, R-LAW-2).", no_args_is_help=True)
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail), e.g. a case or request reference.")]


def _term(kind: str, value: str | None) -> str:
    return glossary.term(kind, value, STATE.locale) if value else "—"


def _steps(request: data_q.Request, tz: str) -> None:
    rows = []
    for s in request.steps:
        if s.state == "done":
            when = translate("done {at}", STATE.locale, at=tenant_time(s.done_at, tz))
        elif s.waiting_for == "retention":
            when = translate("on {at}, when the retention ends", STATE.locale, at=tenant_time(s.due_at, tz))
        elif s.waiting_for:
            when = _term("erasure_waiting", s.waiting_for)
        else:
            when = translate("on the next sweep", STATE.locale)
        rows.append([_term("erasure_step", s.step), _term("erasure_state", s.state), when, s.rows if s.rows is not None else ""])
    table(translate("Erasure request {id}", STATE.locale, id=request.id), ["step", "state", "when", "rows"], rows)


@data_app.command("show")
def data_show(userid: str, by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """What is kept of the member's records, until when and why; their holds and erasure requests."""
    with reading(by) as (conn, tenant, actor):
        data = data_q.member_data(conn, tenant, actor, userid)
        tz = tenant.timezone
    if json_out:
        emit_json(data)
        return
    why = {
        "employed": translate("in use while they work here", STATE.locale),
        "retention": translate("chat retention (R-LAW-2)", STATE.locale),
        "file_policy": translate("kept in the enterprise archive by the file policy", STATE.locale),
        "compliant_deletion": translate("until a compliant deletion (R-DATA-3)", STATE.locale),
        "until_erasure": translate("until an erasure request", STATE.locale),
        "hold": translate("legal hold", STATE.locale),
        "erased": translate("erased", STATE.locale),
    }
    table(
        f"{data.name} ({data.userid}) · {_term('member_status', data.status)}",
        ["records", "count", "kept until", "why"],
        [[_term("record_kind", k.kind), k.records, tenant_time(k.until, tz) if k.until else "—", why[k.why]] for k in data.kept],
    )
    for h in data.holds:
        kinds = ", ".join(_term("record_kind", k) for k in h.kinds) or translate("every record", STATE.locale)
        state = translate("released {at}", STATE.locale, at=tenant_time(h.released_at, tz)) if h.released_at else translate("active", STATE.locale)
        ok("Legal hold {id} on {kinds} since {at} ({state}): {reason}", id=h.id, kinds=kinds, at=tenant_time(h.placed_at, tz), state=state, reason=h.reason)
    for r in data.requests:
        _steps(r, tz)


@data_app.command("hold")
def data_hold(
    userid: str,
    reason: Reason,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="A record kind to hold (chat, files, calendar, approvals, attendance, profile); every kind when omitted.")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Place a legal hold: the records are kept past every retention and erasure until released."""
    hold_id = act(lambda uow: holds.place_hold(uow, userid, reason=reason, kinds=kind), by)
    if json_out:
        emit_json({"hold_id": hold_id})
        return
    ok("Legal hold {id} placed on the records of {userid}; nothing it covers is erased until it is released.", id=hold_id, userid=userid)


@data_app.command("release")
def data_release(hold_id: int, reason: Reason, by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """Release a legal hold; erasures it held back run on the next sweep."""
    act(lambda uow: holds.release_hold(uow, hold_id, reason=reason), by)
    if json_out:
        emit_json({"hold_id": hold_id, "released": True})
        return
    ok("Legal hold {id} released; erasure steps it held back run on the next sweep.", id=hold_id)


@data_app.command("erase")
def data_erase(
    userid: str,
    reason: Reason,
    module: Annotated[list[str] | None, typer.Option("--module", help="Selective clearing: a module to erase (chat, files, calendar, approvals, attendance, profile); repeat for more.")] = None,
    level: Annotated[str | None, typer.Option("--level", help="Clearing by levels: L1 revoke access, L2 pseudonymize, L3 crypto-shred, L4 delete all not retained.")] = None,
    verified: Annotated[str | None, typer.Option("--verified", help="How the member's identity was checked, when you file for them.")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """File an erasure request by the enterprise's data-clearing mode; prints its schedule."""
    request_id = act(lambda uow: erasure.request_erasure(uow, userid, reason=reason, modules=module, level=level, verified=verified), by)
    with reading(by) as (conn, tenant, _actor):
        (request,) = data_q.requests_of(conn, tenant.id, request_id=request_id)
        tz = tenant.timezone
    if json_out:
        emit_json(request)
        return
    _steps(request, tz)
    ok("Erasure request {id} filed: what is due is erased; the rest runs when its retention or hold ends.", id=request_id)


@data_app.command("requests")
def data_requests(by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """Every erasure request of the enterprise, newest first, with its schedule."""
    with reading(by) as (conn, tenant, actor):
        found = data_q.all_requests(conn, tenant, actor)
        tz = tenant.timezone
    if json_out:
        emit_json(found)
        return
    for request in found:
        _steps(request, tz)
    if not found:
        ok("No erasure requests.")


@data_app.command("access")
def data_access(
    userid: str,
    verified: Annotated[str | None, typer.Option("--verified", help="How the member's identity was checked, when you answer their request.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (JSON); standard output by default.")] = None,
    to: ToRegionOpt = None,
    legal_basis: LegalBasisOpt = None,
    basis_reference: BasisRefOpt = None,
    by: ByOpt = None,
) -> None:
    """Subject access (R-LAW-1): a machine-readable copy (JSON) of the personal data held about the member; audited."""
    document = act(lambda uow: subject_access.export_personal_data(uow, userid, verified=verified, destination=to, legal_basis=legal_basis, basis_reference=basis_reference), by)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    ok("The personal data of {name} is written to {path}; the copy is in the audit trail.", name=document["member"]["name"], path=str(output))


@data_app.command("restore-export")
def data_restore_export(
    userid: str,
    backup: Annotated[str, typer.Option("--backup", help="The enterprise backup: a SQLite backup file, or the URL of a database restored from a dump (read only).")],
    reason: Reason,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (JSON Lines); standard output by default.")] = None,
    by: ByOpt = None,
) -> None:
    """R-DATA-4: a departed member's sealed records (messages, profile) read from an enterprise backup and exported as JSON Lines; audited in the live database."""
    export = act(lambda uow: backup_export.export_from_backup(uow, userid, backup=backup, reason=reason), by)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for line in export.lines:
            out.write(json.dumps(line.as_json(), ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()
    for record in export.unreadable:
        warn("Record {record} of the backup does not open (changed after it was sealed); its line says so, the others are exported.", record=record)
    if output:
        ok(
            "{n} record(s) of {name} from the backup (up to audit event {seq}) written to {path}; the export is in the audit trail.",
            n=len(export.lines),
            name=export.name,
            seq=export.backup.audit_seq,
            path=str(output),
        )
