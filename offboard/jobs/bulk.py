"""Running bulk jobs (R-EXIT-7): any number of workers take a confirmed job's batches.

A batch is claimed inside the transaction that does it (its row, FOR UPDATE SKIP LOCKED on
PostgreSQL; SQLite serializes writers) and marked done in that same transaction: killed at any
moment, a worker leaves its batch as it was, and the next worker takes it again. A batch that
fails as a whole is split in halves, each tried in a transaction of its own, down to the line
that fails, which is marked failed with its error: one member never stops the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, and_, select

from offboard.actions import bulk_exits
from offboard.actions.context import Services, tenant_transaction
from offboard.domain.authz import Actor
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import JobState
from offboard.store import statistics
from offboard.store.tables import job_batches, jobs, transfer_ledger

log = structlog.get_logger("offboard.bulk")
WAIT = 0.2  # seconds between looks while other workers hold every pending batch
LOOK_EVERY = 1.0  # seconds between looks for a confirmed job, in `offboard serve`


@dataclass
class BulkReport:
    batches: int = 0
    rows: int = 0
    failed_lines: int = 0


@dataclass(frozen=True)
class _Job:
    tenant_id: int
    job_id: int
    actor: Actor


def _pending(job_id: int | None = None, tenant_id: int | None = None):
    query = (
        select(job_batches.c.tenant_id, job_batches.c.job_id, job_batches.c.batch_no)
        .join(jobs, and_(jobs.c.tenant_id == job_batches.c.tenant_id, jobs.c.id == job_batches.c.job_id))
        .where(job_batches.c.state == "pending", jobs.c.state == JobState.RUNNING)
        .order_by(job_batches.c.tenant_id, job_batches.c.job_id, job_batches.c.batch_no)
    )
    if job_id is not None:
        query = query.where(job_batches.c.tenant_id == tenant_id, job_batches.c.job_id == job_id)
    return query


def _next_job(services: Services, job_id: int | None, tenant_id: int | None) -> _Job | None:
    """A running job with a pending batch, and who it acts as."""
    with services.db.read() as conn:
        row = conn.execute(_pending(job_id, tenant_id).limit(1)).first()
        if row is None:
            return None
        job = conn.execute(select(jobs).where(jobs.c.tenant_id == row.tenant_id, jobs.c.id == row.job_id)).one()
        return _Job(row.tenant_id, row.job_id, bulk_exits.job_actor(conn, row.tenant_id, job, services.clock.now()))


def _claim(conn: Connection, job: _Job, batch_no: int | None = None, *, wait: bool = False) -> int | None:
    """A pending batch of the job (or batch `batch_no`), locked by this transaction."""
    query = select(job_batches.c.batch_no).where(job_batches.c.tenant_id == job.tenant_id, job_batches.c.job_id == job.job_id, job_batches.c.state == "pending")
    if batch_no is not None:
        query = query.where(job_batches.c.batch_no == batch_no)
    query = query.order_by(job_batches.c.batch_no).limit(1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=not wait)
    return conn.execute(query).scalar()


def run_jobs(services: Services, *, job_id: int | None = None, tenant_id: int | None = None, progress: Callable[[int], None] | None = None) -> BulkReport:
    """Take batches until no running job has one pending (only job `job_id`'s, when given);
    `progress` hears how many lines each batch did."""
    report = BulkReport()
    analyzed: set[tuple[int, int]] = set()
    while (job := _next_job(services, job_id, tenant_id)) is not None:
        done = _run_one(services, job, report)
        if done is None:
            time.sleep(WAIT)  # every pending batch is held by another worker
            continue
        if (job.tenant_id, job.job_id) not in analyzed:  # once the job's first batch is in
            analyzed.add((job.tenant_id, job.job_id))
            statistics.refresh(services.db, (transfer_ledger,))
        if progress is not None:
            progress(done)
    return report


def keep_running(services: Services, stop: threading.Event, interval: float = LOOK_EVERY) -> None:
    """Look for confirmed jobs every `interval` seconds until `stop` is set, and run them: a job
    confirmed in the console starts within a second or two. A pass that fails is logged and
    the next one tries again (a batch is done entirely or not at all)."""
    while not stop.wait(interval):
        try:
            report = run_jobs(services)
        except Exception:
            log.exception("bulk_pass_failed")
            continue
        if report.batches:
            log.info("bulk_pass", batches=report.batches, lines=report.rows, failed_lines=report.failed_lines)


def _run_one(services: Services, job: _Job, report: BulkReport) -> int | None:
    claimed: int | None = None
    try:
        with tenant_transaction(services, tenant_id=job.tenant_id, actor=job.actor) as uow:
            claimed = _claim(uow.conn, job)
            if claimed is None:
                return None
            done = bulk_exits.run_batch(uow, job.job_id, claimed)
    except Exception as exc:
        if claimed is None:
            raise
        log.warning("bulk_batch_split", tenant_id=job.tenant_id, job_id=job.job_id, batch=claimed, error=str(exc)[:200])
        with services.db.read() as conn:
            members = bulk_exits.ready_members(conn, job.tenant_id, job.job_id, claimed)
        done = _split(services, job, claimed, members, report)
    report.batches += 1
    report.rows += done
    return done


def _split(services: Services, job: _Job, batch_no: int, members: Sequence[int], report: BulkReport) -> int:
    """Do the batch's `members` in two halves, each on its own; a single line that still fails is failed."""
    try:
        with tenant_transaction(services, tenant_id=job.tenant_id, actor=job.actor) as uow:
            if _claim(uow.conn, job, batch_no, wait=True) is None:
                return 0  # another worker finished the batch meanwhile
            return bulk_exits.run_batch(uow, job.job_id, batch_no, only=members)
    except Exception as exc:
        if len(members) > 1:
            half = len(members) // 2
            return _split(services, job, batch_no, members[:half], report) + _split(services, job, batch_no, members[half:], report)
        code = exc.code if isinstance(exc, OffboardError) else "internal_error"
        if not isinstance(exc, OffboardError):
            log.error("bulk_line_failed", tenant_id=job.tenant_id, job_id=job.job_id, member_id=members[0], exc_info=exc)
        with tenant_transaction(services, tenant_id=job.tenant_id, actor=job.actor) as uow:
            bulk_exits.fail_row(uow, job.job_id, batch_no, members[0], code, exc.render("en") if isinstance(exc, OffboardError) else type(exc).__name__)
            bulk_exits.run_batch(uow, job.job_id, batch_no, only=[])
        report.failed_lines += 1
        return 0
