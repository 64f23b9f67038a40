"""R-ORG-2: the 24 h takeover of waiting customer transfers, for many exits at once (a layoff's
thousands come due together), set-based: a step per exit, then per kind one statement per
outcome over every exit's rows, the resources brought in line in one pass per kind, and the
audit event a single takeover writes per exit and kind with the digest of its rows (SPEC §8).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import and_, func, select, update

from offboard.actions.context import UnitOfWork
from offboard.actions.inheritance import active_acceptor
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import LedgerState, ResourceKind, StepKind
from offboard.store import bulk_moves, steps
from offboard.store.driver_rows import update_rows
from offboard.store.tables import exit_steps, transfer_ledger
from offboard.store.transfers import apply_moves

L = transfer_ledger
S = exit_steps
TAKEOVER = timedelta(hours=24)


def take_over_exit(uow: UnitOfWork, exit_id: int) -> int:
    """The takeover of one exit's due transfers; returns how many rows it took over."""
    return take_over_many(uow, [exit_id])[0]


def take_over_many(uow: UnitOfWork, exit_ids: Sequence[int]) -> tuple[int, dict[int, OffboardError]]:
    """The waiting transfers of these exits whose 24 h are over are taken over: the acceptor
    receives them, unless they left since (R-ORG-4: then unassigned, inherited later, R-ORG-5).
    Returns the rows taken over and the exits it had to leave (none: a takeover has no
    precondition beyond being due)."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    due = and_(L.c.tenant_id == tid, L.c.exit_id.in_(list(exit_ids)), L.c.state == LedgerState.WAITING, L.c.created_at <= now - TAKEOVER)
    kinds_of: dict[int, set[str]] = defaultdict(set)
    for exit_id, kind in conn.execute(select(L.c.exit_id, L.c.kind).where(due).group_by(L.c.exit_id, L.c.kind)):
        kinds_of[exit_id].add(kind)
    if not kinds_of:
        return 0, {}
    taking = sorted(kinds_of)
    step_ids = steps.begin_many(conn, tid, taking, StepKind.TAKEOVER, uow.actor.audit_id, now)
    # Each row is changed by its own exit's step, found by the exit among this takeover's steps.
    own_step = select(S.c.id).where(S.c.tenant_id == L.c.tenant_id, S.c.exit_id == L.c.exit_id, S.c.id.in_(step_ids)).scalar_subquery()
    changed = {"updated_at": now, "version_after": L.c.version_after + 1, "changed_step_id": own_step}
    in_steps = L.c.changed_step_id.in_(step_ids)
    for kind in sorted({k for kinds in kinds_of.values() for k in kinds}):
        of_kind = and_(due, L.c.kind == kind)
        conn.execute(update(L).where(of_kind, ~active_acceptor()).values(state=LedgerState.UNASSIGNED, to_member_id=None, **changed))
        conn.execute(update(L).where(of_kind).values(state=LedgerState.DONE, **changed))
        apply_moves(conn, tid, 0, ResourceKind(kind), 0, now, steps=in_steps, states=(LedgerState.DONE, LedgerState.UNASSIGNED))
    counts: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for step_id, kind, state, n in conn.execute(
        select(L.c.changed_step_id, L.c.kind, L.c.state, func.count()).where(L.c.tenant_id == tid, in_steps).group_by(L.c.changed_step_id, L.c.kind, L.c.state)
    ):
        counts[step_id][kind][state] = n
    digests = bulk_moves.digests(conn, tid, step_ids, changed=True)
    update_rows(conn, S, ("tenant_id", "id"), [{"tenant_id": tid, "id": s, "counts": {kind: sum(by_state.values()) for kind, by_state in sorted(counts[s].items())}} for s in step_ids])
    total = 0
    for exit_id, step_id in zip(taking, step_ids):
        for kind, by_state in sorted(counts[step_id].items()):
            n, lost = sum(by_state.values()), by_state.get(LedgerState.UNASSIGNED, 0)
            total += n - lost
            uow.audit(
                "transfer.taken_over",
                [f"exit:{exit_id}"],
                {"kind": kind, "count": n - lost, "unassigned": lost, "step_id": step_id, "ledger_digest": digests[step_id][kind][1]},
            )
    return total, {}
