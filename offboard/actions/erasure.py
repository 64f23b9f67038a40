"""Erasure requests (R-LAW-1, R-LAW-2, INV-6): a member, or someone allowed to on their behalf
who says how they verified the member's identity, asks for the member's personal data to be
erased by the tenant's data-clearing mode. The answer is a schedule (offboard.domain.
data_lifecycle): what is erased now, in the same transaction, and what later and why. Later
steps run from the reconciler's sweep once due (`run_due`); a step whose records are under
retention or a hold never runs early.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.data_lifecycle import Step, StepState, erases_account, schedule, scope_of
from offboard.domain.errors import Conflict, NotFound, ValidationError, error
from offboard.domain.lifecycle import next_member_status
from offboard.domain.vocabulary import MemberStatus
from offboard.store import erasure as store
from offboard.store import repo
from offboard.store.ids import next_id
from offboard.store.rows import AnyRow
from offboard.store.tables import erasure_requests, erasure_steps, members

R, S = erasure_requests, erasure_steps


def request_erasure(uow: UnitOfWork, ref: int | str, *, reason: str, modules: Sequence[str] | None = None, level: str | None = None, verified: str | None = None) -> int:
    """File a request; returns its id. The steps due now run before it returns."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, ref)
    uow.require(Action.DATA_REQUESTS, target_of(conn, tid, member))
    if member.status == MemberStatus.ERASED:
        raise error(Conflict, "member_erased", "This member's personal data is already erased.")
    reason = v.text(reason, "reason", max_length=500)
    own = uow.actor.member_id == member.id
    if not own and not (verified or "").strip():
        raise error(ValidationError, "verification_required", "Say how you verified that the request comes from {name} (for example: a signed form checked against their ID).", name=member.name)
    checked = v.text(verified, "verified", max_length=500) if not own and verified else None
    scope = scope_of(uow.policy.data_clearing, modules, level)
    asked = _asked(uow, member.id)
    steps = [s for s in scope.steps if s not in asked]
    if not steps:
        raise error(Conflict, "erasure_already_requested", "Everything this request asks for was already requested for {name}; see the schedule of their erasure requests.", name=member.name)
    request_id = next_id(conn, R, tid)
    conn.execute(
        insert(R).values(
            tenant_id=tid,
            id=request_id,
            member_id=member.id,
            mode=scope.mode.value,
            scope=scope.as_dict(),
            reason=reason,
            verified=checked,
            requested_by=uow.actor.audit_id,
            created_at=uow.now,
            state="open",
        )
    )
    facts = store.member_facts(conn, tid, member, uow.policy.chat_retention_days, uow.tenant.timezone)
    conn.execute(
        insert(S),
        [{"tenant_id": tid, "request_id": request_id, "step": d.step.value, "state": d.state.value, "due_at": d.due_at, "waiting_for": d.waiting_for} for d in schedule(steps, facts, uow.now)],
    )
    uow.audit(
        "erasure.requested",
        [f"member:{member.id}", f"erasure:{request_id}"],
        {"mode": scope.mode.value, **scope.as_dict(), "steps": [s.value for s in steps], "reason": reason, "verified": checked, "own": own},
    )
    run_due(uow, request_id)
    return request_id


def _asked(uow: UnitOfWork, member_id: int) -> set[Step]:
    rows = uow.conn.execute(select(S.c.step).join(R, (R.c.tenant_id == S.c.tenant_id) & (R.c.id == S.c.request_id)).where(R.c.tenant_id == uow.tenant_id, R.c.member_id == member_id))
    return {Step(r.step) for r in rows}


def _request(uow: UnitOfWork, request_id: int) -> AnyRow:
    row = uow.conn.execute(select(R).where(R.c.tenant_id == uow.tenant_id, R.c.id == request_id)).first()
    if row is None:
        raise error(NotFound, "erasure_request_not_found", "No erasure request {id} in this enterprise.", id=request_id)
    return row


def run_due(uow: UnitOfWork, request_id: int) -> dict[str, int]:
    """The request's steps that are due now, run; the others rescheduled from today's facts (a
    hold placed or released, the exit finalized, a longer retention). Returns the rows each
    step erased."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    request = _request(uow, request_id)
    if request.state != "open":
        return {}
    member = repo.member_by_id(conn, tid, request.member_id)
    pending = [Step(r.step) for r in conn.execute(select(S.c.step).where(S.c.tenant_id == tid, S.c.request_id == request_id, S.c.state == StepState.PENDING))]
    facts = store.member_facts(conn, tid, member, uow.policy.chat_retention_days, uow.tenant.timezone)
    done: dict[str, int] = {}
    for due in schedule(pending, facts, now):
        key = (S.c.tenant_id == tid) & (S.c.request_id == request_id) & (S.c.step == due.step.value)
        if due.ready(now):
            rows = store.RUN[due.step](conn, tid, member.id, now)
            conn.execute(update(S).where(key).values(state=StepState.DONE, rows=rows, done_at=now, due_at=now, waiting_for=None))
            done[due.step.value] = rows
        else:
            conn.execute(update(S).where(key).values(due_at=due.due_at, waiting_for=due.waiting_for))
    left = conn.execute(select(S.c.step).where(S.c.tenant_id == tid, S.c.request_id == request_id, S.c.state == StepState.PENDING)).first()
    if left is None:
        conn.execute(update(R).where(R.c.tenant_id == tid, R.c.id == request_id).values(state="done", done_at=now))
    erased = left is None and _erase_member(uow, member)
    if done or erased:
        uow.audit("erasure.done", [f"member:{member.id}", f"erasure:{request_id}"], {"steps": done, "request_done": left is None, "member_erased": erased})
    return done


def _erase_member(uow: UnitOfWork, member: AnyRow) -> bool:
    """Every step of every kind done or kept across the member's requests: they are `erased`."""
    conn, tid = uow.conn, uow.tenant_id
    finished = {
        Step(r.step)
        for r in conn.execute(
            select(S.c.step)
            .join(R, (R.c.tenant_id == S.c.tenant_id) & (R.c.id == S.c.request_id))
            .where(R.c.tenant_id == tid, R.c.member_id == member.id, S.c.state.in_([StepState.DONE, StepState.KEPT]))
        )
    }
    if member.status != MemberStatus.FINALIZED or not erases_account(finished):
        return False
    status = next_member_status(member.status, "erase")
    conn.execute(update(members).where(members.c.tenant_id == tid, members.c.id == member.id).values(status=status, version=members.c.version + 1, updated_at=uow.now))
    return True
