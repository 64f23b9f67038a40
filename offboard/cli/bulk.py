"""`offboard bulk-exit FILE` (R-EXIT-7) and `offboard job show ID`: a file of departures planned
together, shown, confirmed, then run with a progress bar; each line's outcome at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from offboard.actions import bulk_exits
from offboard.actions.context import UnitOfWork
from offboard.cli.common import read_file, ByOpt, JsonOpt, act, ok, reading
from offboard.cli.output import console, emit_json, table
from offboard.cli.state import STATE
from offboard.domain import bulk_file
from offboard.i18n import glossary, translate
from offboard.jobs.bulk import run_jobs
from offboard.queries.jobs import JobLine, JobView, show_job

job_app = typer.Typer(help="Bulk jobs: their progress and each line's outcome.", no_args_is_help=True)
SHOWN = 50  # lines with a problem printed before "and N more"


class _DryRun(Exception):
    def __init__(self, view: JobView) -> None:
        self.view = view


def _t(text: str, **params: object) -> str:
    return translate(text, STATE.locale, **params)


def _view(job_id: int, by: str | None, status: str | None = None, limit: int = 100_000) -> JobView:
    with reading(by) as (conn, tenant, actor):
        return show_job(conn, tenant.id, actor, job_id, status=status, limit=limit).in_language(STATE.locale)


def print_job(view: JobView) -> None:
    w = glossary.term
    loc = STATE.locale
    console.print(
        _t("Bulk job {id} ({source}): {state}.", id=view.id, source=view.source, state=w("job_state", view.state, loc))
        + "  "
        + ", ".join(f"{w('line_status', s, loc)} {n}" for s, n in sorted(view.counts.items()))
    )
    if view.plan:
        table(_t("Resources, all leavers together"), [_t("Kind"), _t("Goes to"), _t("Count")], [[w("resource_kind", p.kind, loc), w("route", p.route, loc), p.count] for p in view.plan])
    problems = [line for line in view.lines if line.issues]
    for line in problems[:SHOWN]:
        console.print(f"[red]✗ {_t('Line {n}', n=line.row_no)} {_who(line)}: {' '.join(i.message or i.code for i in line.issues)}[/red] [dim]({', '.join(i.code for i in line.issues)})[/dim]")
    if len(problems) > SHOWN:
        console.print(_t("… and {n} more lines with a problem; --json lists them all.", n=len(problems) - SHOWN))
    warned = [line for line in view.lines if line.warnings and not line.issues]
    for line in warned[:SHOWN]:
        console.print(f"[yellow]! {_t('Line {n}', n=line.row_no)} {_who(line)}: {' '.join(i.message or i.code for i in line.warnings)}[/yellow]")
    if len(warned) > SHOWN:
        console.print(_t("… and {n} more lines with a warning; --json lists them all.", n=len(warned) - SHOWN))


def _who(line: JobLine) -> str:
    return f"{line.name} ({line.userid})" if line.name else line.userid


def bulk_exit(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK, as Excel saves it) or JSON: userid, type, reason_category, reason, successor, acceptor.KIND, effective.")],
    reason_category: Annotated[str | None, typer.Option("--reason-category", help="For lines that give none: resignation, dismissal, contract_end, retirement, transfer, other.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="For lines that give none (kept in the audit trail).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the combined plan; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; run the plan.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=5000, help="Leavers per transaction.")] = bulk_exits.BATCH_SIZE,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Exit many members from one file: planned together, then run in batches with progress."""
    data = read_file(file)
    defaults = bulk_exits.Defaults(reason_category=reason_category, reason=reason)

    def _create(u: UnitOfWork) -> int:
        departures = bulk_file.read(data, file.name, u.tenant.timezone)
        job_id = bulk_exits.create(u, departures, file.name, defaults, batch_size=batch_size)
        if dry_run:
            raise _DryRun(show_job(u.conn, u.tenant_id, u.actor, job_id, limit=100_000).in_language(STATE.locale))
        return job_id

    try:
        job_id = act(_create, by)
    except _DryRun as planned:  # the transaction rolled back: nothing was kept
        emit_json(planned.view) if json_out else print_job(planned.view)
        return
    view = _view(job_id, by)
    if not json_out:
        print_job(view)
    if not view.to_do:
        act(lambda u: bulk_exits.cancel(u, job_id), by)
        if json_out:
            emit_json(_view(job_id, by))
        else:
            console.print(_t("No line can be done; nothing changed."))
        raise typer.Exit(1)
    if not yes and not typer.confirm(_t("Exit these {n} member(s)?", n=view.to_do), default=False):
        act(lambda u: bulk_exits.cancel(u, job_id), by)
        raise typer.Abort()
    act(lambda u: bulk_exits.confirm(u, job_id), by)
    tenant_id = _tenant_id()
    if json_out:
        run_jobs(STATE.services(), job_id=job_id, tenant_id=tenant_id)
        emit_json(_view(job_id, by))
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(_t("Exiting"), total=view.to_do)
        run_jobs(STATE.services(), job_id=job_id, tenant_id=tenant_id, progress=lambda n: bar.advance(task, n))
    final = _view(job_id, by)
    ok(
        "Bulk job {id}: {exited} exited, {scheduled} scheduled, {failed} failed.",
        id=job_id,
        exited=final.counts.get("exited", 0),
        scheduled=final.counts.get("scheduled", 0),
        failed=final.counts.get("failed", 0),
    )
    failed = [line for line in final.lines if line.status == "failed"]
    for line in failed[:SHOWN]:
        console.print(f"[red]✗ {_t('Line {n}', n=line.row_no)} {_who(line)}: {' '.join(i.message or i.code for i in line.issues)}[/red]")


def _tenant_id() -> int:
    with reading() as (_conn, tenant, _actor):
        tenant_id: int = tenant.id
        return tenant_id


@job_app.command("show")
def job_show(
    job_id: Annotated[int, typer.Argument(help="The job's id.")],
    status: Annotated[str | None, typer.Option("--status", help="Only lines in this status: invalid, blocked, ready, exited, scheduled, failed.")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A bulk job's progress, its combined plan and each line's outcome."""
    view = _view(job_id, by, status=status)
    if json_out:
        emit_json(view)
        return
    print_job(view)
    if view.to_do:
        console.print(_t("{done} of {total} lines done ({percent}%).", done=view.done, total=view.to_do, percent=view.percent))
