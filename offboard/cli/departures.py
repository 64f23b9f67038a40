"""`offboard departures import FILE` and `offboard departures list`: the HR leave-date feed
(issue 13, R-EXIT-8), each line a scheduled exit; the outcome of every line in HR's words."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from offboard.actions import departures as feed_actions
from offboard.cli.common import read_file, ByOpt, JsonOpt, act, ok, reading, warn
from offboard.cli.output import console, emit_json, table
from offboard.cli.state import STATE
from offboard.domain import bulk_file
from offboard.i18n import glossary, translate
from offboard.queries import departures as feed_queries
from offboard.queries.audit_text import tenant_time

departures_app = typer.Typer(help="The HR leave-date feed: departures from HR become scheduled exits (离职日期).", no_args_is_help=True)


def _t(text: str, **params: object) -> str:
    return translate(text, STATE.locale, **params)


def _w(kind: str, value: object) -> str:
    return glossary.term(kind, value, STATE.locale)


@departures_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK, as Excel saves it) or JSON: userid (账号), leave date (离职日期), reason (离职原因), successor (继任者).")],
    accept_valid: Annotated[bool, typer.Option("--accept-valid", help="Import the good lines even when some cannot be imported (without it, one bad line changes nothing).")] = False,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Schedule the exit of each departure in HR's file; the same file again changes nothing."""
    data = read_file(file)

    def _import(u):
        read = bulk_file.read(data, file.name, u.tenant.timezone)
        return feed_actions.import_departures(u, read, file.name, accept_valid=accept_valid)

    result = act(_import, by).in_language(STATE.locale)
    if json_out:
        emit_json(result)
    else:
        _print(result)
    if result.invalid and not result.applied:
        raise typer.Exit(1)


def _print(result: feed_actions.DepartureImport) -> None:
    rows = []
    for line in result.lines:
        outcome = _w("departure_outcome", line.outcome)
        if line.previous_leave_date:
            outcome += f" ({line.previous_leave_date} → {line.leave_date})"
        elif line.exit_state and line.outcome in ("unchanged", "already_left"):
            outcome += f" ({_w('exit_state', line.exit_state)})"
        why = " ".join(i.message or i.code for i in line.issues)
        rows.append([line.line, line.userid, line.leave_date or "—", outcome, line.exit_id or "", why])
    table(
        _t("HR leave dates from {source}", source=result.source),
        [_t("Line"), _t("Userid"), _t("Leave date"), _t("Outcome"), _t("Exit"), _t("Why")],
        rows,
    )
    counts = ", ".join(f"{_w('departure_outcome', outcome)} {n}" for outcome, n in result.counts.items())
    if result.applied:
        ok("{total} line(s) read: {counts}.", total=result.total, counts=counts)
    else:
        warn(
            "Nothing changed: {bad} of {total} line(s) cannot be imported. Fix them and import the file again, or import the good lines alone with --accept-valid.",
            bad=result.invalid,
            total=result.total,
        )


@departures_app.command("list")
def list_cmd(
    state: Annotated[str | None, typer.Option("--state", help="Only departures whose exit is scheduled, open, finalized, restored or cancelled.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The leave dates the HR feed imported, newest first, with their exits."""
    with reading(by) as (conn, tenant, actor):
        page = feed_queries.list_departures(conn, tenant.id, actor, state=state, limit=limit, offset=offset)
        tz = tenant.timezone
    if json_out:
        emit_json(page)
        return
    table(
        f"{len(page.items)} / {page.total}",
        [_t("Userid"), _t("Name"), _t("Leave date"), _t("Exit"), _t("State"), _t("Takes effect"), _t("Imported")],
        [
            [d.userid, d.name, d.leave_date + ("" if d.current else " *"), d.exit_id, _w("exit_state", d.exit_state), tenant_time(d.effective_at, tz), tenant_time(d.imported_at, tz)]
            for d in page.items
        ],
    )
    if any(not d.current for d in page.items):
        console.print(_t("* HR sent another date for this exit since."))
