"""Bulk actions on an exit's ledger: record one outcome for many waiting transfers, hand many
waiting transfers to another acceptor, or give many unassigned resources to one acceptor.

Set-based (SPEC §10): one step for the whole action, then per resource kind a statement per
outcome and one audit event vouching for the rows (SPEC §8). The person confirmed a count: when
the ledger no longer matches it (someone else acted meanwhile), nothing changes and they are told.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Any

from sqlalchemy import Connection, Select, and_, func, select, update

from offboard.actions.context import UnitOfWork
from offboard.actions.inheritance import active_acceptor, acceptor_of, inherit_kind, open_exit_for_inheritance
from offboard.domain.errors import Conflict, Term, Terms, error
from offboard.domain.ledger_bulk import APPLIES, BulkAction, Selection, result_of
from offboard.domain.vocabulary import LedgerState, ResourceKind, StepKind
from offboard.queries.exits import ExitSummary, exit_summary
from offboard.store import steps
from offboard.store.rows import AnyRow
from offboard.store.tables import transfer_ledger
from offboard.store.transfers import apply_moves, chosen_rows

L = transfer_ledger


@dataclass(frozen=True)
class BulkDone:
    exit_id: int
    action: str  # result | reassign | inherit
    count: int  # ledger rows acted on
    by_kind: dict[str, int]
    state: str | None  # the outcome recorded (result)
    to: str | None  # the acceptor's userid (reassign, inherit)
    unassigned: int  # recorded as done, but the acceptor had left meanwhile: unassigned instead (R-ORG-4)
    exit: ExitSummary


def counts_by_kind(conn: Connection, selection_query: Select[Any]) -> dict[str, int]:
    sub = selection_query.subquery()
    return {kind: n for kind, n in conn.execute(select(sub.c.kind, func.count()).group_by(sub.c.kind).order_by(sub.c.kind))}


def selected(tenant_id: int, exit_id: int, action: BulkAction, selection: Selection, not_to: int | None = None) -> Select[Any]:
    return chosen_rows(
        tenant_id,
        exit_id,
        selection.states(action),
        kinds=(selection.kind,) if selection.kind else (),
        correlation_ids=None if selection.everything else selection.correlation_ids,
        not_to=not_to,
    )


def bulk(uow: UnitOfWork, exit_id: int, action: str, selection: Selection, *, expected: int | None = None, state: str | None = None, to: str | None = None) -> BulkDone:
    """Run one bulk action on the rows `selection` chooses that it applies to; `expected` is the
    count the person confirmed."""
    conn, tid = uow.conn, uow.tenant_id
    chosen_action = BulkAction(action)
    outcome = result_of(state) if chosen_action == BulkAction.RESULT else None
    _row, leaver = open_exit_for_inheritance(uow, exit_id)
    acceptor = acceptor_of(uow, leaver, to or "") if chosen_action != BulkAction.RESULT else None
    query = selected(tid, exit_id, chosen_action, selection, not_to=acceptor.id if chosen_action == BulkAction.REASSIGN and acceptor is not None else None)
    by_kind = counts_by_kind(conn, query)
    total = sum(by_kind.values())
    if total == 0:
        raise error(
            Conflict,
            "nothing_applies",
            "None of the chosen rows can be acted on this way: {action} applies to {states} rows.",
            action=Term("bulk_action", chosen_action),
            states=_states(chosen_action),
        )
    if expected is not None and expected != total:
        raise error(
            Conflict,
            "selection_changed",
            "The ledger changed since you confirmed: the action now applies to {now} rows, not {confirmed}. Check the rows and confirm again.",
            now=total,
            confirmed=expected,
        )
    if chosen_action == BulkAction.REASSIGN:
        assert acceptor is not None
        _reassign(uow, exit_id, leaver, acceptor, by_kind, query)
        return BulkDone(exit_id, chosen_action.value, total, by_kind, None, acceptor.userid, 0, exit_summary(conn, tid, exit_id))
    step_id = steps.begin(conn, tid, exit_id, StepKind.RESULT if outcome else StepKind.INHERIT, uow.actor.audit_id, uow.now)
    lost = 0
    for kind in (ResourceKind(k) for k in by_kind):
        rows = query.where(query.selected_columns.kind == kind.value)
        if outcome is not None:
            lost += _record(uow, step_id, exit_id, kind, rows, outcome)
        else:
            assert acceptor is not None
            inherit_kind(uow, step_id, exit_id, leaver, acceptor, kind, select(rows.subquery().c.resource_id))
    steps.close(conn, tid, step_id)
    return BulkDone(exit_id, chosen_action.value, total, by_kind, outcome.value if outcome else None, acceptor.userid if acceptor else None, lost, exit_summary(conn, tid, exit_id))


def _states(action: BulkAction) -> Terms:
    return Terms("ledger_state", tuple(s.value for s in APPLIES[action]))


def _record(uow: UnitOfWork, step_id: int, exit_id: int, kind: ResourceKind, rows: Select[Any], outcome: LedgerState) -> int:
    """One outcome for the waiting rows: done keeps the acceptor, unless they left meanwhile
    (R-ORG-4: then unassigned); refused and acceptor_full leave the resource unassigned."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    ids = select(rows.subquery().c.id)
    changed = {"updated_at": now, "version_after": L.c.version_after + 1, "changed_step_id": step_id}
    target = and_(L.c.tenant_id == tid, L.c.id.in_(ids))
    lost = 0
    if outcome == LedgerState.DONE:
        lost = conn.execute(update(L).where(target, ~active_acceptor()).values(state=LedgerState.UNASSIGNED.value, to_member_id=None, **changed)).rowcount
        done = conn.execute(update(L).where(target).values(state=outcome.value, **changed)).rowcount  # the rows left waiting
    else:
        done = conn.execute(update(L).where(target).values(state=outcome.value, to_member_id=None, **changed)).rowcount
    apply_moves(conn, tid, exit_id, kind, step_id, now, changed=True)
    uow.audit(
        "transfer.results",
        [f"exit:{exit_id}"],
        {"kind": kind.value, "state": outcome.value, "count": done + lost, "unassigned": lost, "step_id": step_id, "ledger_digest": steps.ledger_digest(conn, tid, step_id, kind)},
    )
    return lost


