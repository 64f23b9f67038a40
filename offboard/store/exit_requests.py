"""The rows of exit requests (离职申请审批): the tenant's flow, the requests and their steps, and the
set-based statements that follow exits (R-POST-2): an approver who leaves has their pending
steps moved, a requester who leaves another way has their pending request cancelled."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, case, delete, insert, literal, select, update

from offboard.domain.errors import NotFound, error
from offboard.domain.exit_requests import FlowStep, Person
from offboard.domain.vocabulary import ApprovalState, ApproverKind, ExitRequestState, MemberStatus
from offboard.store.id_lists import among_ids
from offboard.store.rows import AnyRow
from offboard.store.tables import departments, exit_request_flows, exit_request_steps, exit_requests, member_departments, members

F, R, S = exit_request_flows, exit_requests, exit_request_steps
OPEN_STEPS = (ApprovalState.WAITING.value, ApprovalState.UPCOMING.value)


def read_flow(conn: Connection, tenant_id: int) -> list[AnyRow]:
    return list(conn.execute(select(F).where(F.c.tenant_id == tenant_id).order_by(F.c.position)))


def write_flow(conn: Connection, tenant_id: int, steps: Sequence[FlowStep], by: str, now: datetime) -> None:
    conn.execute(delete(F).where(F.c.tenant_id == tenant_id))
    rows = [{"tenant_id": tenant_id, "position": i, "kind": s.kind.value, "member_id": s.member_id, "updated_by": by, "updated_at": now} for i, s in enumerate(steps, 1)]
    conn.execute(insert(F), rows)


def people(conn: Connection, tenant_id: int, member_ids: Collection[int]) -> dict[int, Person]:
    """Members by id, each with whether they are active (an approver must be)."""
    if not member_ids:
        return {}
    rows = conn.execute(select(members.c.id, members.c.status).where(members.c.tenant_id == tenant_id, members.c.id.in_(sorted(member_ids))))
    return {r.id: Person(r.id, r.status == MemberStatus.ACTIVE) for r in rows}


def primary_leader(conn: Connection, tenant_id: int, member_id: int) -> int | None:
    """The leader of the member's primary department (None: no department, or no leader)."""
    query = (
        select(departments.c.leader_id)
        .join(member_departments, and_(member_departments.c.tenant_id == departments.c.tenant_id, member_departments.c.department_id == departments.c.id))
        .where(member_departments.c.tenant_id == tenant_id, member_departments.c.member_id == member_id)
        .order_by(member_departments.c.is_primary.desc(), departments.c.path)
        .limit(1)
    )
    leader: int | None = conn.execute(query).scalar()
    return leader


def pending_of(conn: Connection, tenant_id: int, member_id: int) -> AnyRow | None:
    return conn.execute(select(R).where(R.c.tenant_id == tenant_id, R.c.member_id == member_id, R.c.state == ExitRequestState.PENDING)).first()


def request(conn: Connection, tenant_id: int, request_id: int, *, lock: bool = False) -> AnyRow:
    """The request; with `lock`, held to the end of the transaction (FOR NO KEY UPDATE on
    PostgreSQL: two approvers deciding the same step at once take turns)."""
    query = select(R).where(R.c.tenant_id == tenant_id, R.c.id == request_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    row = conn.execute(query).first()
    if row is None:
        raise error(NotFound, "exit_request_not_found", "No exit request {id} in this enterprise.", id=request_id)
    return row


def steps(conn: Connection, tenant_id: int, request_ids: Collection[int]) -> dict[int, list[AnyRow]]:
    """The steps of these requests, in order, by request."""
    found: dict[int, list[AnyRow]] = {i: [] for i in request_ids}
    if request_ids:
        for r in conn.execute(select(S).where(S.c.tenant_id == tenant_id, S.c.request_id.in_(sorted(request_ids))).order_by(S.c.request_id, S.c.position)):
            found[r.request_id].append(r)
    return found


def close_open_steps(conn: Connection, tenant_id: int, request_ids: Sequence[int]) -> None:
    """The steps nobody decided of requests that ended: closed."""
    if request_ids:
        conn.execute(update(S).where(S.c.tenant_id == tenant_id, among_ids(conn, S.c.request_id, request_ids), S.c.state.in_(OPEN_STEPS)).values(state=ApprovalState.CLOSED))


def cancel_pending_of(conn: Connection, tenant_id: int, member_ids: Sequence[int], now: datetime) -> list[AnyRow]:
    """The pending requests of members who left another way (a removal, a bulk exit): cancelled,
    their open steps closed. Returns (id, member_id) of each."""
    cancelled = list(
        conn.execute(
            update(R)
            .where(R.c.tenant_id == tenant_id, among_ids(conn, R.c.member_id, member_ids), R.c.state == ExitRequestState.PENDING)
            .values(state=ExitRequestState.CANCELLED, step=None, closed_at=now, updated_at=now, version=R.c.version + 1)
            .returning(R.c.id, R.c.member_id)
        )
    )
    close_open_steps(conn, tenant_id, [r.id for r in cancelled])
    return cancelled


@dataclass(frozen=True)
class Moved:
    request_id: int
    position: int
    from_id: int
    to_id: int | None  # None: the step became HR's
    state: str


def move_steps_of(conn: Connection, tenant_id: int, leaver_ids: Sequence[int]) -> list[Moved]:
    """R-POST-2: the waiting and upcoming steps of approvers who left, in one statement: each to
    its approver's manager when that manager is active and not the requester, else to HR. Run
    after the leavers' status is exited, so a manager leaving in the same batch is passed over."""
    approver, manager = members.alias("approver"), members.alias("manager")
    # Both subqueries read the row being updated: correlated to it by name, explicitly (a nested
    # subquery would otherwise bring exit_request_steps into its own FROM).
    requester = select(R.c.member_id).where(R.c.tenant_id == S.c.tenant_id, R.c.id == S.c.request_id).correlate(S).scalar_subquery()
    to = (
        select(manager.c.id)
        .select_from(approver.join(manager, and_(manager.c.tenant_id == approver.c.tenant_id, manager.c.id == approver.c.manager_id)))
        .where(approver.c.tenant_id == S.c.tenant_id, approver.c.id == S.c.approver_id, manager.c.status == MemberStatus.ACTIVE, manager.c.id != requester)
        .correlate(S)
        .scalar_subquery()
    )
    statement = (
        update(S)
        .where(S.c.tenant_id == tenant_id, among_ids(conn, S.c.approver_id, leaver_ids), S.c.state.in_(OPEN_STEPS))
        .values(approver_id=to, kind=case((to.is_(None), literal(ApproverKind.HR.value)), else_=S.c.kind), moved_from_id=S.c.approver_id)
        .returning(S.c.request_id, S.c.position, S.c.moved_from_id, S.c.approver_id, S.c.state)
    )
    moved = [Moved(r.request_id, r.position, r.moved_from_id, r.approver_id, r.state) for r in conn.execute(statement)]
    return sorted(moved, key=lambda m: (m.request_id, m.position))


def requesters(conn: Connection, tenant_id: int, request_ids: Collection[int]) -> dict[int, int]:
    if not request_ids:
        return {}
    return {r.id: r.member_id for r in conn.execute(select(R.c.id, R.c.member_id).where(R.c.tenant_id == tenant_id, R.c.id.in_(sorted(request_ids))))}
