"""Exit requests (离职申请) for a reader: the member sees their own, an approver what its steps
name them on (and what waits for them), HR and super admins every request (SPEC §6
`approval_flow`; offboard.domain.exit_requests.sees_all). The tenant's flow as configured."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, ColumnElement, Select, and_, exists, false, func, or_, select

from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, require, require_scope
from offboard.domain.errors import Forbidden, NotFound, ValidationError, error
from offboard.domain.exit_requests import DEFAULT_FLOW, may_decide, sees_all
from offboard.domain.lifecycle import leave_moment
from offboard.domain.vocabulary import ApprovalState, ExitRequestState, Role
from offboard.store import exit_requests as store
from offboard.store.rows import AnyRow
from offboard.store.tables import exit_request_steps, exit_requests, exits, members

R, S = exit_requests, exit_request_steps


@dataclass(frozen=True)
class StepView:
    position: int
    kind: str  # offboard.domain.vocabulary.ApproverKind
    approver_id: int | None  # None: HR's step (any HR member decides)
    approver_name: str | None
    approver_userid: str | None
    state: str  # ApprovalState
    note: str | None  # StepNote: why skipped, or that HR decides because every step was skipped
    moved_from_id: int | None  # the approver who left before deciding (R-POST-2)
    moved_from_name: str | None
    since: str | None  # when it began to wait
    decided_by_id: int | None  # who decided: the approver, an HR member or a super admin
    decided_by_name: str | None
    decided_at: str | None
    comment: str | None


@dataclass(frozen=True)
class ExitRequestItem:
    id: int
    member_id: int
    userid: str
    name: str
    state: str  # ExitRequestState
    leave_date: str  # YYYY-MM-DD, the day in the enterprise's time zone
    effective_at: str  # the end of that day there: when the exit takes effect once approved
    reason_category: str
    reason: str
    created_at: str
    closed_at: str | None
    exit_id: int | None  # the scheduled exit, once approved
    waiting: StepView | None  # the step the request waits at
    can_decide: bool  # the reader may approve or reject that step
    last_decision: StepView | None  # the step decided last (a rejection, with its comment)


@dataclass(frozen=True)
class ExitRequestView(ExitRequestItem):
    successor_id: int | None
    successor_name: str | None
    exit_state: str | None
    steps: list[StepView]
    can_withdraw: bool  # the reader filed it and it is still pending


@dataclass(frozen=True)
class ExitRequestPage:
    total: int
    limit: int
    offset: int
    items: list[ExitRequestItem]


@dataclass(frozen=True)
class FlowStepView:
    kind: str
    member_id: int | None
    userid: str | None
    name: str | None
    text: str  # as typed to configure it: manager, hr, member:amy


@dataclass(frozen=True)
class FlowView:
    configured: bool  # False: no flow was set, the default applies
    steps: list[FlowStepView]
    updated_by: str | None
    updated_at: str | None


def show_flow(conn: Connection, tenant_id: int, actor: Actor) -> FlowView:
    """The steps each new exit request goes through, as the policy is read (read_directory)."""
    require(actor, Action.READ_DIRECTORY)
    rows = store.read_flow(conn, tenant_id)
    if not rows:
        return FlowView(False, [FlowStepView(kind, None, None, None, kind) for kind in DEFAULT_FLOW], None, None)
    named = _members(conn, tenant_id, {r.member_id for r in rows if r.member_id is not None})
    steps = []
    for r in rows:
        who = named.get(r.member_id) if r.member_id is not None else None
        text = f"{r.kind}:{who.userid}" if who is not None else r.kind
        steps.append(FlowStepView(r.kind, r.member_id, who.userid if who else None, who.name if who else None, text))
    return FlowView(True, steps, rows[0].updated_by, rows[0].updated_at.isoformat())


def _members(conn: Connection, tenant_id: int, ids: Iterable[int]) -> dict[int, AnyRow]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {r.id: r for r in conn.execute(select(members.c.id, members.c.userid, members.c.name).where(members.c.tenant_id == tenant_id, members.c.id.in_(wanted)))}


def _member_of(ref: str | None) -> int | None:
    kind, _sep, raw = (ref or "").partition(":")
    return int(raw) if kind == "member" and raw.isdigit() else None


def _is_hr(actor: Actor) -> bool:
    return actor.kind == "member" and actor.has(Role.HR)


def _named_on(member_id: int) -> ColumnElement[bool]:
    """The request has a step naming this member: as its approver, or as who decided it."""
    return exists().where(S.c.tenant_id == R.c.tenant_id, S.c.request_id == R.c.id, or_(S.c.approver_id == member_id, S.c.decided_by == f"member:{member_id}"))


def _waiting_for(actor: Actor) -> ColumnElement[bool]:
    """The request waits at a step for this reader: one naming them, or HR's step for an HR member."""
    if actor.kind != "member" or actor.member_id is None:
        return false()
    hr = S.c.approver_id.is_(None) if _is_hr(actor) else false()
    at_step = exists().where(S.c.tenant_id == R.c.tenant_id, S.c.request_id == R.c.id, S.c.state == ApprovalState.WAITING, or_(S.c.approver_id == actor.member_id, hr))
    return and_(R.c.state == ExitRequestState.PENDING, R.c.member_id != actor.member_id, at_step)