def _reassign(uow: UnitOfWork, exit_id: int, leaver: AnyRow, acceptor: AnyRow, by_kind: dict[str, int], query: Select[Any]) -> None:
    """Two steps, as any hand-over of an outcome then an inheritance: a result step withdraws
    the waiting transfers (their rows unassigned, the resources left without an owner), then an
    inherit step gives them to the new acceptor as new rows, waiting again where the policy makes
    customers accept (R-ORG-2)."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    withdraw = steps.begin(conn, tid, exit_id, StepKind.RESULT, uow.actor.audit_id, now)
    for kind in (ResourceKind(k) for k in by_kind):
        ids = select(query.where(query.selected_columns.kind == kind.value).subquery().c.id)
        n = conn.execute(
            update(L)
            .where(L.c.tenant_id == tid, L.c.id.in_(ids))
            .values(state=LedgerState.UNASSIGNED.value, to_member_id=None, updated_at=now, version_after=L.c.version_after + 1, changed_step_id=withdraw)
        ).rowcount
        apply_moves(conn, tid, exit_id, kind, withdraw, now, changed=True)
        uow.audit(
            "transfer.reassigned",
            [f"exit:{exit_id}", f"member:{leaver.id}", f"member:{acceptor.id}"],
            {"kind": kind.value, "count": n, "step_id": withdraw, "ledger_digest": steps.ledger_digest(conn, tid, withdraw, kind)},
        )
    steps.close(conn, tid, withdraw)
    give = steps.begin(conn, tid, exit_id, StepKind.INHERIT, uow.actor.audit_id, now)
    for kind in (ResourceKind(k) for k in by_kind):
        withdrawn = select(L.c.resource_id).where(L.c.tenant_id == tid, L.c.exit_id == exit_id, L.c.kind == kind.value, L.c.changed_step_id == withdraw)
        inherit_kind(uow, give, exit_id, leaver, acceptor, kind, withdrawn)
    steps.close(conn, tid, give)
