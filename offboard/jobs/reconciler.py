"""Due work (R-EXIT-8, SPEC §10) as a registry of kinds: scheduled exits taking effect, 24 h
customer takeovers, finalization once the restore window is over and HR and IT have signed;
old super admins' emergency windows closed when they run out (R-ADM-2); erasure steps run once
their retention or hold ends (R-LAW-2, INV-6); and the audit trees signed (SPEC §8).

Every kind is found from the rows themselves, "due at or before now and not done", so a worker
that was down catches up. Each item runs in its own transaction, which first claims it: the
member and exit rows are locked with SKIP LOCKED on PostgreSQL (another worker holding them
means this one passes over the item) and the item is checked to be still due (a worker that
finished it a moment ago leaves nothing to do). So any number of workers share the work, each
item is done once, and one failing item is reported and retried next pass without stopping
the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

import structlog
from sqlalchemy import ColumnElement, Connection, Exists, Row, ScalarSelect, exists, func, or_, select

from offboard.actions.audit_checkpoints import HOURLY, PRIVILEGED, checkpoint
from offboard.actions.checklist import finalize, finalize_many
from offboard.actions.erasure import run_due
from offboard.actions.context import Services, UnitOfWork, tenant_transaction
from offboard.actions.exits import take_effect
from offboard.actions.handover import close_lapsed_windows
from offboard.actions.takeovers import TAKEOVER, take_over_exit, take_over_many
from offboard.domain.checklist import SIGNING_ROLES
from offboard.domain.data_lifecycle import StepState, Waiting
from offboard.domain.errors import OffboardError
from offboard.domain.handover import HandoverState
from offboard.domain.vocabulary import ExitState, LedgerState
from offboard.store.locks import try_lock_exit, try_lock_exits, try_lock_member
from offboard.store.tables import admin_handovers, audit_checkpoints, audit_events, erasure_requests, erasure_steps, exit_signoffs, exits, tenants, transfer_ledger

log = structlog.get_logger("offboard.reconciler")
CHUNK = 500  # items of a set-based kind per transaction
L = transfer_ledger


@dataclass(frozen=True)
class DueKind:
    name: str  # the report's field
    due: Callable[[datetime], list[ColumnElement[bool]]]  # where-clauses on exits: due at or before now and not done
    run: Callable[[UnitOfWork, int], int]  # does one item; returns what it counts in the report
    # Does many items of one tenant in one transaction, set-based (a layoff finalizes thousands
    # at once); returns what it counts in the report and the items it had to leave, with the reason.
    run_many: Callable[[UnitOfWork, list[int]], tuple[int, dict[int, OffboardError]]] | None = None


def _signed() -> ScalarSelect[int]:
    return select(func.count()).where(exit_signoffs.c.tenant_id == exits.c.tenant_id, exit_signoffs.c.exit_id == exits.c.id).scalar_subquery()


def _waiting_due(now: datetime) -> Exists:
    return exists().where(L.c.tenant_id == exits.c.tenant_id, L.c.exit_id == exits.c.id, L.c.state == LedgerState.WAITING, L.c.created_at <= now - TAKEOVER)


def _take_effect(uow: UnitOfWork, exit_id: int) -> int:
    take_effect(uow, exit_id)
    return 1


def _finalize(uow: UnitOfWork, exit_id: int) -> int:
    finalize(uow, exit_id)
    return 1


def _finalize_many(uow: UnitOfWork, exit_ids: list[int]) -> tuple[int, dict[int, OffboardError]]:
    refused = finalize_many(uow, exit_ids)
    return len(exit_ids) - len(refused), refused


KINDS: tuple[DueKind, ...] = (
    DueKind("took_effect", lambda now: [exits.c.state == ExitState.SCHEDULED, exits.c.effective_at <= now], _take_effect),
    DueKind("taken_over", lambda now: [exits.c.state.in_([ExitState.OPEN, ExitState.FINALIZED]), _waiting_due(now)], take_over_exit, take_over_many),
    DueKind("finalized", lambda now: [exits.c.state == ExitState.OPEN, exits.c.restore_until <= now, _signed() >= len(SIGNING_ROLES)], _finalize, _finalize_many),
)


class FailedItem(TypedDict):
    tenant_id: int
    kind: str
    exit_id: int | None  # None for a tenant's emergency windows, which belong to no exit
    error: str
    message: str


class ReconcileCounts(TypedDict):
    took_effect: int
    taken_over: int
    finalized: int
    windows_closed: int
    erasure_steps: int
    checkpoints: int
    skipped: int
    failed: list[FailedItem]


@dataclass
class ReconcileReport:
    took_effect: int = 0
    taken_over: int = 0
    finalized: int = 0
    windows_closed: int = 0  # old super admins' emergency windows that ran out (R-ADM-2)
    erasure_steps: int = 0  # erasure steps whose retention or hold ended (R-LAW-2)
    checkpoints: int = 0  # audit trees signed (SPEC §8): hourly, and after a privileged event
    skipped: int = 0  # claimed by another worker, or done by one a moment ago
    failed: list[FailedItem] = field(default_factory=list)

    def as_dict(self) -> ReconcileCounts:
        return {
            "took_effect": self.took_effect,
            "taken_over": self.taken_over,
            "finalized": self.finalized,
            "windows_closed": self.windows_closed,
            "erasure_steps": self.erasure_steps,
            "checkpoints": self.checkpoints,
            "skipped": self.skipped,
            "failed": self.failed,
        }


def _find(conn: Connection, kind: DueKind, now: datetime, limit: int) -> Sequence[Row[int, int, int]]:
    return conn.execute(select(exits.c.tenant_id, exits.c.id, exits.c.member_id).where(*kind.due(now)).order_by(exits.c.effective_at, exits.c.id).limit(limit)).all()


def reconcile(services: Services, *, limit: int = 1000, sign: bool = True) -> ReconcileReport:
    """One pass over every kind of due work, each item on its own; `sign=False` leaves the audit
    trees unsigned this pass (the layoff benchmark times finalization against a floor that
    signs nothing)."""
    report = ReconcileReport()
    now = services.clock.now()
    for kind in KINDS:
        with services.db.read() as conn:
            items = _find(conn, kind, now, limit)
        if kind.run_many is not None:
            _run_chunks(services, kind, items, report)
            continue
        for tenant_id, exit_id, member_id in items:
            _run_one(services, kind, tenant_id, exit_id, member_id, report)
    _close_windows(services, now, report)
    _run_erasures(services, now, limit, report)
    if sign:
        _sign_trees(services, now, report)
    return report


def _sign_trees(services: Services, now: datetime, report: ReconcileReport) -> None:
    """A checkpoint of every tenant's audit tree that has grown since its last one, when that
    one is an hour old or a privileged event came since (SPEC §8); a tenant per transaction."""
    C, E = audit_checkpoints, audit_events
    signed_size = select(func.coalesce(func.max(C.c.size), 0)).where(C.c.tenant_id == tenants.c.id).scalar_subquery()
    signed_at = select(func.max(C.c.signed_at)).where(C.c.tenant_id == tenants.c.id).scalar_subquery()
    privileged = exists().where(E.c.tenant_id == tenants.c.id, E.c.seq > signed_size, E.c.action.in_(PRIVILEGED))
    due = select(tenants.c.id, privileged.label("privileged")).where(tenants.c.audit_seq > signed_size, or_(signed_at.is_(None), signed_at <= now - HOURLY, privileged))
    with services.db.read() as conn:
        found = conn.execute(due).all()
    for tenant_id, after_privileged in found:
        try:
            with tenant_transaction(services, tenant_id=tenant_id) as uow:
                signed = checkpoint(uow, services.vault, "privileged" if after_privileged else "hourly")
        except OffboardError as exc:  # retried on the next pass; the other tenants go on
            report.failed.append({"tenant_id": tenant_id, "kind": "checkpoints", "exit_id": None, "error": exc.code, "message": exc.render("en")})
            continue
        except Exception as exc:
            log.error("checkpoint_failed", tenant_id=tenant_id, exc_info=exc)
            report.failed.append({"tenant_id": tenant_id, "kind": "checkpoints", "exit_id": None, "error": "internal_error", "message": str(exc)[:200]})
            continue
        if signed is None:
            report.skipped += 1  # another worker is signing it
        else:
            report.checkpoints += 1


def _close_windows(services: Services, now: datetime, report: ReconcileReport) -> None:
    """Emergency windows past their end, a tenant per transaction (R-ADM-2)."""
    H = admin_handovers
    with services.db.read() as conn:
        tenant_ids = conn.execute(select(H.c.tenant_id).where(H.c.state == HandoverState.COMPLETED, H.c.window_until <= now, H.c.window_closed_at.is_(None)).distinct()).scalars().all()
    for tenant_id in tenant_ids:
        try:
            with tenant_transaction(services, tenant_id=tenant_id) as uow:
                report.windows_closed += close_lapsed_windows(uow)
        except OffboardError as exc:  # retried on the next pass; the other tenants go on
            report.failed.append({"tenant_id": tenant_id, "kind": "windows_closed", "exit_id": None, "error": exc.code, "message": exc.render("en")})
        except Exception as exc:
            log.error("window_close_failed", tenant_id=tenant_id, exc_info=exc)
            report.failed.append({"tenant_id": tenant_id, "kind": "windows_closed", "exit_id": None, "error": "internal_error", "message": str(exc)[:200]})


def _run_erasures(services: Services, now: datetime, limit: int, report: ReconcileReport) -> None:
    """Open erasure requests with a step due, or held back by what may have changed since (a
    hold, the exit's finalization): each request in its own transaction, its member locked."""
    R, S = erasure_requests, erasure_steps
    waiting = or_(S.c.due_at <= now, S.c.waiting_for.in_([Waiting.HOLD, Waiting.FINALIZATION]))
    due = exists().where(S.c.tenant_id == R.c.tenant_id, S.c.request_id == R.c.id, S.c.state == StepState.PENDING, waiting)
    with services.db.read() as conn:
        found = conn.execute(select(R.c.tenant_id, R.c.id, R.c.member_id).where(R.c.state == "open", due).order_by(R.c.tenant_id, R.c.id).limit(limit)).all()
    for tenant_id, request_id, member_id in found:
        try:
            with tenant_transaction(services, tenant_id=tenant_id) as uow:
                claimed = try_lock_member(uow.conn, tenant_id, member_id)
                done = run_due(uow, request_id) if claimed else {}
        except OffboardError as exc:  # retried on the next pass; the other requests go on
            report.failed.append({"tenant_id": tenant_id, "kind": "erasure_steps", "exit_id": None, "error": exc.code, "message": exc.render("en")})
            continue
        except Exception as exc:
            log.error("erasure_failed", tenant_id=tenant_id, request_id=request_id, exc_info=exc)
            report.failed.append({"tenant_id": tenant_id, "kind": "erasure_steps", "exit_id": None, "error": "internal_error", "message": str(exc)[:200]})
            continue
        if not claimed:
            report.skipped += 1
        report.erasure_steps += len(done)


def _run_chunks(services: Services, kind: DueKind, items: Sequence[Row[int, int, int]], report: ReconcileReport) -> None:
    """The items a tenant at a time, CHUNK per transaction; a chunk that fails as a whole is
    done item by item, so one bad item is reported on its own."""
    by_tenant: dict[int, list[tuple[int, int]]] = {}
    for tenant_id, exit_id, member_id in items:
        by_tenant.setdefault(tenant_id, []).append((exit_id, member_id))
    assert kind.run_many is not None
    for tenant_id, pairs in by_tenant.items():
        for start in range(0, len(pairs), CHUNK):
            chunk = pairs[start : start + CHUNK]
            try:
                with tenant_transaction(services, tenant_id=tenant_id) as uow:
                    claimed = try_lock_exits(uow.conn, tenant_id, [e for e, _ in chunk], [m for _, m in chunk], *kind.due(uow.now))
                    counted, refused = kind.run_many(uow, claimed) if claimed else (0, {})
            except Exception:  # a chunk that fails as a whole: each item on its own
                for exit_id, member_id in chunk:
                    _run_one(services, kind, tenant_id, exit_id, member_id, report)
                continue
            report.skipped += len(chunk) - len(claimed)
            setattr(report, kind.name, getattr(report, kind.name) + counted)
            for exit_id, exc in refused.items():
                report.failed.append({"tenant_id": tenant_id, "kind": kind.name, "exit_id": exit_id, "error": exc.code, "message": exc.render("en")})


def _run_one(services: Services, kind: DueKind, tenant_id: int, exit_id: int, member_id: int, report: ReconcileReport) -> None:
    try:
        with tenant_transaction(services, tenant_id=tenant_id) as uow:
            claimed = try_lock_member(uow.conn, tenant_id, member_id) and try_lock_exit(uow.conn, tenant_id, exit_id, *kind.due(uow.now))
            counted = kind.run(uow, exit_id) if claimed else 0
    except OffboardError as exc:  # recorded and retried on the next pass; the others go on
        report.failed.append({"tenant_id": tenant_id, "kind": kind.name, "exit_id": exit_id, "error": exc.code, "message": exc.render("en")})
        return
    except Exception as exc:  # a bug in one item must not stop the pass either; logged once
        log.error("due_work_failed", kind=kind.name, tenant_id=tenant_id, exit_id=exit_id, exc_info=exc)
        report.failed.append({"tenant_id": tenant_id, "kind": kind.name, "exit_id": exit_id, "error": "internal_error", "message": str(exc)[:200]})
        return
    if not claimed:
        report.skipped += 1
    else:
        setattr(report, kind.name, getattr(report, kind.name) + counted)
