"""`offboard worker` (due work and the outbox) and `offboard outbox list`."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated, TypedDict

import typer

from offboard.queries.outbox import list_outbox
from offboard.cli.common import ByOpt, JsonOpt, ok, reading
from offboard.cli.output import console, emit_json, table
from offboard.cli.state import STATE
from offboard.jobs.outbox import LEASE, DeliveryError, drain
from offboard.jobs.bulk import run_jobs
from offboard.jobs.reconciler import ReconcileCounts, reconcile
from offboard.jobs.webhooks import LEASE as WEBHOOK_LEASE
from offboard.jobs.webhooks import deliver_due

outbox_app = typer.Typer(help="Work handed to subscribers after commit (webhooks, connectors, the event log).", no_args_is_help=True)


class OutboxCounts(TypedDict):
    delivered: int
    failed: int
    dead: int
    errors: list[DeliveryError]


class BulkCounts(TypedDict):
    batches: int
    lines: int
    failed_lines: int


class WebhookCounts(TypedDict):
    delivered: int
    failed: int
    dead: int
    errors: list[str]


class PassReport(ReconcileCounts):
    bulk: BulkCounts
    outbox: OutboxCounts
    webhooks: WebhookCounts


def run_once(lease: timedelta = LEASE) -> PassReport:
    """The batches of confirmed bulk jobs, one pass over due work, one drain of the outbox
    (which delivers what they emitted), then the webhook deliveries due."""
    services = STATE.services()
    bulk = run_jobs(services)
    report = reconcile(services).as_dict()
    drained = drain(services, lease=lease)
    sent = deliver_due(services, lease=min(lease, WEBHOOK_LEASE))
    return {
        **report,
        "bulk": {"batches": bulk.batches, "lines": bulk.rows, "failed_lines": bulk.failed_lines},
        "outbox": {"delivered": drained.delivered, "failed": drained.failed, "dead": drained.dead, "errors": drained.errors},
        "webhooks": {"delivered": sent.delivered, "failed": sent.failed, "dead": sent.dead, "errors": sent.errors},
    }


def worker(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[int, typer.Option("--interval", help="Seconds between passes.", min=1, max=3600)] = 30,
    lease: Annotated[int, typer.Option("--lease", help="Seconds an event being delivered stays with this worker before another may take it.", min=1, max=3600)] = int(LEASE.total_seconds()),
    json_out: JsonOpt = False,
) -> None:
    """Run bulk exits, due work (scheduled exits, 24 h takeovers, finalizations, erasures) and deliver the outbox.
    Idempotent and catches up; any number of workers may run at once."""
    while True:
        report = run_once(timedelta(seconds=lease))
        if json_out:
            emit_json(report)
        else:
            box = report["outbox"]
            if report["bulk"]["batches"]:
                ok("Bulk exits: {batches} batch(es), {lines} line(s) done, {failed} failed.", batches=report["bulk"]["batches"], lines=report["bulk"]["lines"], failed=report["bulk"]["failed_lines"])
            ok(
                "Sweep: {took} exit(s) took effect, {over} transfer(s) taken over, {fin} exit(s) finalized, {windows} emergency window(s) closed, {erased} erasure step(s) run, {signed} audit checkpoint(s) signed, {failed} failed.",
                took=report["took_effect"],
                over=report["taken_over"],
                fin=report["finalized"],
                windows=report["windows_closed"],
                erased=report["erasure_steps"],
                signed=report["checkpoints"],
                failed=len(report["failed"]),
            )
            ok("Outbox: {delivered} delivered, {failed} to retry, {dead} given up.", delivered=box["delivered"], failed=box["failed"], dead=box["dead"])
            hooks = report["webhooks"]
            if hooks["delivered"] or hooks["failed"] or hooks["dead"]:
                ok("Webhooks: {delivered} delivered, {failed} to retry, {dead} given up.", delivered=hooks["delivered"], failed=hooks["failed"], dead=hooks["dead"])
            for f in report["failed"]:
                item = f"exit {f['exit_id']}" if f["exit_id"] is not None else "the enterprise"
                console.print(f"[red]✗ {f['kind']} {item} (tenant {f['tenant_id']}): {f['message']}[/red]")
            for e in box["errors"]:
                console.print(f"[yellow]! {e['key']}: {e['error']}[/yellow]")
            for message in hooks["errors"]:
                console.print(f"[yellow]! {message}[/yellow]")
        if once:
            return
        time.sleep(interval)


@outbox_app.command("list")
def outbox_list(
    state: Annotated[str | None, typer.Option("--state", help="pending, failing, delivered or dead.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The enterprise's outbox, newest first: each event, where it was delivered, its attempts."""
    with reading(by) as (conn, tenant, actor):
        page = list_outbox(conn, tenant.id, actor, state=state, limit=limit)
    if json_out:
        emit_json(page)
        return
    table(
        None,
        ["id", "topic", "ids", "state", "attempts", "delivered to", "last error", "created"],
        [
            [i.id, i.topic, " ".join(f"{k}={v}" for k, v in i.ids.items()), i.state, i.attempts, ", ".join(i.delivered_to) or "—", i.last_error or "", i.created_at.isoformat(timespec="seconds")]
            for i in page.items
        ],
    )
