"""Later inheritance of unassigned resources (R-ORG-5) and outcomes of asynchronous transfers
reported from outside (R-ORG-2): a customer's refusal, a platform's result, the 24 h takeover."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Exists, Select, and_, func, select, update

from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.domain.policy import CustomerTransfer
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, NotFound, Term, Terms, ValidationError, error
from offboard.domain.planning import CUSTOMER_KINDS
from offboard.domain.vocabulary import ExitState, LedgerState, MemberStatus, ResourceKind, StepKind
from offboard.store import repo, steps
from offboard.store.locks import lock_exit
from offboard.store.planning import people
from offboard.store.rows import AnyRow
from offboard.queries.exits import ExitSummary, exit_summary
from offboard.store.tables import external_contacts, members, transfer_ledger
from offboard.store.transfers import SPECS, apply_moves, latest_rows, record_moves

L = transfer_ledger
UNASSIGNED_STATES = (LedgerState.UNASSIGNED, LedgerState.REFUSED, LedgerState.ACCEPTOR_FULL)
REPORTABLE = {LedgerState.DONE, LedgerState.REFUSED, LedgerState.ACCEPTOR_FULL}


@dataclass(frozen=True)
class Inherited:
    exit_id: int
    kind: str
    to: str  # the acceptor's userid
    count: int
    exit: ExitSummary


@dataclass(frozen=True)
class TransferResult:
    correlation_id: str
    exit_id: int
    kind: str
    resource_id: int
    state: str
    replayed: bool  # the same outcome was reported before: nothing changed


def inherit(uow: UnitOfWork, exit_id: int, kind: str, to: str | int, *, resource_ids: list[int] | None = None) -> Inherited:
    """Assign the unassigned resources of one kind of an exit to an acceptor, in one batch.

    The exit row is locked first: a second inheritance of the same exit waits, then finds
    only what this one left unassigned (on SQLite the write transaction already serialises)."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    row, leaver = open_exit_for_inheritance(uow, exit_id)
    kind_enum = ResourceKind(v.choice(kind, ResourceKind, "kind"))
    acceptor = acceptor_of(uow, leaver, to)
    step_id = steps.begin(conn, tid, exit_id, StepKind.INHERIT, uow.actor.audit_id, now)
    unassigned = select(L.c.resource_id).where(latest_rows(tid, exit_id, kind_enum), L.c.state.in_([s.value for s in UNASSIGNED_STATES]))
    n = inherit_kind(uow, step_id, exit_id, leaver, acceptor, kind_enum, unassigned, only_ids=resource_ids)
    if resource_ids is not None and n != len(set(resource_ids)):
        raise error(Conflict, "not_unassigned", "Only unassigned {kind} resources of exit {id} can be inherited; some of the ids given are not.", kind=Term("resource_kind", kind_enum), id=exit_id)
    if n == 0:
        raise error(Conflict, "nothing_to_inherit", "Exit {id} has no unassigned {kind} resources.", id=exit_id, kind=Term("resource_kind", kind_enum))
    steps.close(conn, tid, step_id)
    return Inherited(exit_id, kind_enum.value, acceptor.userid, n, exit_summary(conn, tid, exit_id))


def open_exit_for_inheritance(uow: UnitOfWork, exit_id: int) -> tuple[AnyRow, AnyRow]:
    """The exit (locked) and its leaver, once the actor may hand the leaver's resources on and
    the exit has taken effect."""
    conn, tid = uow.conn, uow.tenant_id
    lock_exit(conn, tid, exit_id)
    row = repo.exit_by_id(conn, tid, exit_id)
    leaver = repo.member_by_id(conn, tid, row.member_id)
    uow.require(Action.INHERIT, target_of(conn, tid, leaver))
    if row.state not in (ExitState.OPEN, ExitState.FINALIZED):
        raise error(Conflict, "exit_not_open", "Exit {id} is {state}; only the resources of an exit that took effect are inherited.", id=exit_id, state=Term("exit_state", row.state))
    return row, leaver


def acceptor_of(uow: UnitOfWork, leaver: AnyRow, to: str | int) -> AnyRow:
    """The member named to receive: active, not leaving, not the leaver (R-ORG-4)."""
    acceptor = repo.member_ref(uow.conn, uow.tenant_id, to)
    person = people(uow.conn, uow.tenant_id, [acceptor.id])[acceptor.id]
    if person.member_id == leaver.id or person.status != MemberStatus.ACTIVE or person.leaving:
        raise error(Conflict, "acceptor_invalid", "The acceptor {userid} must be an active member who is not leaving.", userid=acceptor.userid)
    return acceptor