def list_requests(
    conn: Connection,
    tenant: AnyRow,
    actor: Actor,
    *,
    state: str | None = None,
    waiting_for_me: bool = False,
    mine: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> ExitRequestPage:
    """Newest first. `waiting_for_me`: the requests waiting for the reader's decision; `mine`: the
    reader's own. Without either, all the reader may see (HR and super admins: every request,
    which a token reads with its read_directory scope)."""
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise error(ValidationError, "invalid_page", "limit must be 1-500 and offset 0 or more.")
    me = actor.member_id if actor.kind == "member" else None
    where: list[ColumnElement[bool]] = [R.c.tenant_id == tenant.id]
    if state is not None:
        where.append(R.c.state == v.choice(state, ExitRequestState, "state"))
    if mine:
        where.append(R.c.member_id == me if me is not None else false())
    if waiting_for_me:
        where.append(_waiting_for(actor))
    if not mine and not waiting_for_me:
        if sees_all(actor):
            require_scope(actor, Action.READ_DIRECTORY)
        else:
            where.append(or_(R.c.member_id == me, _named_on(me)) if me is not None else false())
    total = conn.execute(select(func.count()).select_from(R).where(*where)).scalar_one()
    rows = list(conn.execute(_joined(*where).order_by(R.c.created_at.desc(), R.c.id.desc()).limit(limit).offset(offset)))
    return ExitRequestPage(total, limit, offset, _items(conn, tenant, actor, rows))


def _last_decided(steps: list[AnyRow]) -> AnyRow | None:
    decided = [s for s in steps if s.decided_at is not None]
    return max(decided, key=lambda s: (s.decided_at, s.position)) if decided else None


def _items(conn: Connection, tenant: AnyRow, actor: Actor, rows: list[AnyRow]) -> list[ExitRequestItem]:
    by_request = store.steps(conn, tenant.id, [r.id for r in rows])
    shown = {r.id: [s for s in by_request[r.id] if s.position == r.step or s is _last_decided(by_request[r.id])] for r in rows}
    names = _step_names(conn, tenant.id, [s for steps in shown.values() for s in steps])
    return [ExitRequestItem(**_common(r, tenant, actor, by_request[r.id], names)) for r in rows]


def _common(r: AnyRow, tenant: AnyRow, actor: Actor, steps: list[AnyRow], names: dict[int, AnyRow]) -> dict[str, Any]:
    waiting = next((_step(s, names) for s in steps if s.position == r.step), None)
    last = _last_decided(steps)
    moment = leave_moment(r.leave_date.isoformat(), tenant.timezone)
    assert moment is not None
    return {
        "id": r.id,
        "member_id": r.member_id,
        "userid": r.userid,
        "name": r.name,
        "state": r.state,
        "leave_date": r.leave_date.isoformat(),
        "effective_at": moment.astimezone(UTC).isoformat(),  # stored times are read in UTC, as the exit's
        "reason_category": r.reason_category,
        "reason": r.reason,
        "created_at": r.created_at.isoformat(),
        "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        "exit_id": r.exit_id,
        "waiting": waiting,
        "can_decide": waiting is not None and r.state == ExitRequestState.PENDING and may_decide(actor, waiting.approver_id, r.member_id),
        "last_decision": _step(last, names) if last is not None else None,
    }


def _step_names(conn: Connection, tenant_id: int, steps: Iterable[AnyRow]) -> dict[int, AnyRow]:
    steps = list(steps)
    ids = {s.approver_id for s in steps} | {s.moved_from_id for s in steps} | {_member_of(s.decided_by) for s in steps}
    return _members(conn, tenant_id, {i for i in ids if i is not None})


def _step(s: AnyRow, names: dict[int, AnyRow]) -> StepView:
    approver = names.get(s.approver_id) if s.approver_id is not None else None
    moved = names.get(s.moved_from_id) if s.moved_from_id is not None else None
    decider_id = _member_of(s.decided_by)
    decider = names.get(decider_id) if decider_id is not None else None
    return StepView(
        position=s.position,
        kind=s.kind,
        approver_id=s.approver_id,
        approver_name=approver.name if approver else None,
        approver_userid=approver.userid if approver else None,
        state=s.state,
        note=s.note,
        moved_from_id=s.moved_from_id,
        moved_from_name=moved.name if moved else None,
        since=s.since.isoformat() if s.since else None,
        decided_by_id=decider_id,
        decided_by_name=decider.name if decider else None,
        decided_at=s.decided_at.isoformat() if s.decided_at else None,
        comment=s.comment,
    )


def _joined(*where: ColumnElement[bool]) -> Select[tuple[object, ...]]:
    """Requests with their requester's userid and name."""
    joined = R.join(members, and_(members.c.tenant_id == R.c.tenant_id, members.c.id == R.c.member_id))
    return select(R, members.c.userid, members.c.name).select_from(joined).where(*where)


def show_request(conn: Connection, tenant: AnyRow, actor: Actor, request_id: int) -> ExitRequestView:
    """One request with its steps: who decides (or decided) each, its state and comment."""
    row = conn.execute(_joined(R.c.tenant_id == tenant.id, R.c.id == request_id)).first()
    if row is None:
        raise error(NotFound, "exit_request_not_found", "No exit request {id} in this enterprise.", id=request_id)
    steps = store.steps(conn, tenant.id, [row.id])[row.id]
    me = actor.member_id if actor.kind == "member" else None
    own = me is not None and row.member_id == me
    named = me is not None and any(s.approver_id == me or s.decided_by == f"member:{me}" for s in steps)
    if not (own or named or sees_all(actor)):
        raise error(Forbidden, "exit_request_not_yours", "Only the member who filed an exit request, its approvers, HR and super admins may read it.")
    if not (own or named):
        require_scope(actor, Action.READ_DIRECTORY)
    names = _step_names(conn, tenant.id, steps)
    views = [_step(s, names) for s in steps]
    exit_state = conn.execute(select(exits.c.state).where(exits.c.tenant_id == tenant.id, exits.c.id == row.exit_id)).scalar() if row.exit_id else None
    successor = _members(conn, tenant.id, {row.successor_id}).get(row.successor_id) if row.successor_id else None
    common = _common(row, tenant, actor, steps, names)
    return ExitRequestView(
        **common,
        successor_id=row.successor_id,
        successor_name=successor.name if successor else None,
        exit_state=exit_state,
        steps=views,
        can_withdraw=own and row.state == ExitRequestState.PENDING,
    )


def waiting_for(conn: Connection, tenant: AnyRow, actor: Actor, *, limit: int = 50) -> list[ExitRequestItem]:
    """R-EXIT-9: what waits for the reader's decision, oldest first (the inbox)."""
    if actor.kind != "member" or actor.member_id is None:
        return []
    rows = list(conn.execute(_joined(R.c.tenant_id == tenant.id, _waiting_for(actor)).order_by(R.c.created_at, R.c.id).limit(limit)))
    return _items(conn, tenant, actor, rows)


def recent_of(conn: Connection, tenant: AnyRow, actor: Actor, since: datetime) -> list[ExitRequestItem]:
    """The reader's own requests still waiting, or decided since `since` (approved, rejected, or
    cancelled by another exit; a withdrawal is their own act): the inbox tells them."""
    if actor.kind != "member" or actor.member_id is None:
        return []
    told = [ExitRequestState.APPROVED.value, ExitRequestState.REJECTED.value, ExitRequestState.CANCELLED.value]
    recent = or_(R.c.state == ExitRequestState.PENDING, and_(R.c.state.in_(told), R.c.closed_at >= since))
    query = _joined(R.c.tenant_id == tenant.id, R.c.member_id == actor.member_id, recent)
    rows = list(conn.execute(query.order_by(R.c.created_at.desc(), R.c.id.desc()).limit(5)))
    return _items(conn, tenant, actor, rows)


def today(tenant: AnyRow, now: datetime) -> date:
    """The enterprise's calendar day now (a leave date is a day there, SPEC §3)."""
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(tenant.timezone)).date()
