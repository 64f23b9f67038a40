"""Exit requests approved through a flow (离职申请审批; issue 13 item 3, SPEC §6 `approval_flow`,
the feishu preset): a member files a request with a leave date and a reason, it goes through the
tenant's steps (by default their manager, then HR), each approving or rejecting with a comment,
and the last approval schedules the member's exit for the end of the leave date (R-EXIT-8).

The trigger is enabled where exits start from an approved request; elsewhere filing and
approving are refused with `exit_trigger_disabled`, naming the mode. Rejecting and withdrawing
stay possible in any mode, so requests filed before a super admin changed the mode can be
closed. Exits by hand stay available in every mode; the self-service exit is replaced by the
request in this mode (offboard.actions.exits.start_exit).

Who may do what (offboard.domain.exit_requests): the member files and withdraws their own
(Action.VOLUNTARY_EXIT on themself); a step is decided by its approver, HR's step by any HR
member, any step by a super admin, never by the requester (Action.DECIDE_EXIT_REQUESTS, which is
SENSITIVE: a console session gives its code again after five minutes, as for a removal). Every
change is audited; the last approval's exit names the request in its audit details.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, insert, update

from offboard.actions import exits as exit_actions
from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.domain import exit_requests as flow
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, Forbidden, Term, ValidationError, error
from offboard.domain.exit_requests import Approved, FlowStep, Requester
from offboard.domain.lifecycle import leave_moment, next_member_status
from offboard.domain.policy import ExitAutomation
from offboard.domain.vocabulary import OPEN_EXIT_STATES, ApprovalState, ApproverKind, ExitRequestState, ExitType, MemberStatus, ReasonCategory
from offboard.queries import exit_requests as queries
from offboard.queries.exit_requests import ExitRequestView, FlowView
from offboard.store import exit_requests as store
from offboard.store import ids, repo
from offboard.store.locks import lock_member
from offboard.store.rows import AnyRow
from offboard.store.tables import exit_request_steps, exit_requests, exits

R, S = exit_requests, exit_request_steps


def check_enabled(uow: UnitOfWork) -> None:
    """SPEC §6: exit requests start exits only where exits start from an approved request."""
    mode = uow.policy.exit_automation
    if mode != ExitAutomation.APPROVAL_FLOW:
        raise error(
            Conflict,
            "exit_trigger_disabled",
            "In this enterprise exits start {mode}, so an exit request may not be filed or approved; a super admin who wants it sets how exits start to an approved exit request.",
            mode=Term("exit_automation", mode.value),
        )


# --- the flow ----------------------------------------------------------------------------------


def set_flow(uow: UnitOfWork, tokens: Sequence[str]) -> FlowView:
    """The steps of the exit requests filed from now on (requests filed before keep theirs);
    audited with the old and the new steps. `member:USERID` names an active member."""
    uow.require(Action.MANAGE_ADMINS)
    conn, tid = uow.conn, uow.tenant_id
    steps = []
    for token in tokens:
        kind, userid = flow.parse_token(token)
        member_id = None
        if userid is not None:
            member = repo.member_ref(conn, tid, userid)
            if member.status != MemberStatus.ACTIVE:
                raise error(
                    ValidationError,
                    "approver_inactive",
                    "{userid} is {status} and cannot approve exit requests; name an active member.",
                    userid=member.userid,
                    status=Term("member_status", member.status),
                )
            member_id = member.id
        steps.append(FlowStep(kind, member_id))
    steps = flow.check_flow(steps)
    before = queries.show_flow(conn, tid, uow.actor)
    old, new = [s.text for s in before.steps], [_text(conn, tid, s) for s in steps]
    if not before.configured or old != new:
        store.write_flow(conn, tid, steps, uow.actor.audit_id, uow.now)
        uow.audit("exit_request.flow_changed", [f"tenant:{tid}"], {"before": old, "after": new, "default_before": not before.configured})
    return queries.show_flow(conn, tid, uow.actor)


def _text(conn: Connection, tenant_id: int, step: FlowStep) -> str:
    return f"{step.kind.value}:{repo.member_by_id(conn, tenant_id, step.member_id).userid}" if step.member_id is not None else step.kind.value


def _flow(uow: UnitOfWork) -> list[FlowStep]:
    rows = store.read_flow(uow.conn, uow.tenant_id)
    if not rows:
        return [FlowStep(ApproverKind(k)) for k in flow.DEFAULT_FLOW]
    return [FlowStep(ApproverKind(r.kind), r.member_id) for r in rows]


# --- filing and withdrawing --------------------------------------------------------------------


def parse_day(value: str | date) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise error(ValidationError, "invalid_date", "{value!r} is not a date (YYYY-MM-DD).", value=str(value)[:40]) from None


def file_request(
    uow: UnitOfWork,
    member_ref: str | int,
    *,
    leave_date: str | date,
    reason: str,
    reason_category: str = ReasonCategory.RESIGNATION.value,
    successor: str | int | None = None,
) -> ExitRequestView:
    """A member's exit request for themself (SPEC §3.2: the voluntary exit is the member's own),
    its steps resolved to approvers now. One pending request per member."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, member_ref)
    uow.require(Action.VOLUNTARY_EXIT, target_of(conn, tid, member))
    check_enabled(uow)
    day = flow.check_leave_date(parse_day(leave_date), queries.today(uow.tenant, uow.now))
    category = v.choice(reason_category, ReasonCategory, "reason category")
    text = v.clean(reason, "reason", multiline=True)
    if not text or len(text) > flow.MAX_REASON:
        raise error(ValidationError, "reason_required", "Give the reason for the exit (1-2000 characters).")
    successor_id = _successor(uow, member.id, successor)
    lock_member(conn, tid, member.id)  # with the partial unique index: one pending request per member
    member = repo.member_by_id(conn, tid, member.id)
    next_member_status(member.status, "exit")
    pending = store.pending_of(conn, tid, member.id)
    if pending is not None:
        raise error(Conflict, "exit_request_open", "{userid} already has an exit request waiting for approval (id {id}); withdraw it before filing another.", userid=member.userid, id=pending.id)
    existing = conn.execute(exits.select().where(exits.c.tenant_id == tid, exits.c.member_id == member.id, exits.c.state.in_([s.value for s in OPEN_EXIT_STATES]))).first()
    if existing is not None:
        raise error(Conflict, "exit_exists", "{userid} already has an exit ({state}, id {id}).", userid=member.userid, state=Term("exit_state", existing.state), id=existing.id)
    steps = flow.resolve(_flow(uow), _requester(uow, member))
    request_id = ids.next_id(conn, R, tid)
    waiting = next(i for i, s in enumerate(steps, 1) if s.state == ApprovalState.WAITING)
    conn.execute(
        insert(R).values(
            tenant_id=tid,
            id=request_id,
            member_id=member.id,
            state=ExitRequestState.PENDING,
            leave_date=day,
            reason_category=category,
            reason=text,
            successor_id=successor_id,
            step=waiting,
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    conn.execute(
        insert(S),
        [
            {
                "tenant_id": tid,
                "request_id": request_id,
                "position": i,
                "kind": s.kind.value,
                "approver_id": s.approver_id,
                "state": s.state.value,
                "note": s.note.value if s.note else None,
                "since": uow.now if s.state == ApprovalState.WAITING else None,
            }
            for i, s in enumerate(steps, 1)
        ],
    )
    approvers = sorted({f"member:{s.approver_id}" for s in steps if s.approver_id is not None and s.state != ApprovalState.SKIPPED})
    uow.audit(
        "exit_request.filed",
        [f"member:{member.id}", f"exit_request:{request_id}", *approvers],
        {
            "leave_date": day.isoformat(),
            "reason_category": category,
            "reason": text,
            "successor_id": successor_id,
            "steps": [{"kind": s.kind.value, "approver_id": s.approver_id, "state": s.state.value, **({"note": s.note.value} if s.note else {})} for s in steps],
        },
    )
    return queries.show_request(conn, uow.tenant, uow.actor, request_id)


def _successor(uow: UnitOfWork, member_id: int, ref: str | int | None) -> int | None:
    if ref in (None, ""):
        return None
    assert ref is not None
    successor = repo.member_ref(uow.conn, uow.tenant_id, ref)
    if successor.id == member_id or successor.status != MemberStatus.ACTIVE:
        raise error(ValidationError, "successor_invalid", "{userid} cannot be the successor: name an active member other than the one leaving.", userid=successor.userid)
    return int(successor.id)


def _requester(uow: UnitOfWork, member: AnyRow) -> Requester:
    conn, tid = uow.conn, uow.tenant_id
    leader_id = store.primary_leader(conn, tid, member.id)
    named = {s.member_id for s in _flow(uow) if s.member_id is not None}
    found = store.people(conn, tid, named | {i for i in (member.manager_id, leader_id) if i is not None})
    return Requester(
        member.id,
        found.get(member.manager_id) if member.manager_id is not None else None,
        found.get(leader_id) if leader_id is not None else None,
        {i: found[i] for i in named if i in found},
    )


def _locked(uow: UnitOfWork, request_id: int) -> AnyRow:
    """The request, held to the end of the transaction: its member's row locked first, then the
    request's, the order an exit taking effect locks them in (it cancels the member's pending
    request), so the two never wait on each other."""
    row = store.request(uow.conn, uow.tenant_id, request_id)
    lock_member(uow.conn, uow.tenant_id, row.member_id)
    return store.request(uow.conn, uow.tenant_id, request_id, lock=True)


def withdraw(uow: UnitOfWork, request_id: int) -> ExitRequestView:
    """The member takes their pending request back; nothing of it is decided any more."""
    conn, tid = uow.conn, uow.tenant_id
    row = _locked(uow, request_id)
    uow.require(Action.VOLUNTARY_EXIT, target_of(conn, tid, repo.member_by_id(conn, tid, row.member_id)))
    flow.check_pending(row.state, "withdraw")
    _close(uow, row.id, ExitRequestState.WITHDRAWN)
    uow.audit("exit_request.withdrawn", [f"member:{row.member_id}", f"exit_request:{row.id}"], {"position": row.step})
    return queries.show_request(conn, uow.tenant, uow.actor, request_id)


def _close(uow: UnitOfWork, request_id: int, state: ExitRequestState) -> None:
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    conn.execute(update(R).where(R.c.tenant_id == tid, R.c.id == request_id).values(state=state, step=None, closed_at=now, updated_at=now, version=R.c.version + 1))
    store.close_open_steps(conn, tid, [request_id])


# --- deciding ----------------------------------------------------------------------------------


def _waiting_step(uow: UnitOfWork, request_id: int, seen: int | None) -> tuple[AnyRow, AnyRow, AnyRow]:
    """The request, locked, and its waiting step, once this actor may decide it. `seen`: the step
    the person looked at (a form's); another approver who decided meanwhile moved it on, and the
    decision is not carried over to the next step."""
    conn, tid = uow.conn, uow.tenant_id
    row = _locked(uow, request_id)
    requester = repo.member_by_id(conn, tid, row.member_id)
    uow.require(Action.DECIDE_EXIT_REQUESTS, target_of(conn, tid, requester))
    flow.check_pending(row.state, "decide")
    if seen is not None and seen != row.step:
        raise error(Conflict, "exit_request_moved_on", "This exit request moved on since you opened it (it is at step {step} now); look at it again before deciding.", step=row.step)
    step = next(s for s in store.steps(conn, tid, [row.id])[row.id] if s.position == row.step)
    if not flow.may_decide(uow.actor, step.approver_id, row.member_id):
        if uow.actor.member_id == row.member_id:
            raise error(Forbidden, "own_exit_request", "Nobody decides their own exit request; it waits for its approver.")
        if step.approver_id is None:
            raise error(Forbidden, "not_your_step", "This exit request waits for HR's approval; an HR member or a super admin decides it.")
        raise error(Forbidden, "not_your_step", "This exit request waits for {name}'s approval; only they or a super admin decide it.", name=repo.member_by_id(conn, tid, step.approver_id).name)
    return row, step, requester


def _decided(uow: UnitOfWork, request_id: int, position: int, state: ApprovalState, comment: str | None) -> None:
    uow.conn.execute(
        update(S).where(S.c.tenant_id == uow.tenant_id, S.c.request_id == request_id, S.c.position == position).values(state=state, decided_by=uow.actor.audit_id, decided_at=uow.now, comment=comment)
    )


def approve(uow: UnitOfWork, request_id: int, *, comment: str | None = None, step: int | None = None) -> ExitRequestView:
    """Approve the waiting step: the request goes to its next step, or, at the last, the member's
    exit is scheduled for the end of the leave date (trigger approval, R-EXIT-8). An exit that
    cannot be scheduled (a blocker of its plan, R-EXIT-5) refuses the approval, and the request
    stays at its step: the whole transaction rolls back."""
    row, waiting, requester = _waiting_step(uow, request_id, step)
    check_enabled(uow)
    text = flow.check_comment(v.clean(comment, "comment", multiline=True), required=False)
    conn, tid = uow.conn, uow.tenant_id
    _decided(uow, row.id, waiting.position, ApprovalState.APPROVED, text)
    later = [s for s in store.steps(conn, tid, [row.id])[row.id] if s.position > waiting.position and s.state == ApprovalState.UPCOMING]
    targets = [f"member:{row.member_id}", f"exit_request:{row.id}"]
    if later:
        nxt = later[0]
        conn.execute(update(S).where(S.c.tenant_id == tid, S.c.request_id == row.id, S.c.position == nxt.position).values(state=ApprovalState.WAITING, since=uow.now))
        conn.execute(update(R).where(R.c.tenant_id == tid, R.c.id == row.id).values(step=nxt.position, updated_at=uow.now, version=R.c.version + 1))
        uow.audit("exit_request.step_approved", targets, {"position": waiting.position, "next": nxt.position, **({"comment": text} if text else {})})
        return queries.show_request(conn, uow.tenant, uow.actor, request_id)
    when = leave_moment(row.leave_date.isoformat(), uow.tenant.timezone)
    assert when is not None
    started = exit_actions.start_exit(
        uow,
        requester.id,
        type=ExitType.VOLUNTARY.value,
        reason_category=row.reason_category,
        reason=row.reason,
        successor=row.successor_id,
        effective_at=when,
        keep_scheduled=True,  # a leave date passed while the request waited fires on the next sweep
        approved=Approved(row.id, requester.id),
    )
    conn.execute(
        update(R).where(R.c.tenant_id == tid, R.c.id == row.id).values(state=ExitRequestState.APPROVED, step=None, exit_id=started.id, closed_at=uow.now, updated_at=uow.now, version=R.c.version + 1)
    )
    uow.audit("exit_request.approved", [*targets, f"exit:{started.id}"], {"position": waiting.position, "exit_id": started.id, "effective_at": when.isoformat(), **({"comment": text} if text else {})})
    return queries.show_request(conn, uow.tenant, uow.actor, request_id)


def reject(uow: UnitOfWork, request_id: int, *, comment: str, step: int | None = None) -> ExitRequestView:
    """Reject the waiting step, saying why: the request ends, the member reads the comment in their
    inbox. Possible in any automation mode (a request filed before the mode changed can end)."""
    row, waiting, _requester = _waiting_step(uow, request_id, step)
    text = flow.check_comment(v.clean(comment, "comment", multiline=True), required=True)
    _decided(uow, row.id, waiting.position, ApprovalState.REJECTED, text)
    _close(uow, row.id, ExitRequestState.REJECTED)
    uow.audit("exit_request.rejected", [f"member:{row.member_id}", f"exit_request:{row.id}"], {"position": waiting.position, "comment": text})
    return queries.show_request(uow.conn, uow.tenant, uow.actor, request_id)