def inherit_kind(
    uow: UnitOfWork,
    step_id: int,
    exit_id: int,
    leaver: AnyRow,
    acceptor: AnyRow,
    kind: ResourceKind,
    resource_ids: Select[Any],
    *,
    only_ids: list[int] | None = None,
) -> int:
    """Write the step's ledger rows giving `acceptor` the resources of `kind` among
    `resource_ids` (a subquery) that nobody owns, move them, and audit it; returns how many."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    t = SPECS[kind].table
    owner_filter = and_(t.c.tenant_id == tid, t.c.id.in_(resource_ids), t.c[SPECS[kind].owner].is_(None))
    if kind == ResourceKind.DIRECT_REPORT:
        owner_filter = and_(owner_filter, t.c.id != acceptor.id)  # nobody becomes their own manager: no row, no move
    waiting = uow.policy.customer_transfer == CustomerTransfer.ASYNC_24H and kind in CUSTOMER_KINDS
    capacity = None
    if kind == ResourceKind.EXTERNAL_CONTACT:
        held = conn.execute(select(func.count()).where(external_contacts.c.tenant_id == tid, external_contacts.c.owner_id == acceptor.id)).scalar_one()
        capacity = max(0, uow.policy.customer_limit - held)
    state = LedgerState.WAITING if waiting else LedgerState.DONE
    n = record_moves(conn, tid, exit_id, kind, leaver.id, "member", acceptor.id, state, step_id, now, capacity=capacity, only_ids=only_ids, owner_filter=owner_filter)
    if n == 0:
        return 0
    apply_moves(conn, tid, exit_id, kind, step_id, now)
    uow.audit(
        "exit.inherited",
        [f"exit:{exit_id}", f"member:{leaver.id}", f"member:{acceptor.id}"],
        {"kind": kind.value, "count": n, "step_id": step_id, "ledger_digest": steps.ledger_digest(conn, tid, step_id, kind)},
    )
    uow.emit("resource.transferred", exit_id=exit_id, kind=kind.value, to_member_id=acceptor.id)
    return n


def record_result(uow: UnitOfWork, correlation_id: str, state: str) -> TransferResult:
    """Record the outcome of a waiting transfer by its correlation id (refused, acceptor_full or done)."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    outcome = LedgerState(v.choice(state, LedgerState, "state"))
    if outcome not in REPORTABLE:
        raise error(ValidationError, "invalid_result", "A transfer result is one of: {choices}.", choices=Terms("ledger_state", tuple(sorted(REPORTABLE))))
    row = conn.execute(select(L).where(L.c.tenant_id == tid, L.c.correlation_id == (correlation_id or "")[:36])).first()
    if row is None:
        raise error(NotFound, "transfer_not_found", "No transfer with correlation id {id} in this enterprise.", id=correlation_id)
    exit_row = repo.exit_by_id(conn, tid, row.exit_id)
    uow.require(Action.INHERIT, target_of(conn, tid, repo.member_by_id(conn, tid, exit_row.member_id)))
    if row.state != LedgerState.WAITING:
        if row.state == outcome:
            return _result(row, outcome, replayed=True)  # the platform told us twice: nothing more to do
        raise error(Conflict, "transfer_not_waiting", "Transfer {id} is {state}, no longer waiting for a result.", id=correlation_id, state=Term("ledger_state", row.state))
    kind = ResourceKind(row.kind)
    if outcome == LedgerState.DONE and not conn.execute(select(active_acceptor()).where(L.c.tenant_id == tid, L.c.id == row.id)).scalar():
        outcome = LedgerState.UNASSIGNED  # the acceptor left meanwhile (R-ORG-4): inherited later instead
    to_member = row.to_member_id if outcome == LedgerState.DONE else None
    step_id = steps.begin(conn, tid, row.exit_id, StepKind.RESULT, uow.actor.audit_id, now)
    conn.execute(
        update(L).where(L.c.tenant_id == tid, L.c.id == row.id).values(state=outcome.value, to_member_id=to_member, updated_at=now, version_after=_version_after(row, outcome), changed_step_id=step_id)
    )
    apply_moves(conn, tid, row.exit_id, kind, step_id, now, changed=True)
    steps.close(conn, tid, step_id)
    uow.audit(
        "transfer.result",
        [f"exit:{row.exit_id}", f"transfer:{row.correlation_id}"],
        {"kind": kind.value, "resource_id": row.resource_id, "state": outcome.value, "step_id": step_id, "ledger_digest": steps.ledger_digest(conn, tid, step_id, kind)},
    )
    return _result(row, outcome)


def _version_after(row: AnyRow, outcome: LedgerState) -> int:
    """Every outcome changes the resource once more (owner, or restriction lifted)."""
    version: int = row.version_after + 1
    return version


def _result(row: AnyRow, outcome: LedgerState, replayed: bool = False) -> TransferResult:
    return TransferResult(row.correlation_id, row.exit_id, row.kind, row.resource_id, outcome.value, replayed)


def active_acceptor() -> Exists:
    """The ledger row's acceptor is still an active member."""
    return select(members.c.id).where(members.c.tenant_id == L.c.tenant_id, members.c.id == L.c.to_member_id, members.c.status == MemberStatus.ACTIVE).exists()
