"""Plan, exit, scheduled exits, moving and cancelling them (R-EXIT-1..5, R-EXIT-8, R-ORG-1..5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from datetime import datetime

from sqlalchemy import BigInteger, Connection, bindparam, func, insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.actions import exit_request_moves, webhooks
from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, default_trigger, require
from offboard.domain.errors import Conflict, NotFound, Term, Terms, ValidationError, error
from offboard.domain.exit_requests import Approved
from offboard.domain.policy import ExitAutomation
from offboard.domain.lifecycle import check_effective_at, next_exit_state, next_member_status, restore_deadline
from offboard.domain.org import covered
from offboard.domain.planning import Choices, ExitPlan, digest, plan_exit
from offboard.domain.vocabulary import (
    OPEN_EXIT_STATES,
    DepartmentStatus,
    ExitState,
    ExitType,
    MemberStatus,
    ReasonCategory,
    ResourceKind,
    StepKind,
    Trigger,
)
from offboard.store import access_cut
from offboard.store import ids, repo, steps
from offboard.store.org import shift_headcounts
from offboard.store.planning import snapshot
from offboard.store.rows import AnyRow
from offboard.store.types import UTCDateTime
from offboard.queries.exits import ExitSummary, PlanView, describe_plan, exit_summary
from offboard.store.tables import (
    departments,
    exit_plans,
    external_contacts,
    members,
    exits,
)
from offboard.store.transfers import Move, among, apply_all_moves, fingerprint, record_all_moves

K = ResourceKind


def parse_choices(conn: Connection, tenant_id: int, successor: str | int | None, acceptors: Mapping[str, str | int] | None) -> Choices:
    """Userids (CLI) or ids (API) to a Choices value; unknown kinds and members are refused."""
    successor_id = repo.member_ref(conn, tenant_id, successor).id if successor not in (None, "") else None
    resolved: dict[ResourceKind, int] = {}
    for kind, ref in (acceptors or {}).items():
        try:
            key = ResourceKind(kind)
        except ValueError:
            raise error(ValidationError, "unknown_kind", "Unknown resource kind {kind}; choose from: {choices}.", kind=kind, choices=Terms("resource_kind", tuple(ResourceKind))) from None
        resolved[key] = repo.member_ref(conn, tenant_id, ref).id
    return Choices(successor_id, resolved)


def compute_plan(conn: Connection, tenant: AnyRow, member: AnyRow, choices: Choices, now: datetime, *, paths: Sequence[str] | None = None, leaving: Set[int] = frozenset()) -> tuple[ExitPlan, str]:
    """The plan and its digest; `paths`, the member's department paths, when just read;
    `leaving`, members about to leave besides those whose exit is stored (a feed's other lines)."""
    named = set(choices.acceptors.values()) | ({choices.successor_id} if choices.successor_id else set())
    owned = fingerprint(conn, tenant.id, member.id)  # count, sum of ids, sum of versions per kind
    counts = {ResourceKind(kind): values[0] for kind, values in owned.items()}
    plan = plan_exit(snapshot(conn, tenant, member, named, now, leaving, owned=counts, paths=paths), choices)
    return plan, digest(plan.body(), {"owned": owned, "member_version": member.version})


def plan(uow: UnitOfWork, member_ref: str | int, *, successor: str | int | None = None, acceptors: Mapping[str, str | int] | None = None) -> PlanView:
    """R-EXIT-5: compute and store a plan; nothing else changes."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, member_ref)
    uow.require(Action.PLAN_EXIT, target_of(conn, tid, member))
    choices = parse_choices(conn, tid, successor, acceptors)
    result, plan_digest = compute_plan(conn, uow.tenant, member, choices, uow.now)
    plan_id = ids.next_id(conn, exit_plans, tid)
    body = result.body()
    conn.execute(insert(exit_plans).values(tenant_id=tid, id=plan_id, member_id=member.id, digest=plan_digest, body=body, created_by=uow.actor.audit_id, created_at=uow.now))
    uow.audit("exit.planned", [f"member:{member.id}", f"plan:{plan_id}"], {"digest": plan_digest, "blockers": [b["code"] for b in body["blockers"]]})
    return describe_plan(conn, tid, plan_id, member, body, plan_digest)


def check_can_plan(conn: Connection, tenant_id: int, actor: Actor, member_id: int) -> None:
    """Before showing the plan form: may this actor plan this member's exit?"""
    require(actor, Action.PLAN_EXIT, target_of(conn, tenant_id, repo.member_by_id(conn, tenant_id, member_id)))


# Built once with bind parameters (not named like a column): every exit runs them.
_TENANT = bindparam("tenant", type_=BigInteger())
_OPEN_EXIT = select(exits).where(exits.c.tenant_id == _TENANT, exits.c.member_id == bindparam("member"), among(exits.c.state, OPEN_EXIT_STATES))
_PLAN = select(exit_plans).where(exit_plans.c.tenant_id == _TENANT, exit_plans.c.id == bindparam("plan"))
_LOCKED_MEMBER = select(members).where(members.c.tenant_id == _TENANT, members.c.id == bindparam("member")).with_for_update(key_share=True)
_CUSTOMERS = select(func.count()).where(external_contacts.c.tenant_id == _TENANT, external_contacts.c.owner_id == bindparam("member"))
_NOW = bindparam("now", type_=UTCDateTime())
_EXITED = update(members).where(members.c.tenant_id == _TENANT, members.c.id == bindparam("member")).values(status=MemberStatus.EXITED, exited_at=_NOW, updated_at=_NOW, version=members.c.version + 1)
_EMPTIED = (
    update(departments)
    .where(
        departments.c.tenant_id == _TENANT,
        departments.c.id.in_(bindparam("departments", expanding=True)),
        departments.c.headcount == 0,
        departments.c.status == DepartmentStatus.ACTIVE,
    )
    .values(status=DepartmentStatus.PENDING_DISSOLUTION)
)
_OPENED = (
    update(exits)
    .where(exits.c.tenant_id == _TENANT, exits.c.id == bindparam("exit"))
    .values(state=ExitState.OPEN, restore_until=bindparam("until", type_=UTCDateTime()), updated_at=_NOW, version=exits.c.version + 1)
)


def _open_exit(conn: Connection, tenant_id: int, member_id: int) -> AnyRow | None:
    return conn.execute(_OPEN_EXIT, {"tenant": tenant_id, "member": member_id}).first()


def _locked(conn: Connection, tenant_id: int, member_id: int) -> AnyRow:
    """The member's row read under the member lock of offboard.store.locks.lock_member (FOR NO
    KEY UPDATE on PostgreSQL; on SQLite the write transaction excludes every other writer), so
    the plan is checked against the row as it stays until commit."""
    return conn.execute(_LOCKED_MEMBER, {"tenant": tenant_id, "member": member_id}).one()


def start_exit(
    uow: UnitOfWork,
    member_ref: str | int,
    *,
    type: str,
    reason_category: str,
    reason: str,
    trigger: str | None = None,
    plan_id: int | None = None,
    successor: str | int | None = None,
    acceptors: Mapping[str, str | int] | None = None,
    effective_at: datetime | None = None,
    keep_scheduled: bool = False,
    approved: Approved | None = None,
) -> ExitSummary:
    """Start an exit: at once, or scheduled for a future effective time (R-EXIT-8). With
    `keep_scheduled` a time already past is stored scheduled too, and the reconciler's next sweep
    makes it take effect (the HR feed's leave dates: a date that passed while nobody imported it
    still fires, but from the sweep, as every due exit does). `approved`: the last approval of the
    member's exit request (offboard.actions.exit_requests), which makes a voluntary exit with an
    approver acting."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, member_ref)
    exit_type = ExitType(v.choice(type, ExitType, "type"))
    category = v.choice(reason_category, ReasonCategory, "reason category")
    reason = v.clean(reason, "reason", multiline=True)
    if not reason or len(reason) > 2000:
        raise error(ValidationError, "reason_required", "Give the reason for the exit (1-2000 characters).")
    when = check_effective_at(effective_at, uow.now, max(uow.tenant.created_at, member.created_at)) if effective_at else uow.now
    target = target_of(conn, tid, member)
    if approved is not None:
        # The member's own exit, asked for in their exit request (离职申请) and approved through the
        # flow: §3.2's rule (voluntary exit: the member, own only) holds for the member who asked;
        # the approver acting needs the right to decide, their step was checked where they decided.
        require(Actor(kind="member", member_id=approved.requester_id), Action.VOLUNTARY_EXIT, target)
        uow.require(Action.DECIDE_EXIT_REQUESTS, target)
        if exit_type != ExitType.VOLUNTARY:
            raise ValueError("an approved exit request makes a voluntary exit")
        trigger = Trigger.APPROVAL.value
    elif exit_type == ExitType.VOLUNTARY:
        uow.require(Action.VOLUNTARY_EXIT, target)  # R-EXIT-2: only the member themselves
        if uow.policy.exit_automation == ExitAutomation.APPROVAL_FLOW:
            raise error(
                Conflict,
                "exit_trigger_disabled",
                "In this enterprise exits start {mode}: file an exit request with your leave date, which goes to your manager and HR for approval, instead of leaving at once.",
                mode=Term("exit_automation", ExitAutomation.APPROVAL_FLOW.value),
            )
    else:
        uow.require(Action.START_REMOVAL, target)
    trigger = v.choice(trigger or default_trigger(uow.actor, exit_type), Trigger, "trigger")
    if trigger == Trigger.APPROVAL and approved is None:
        raise error(ValidationError, "trigger_approval", "Only an approved exit request starts an exit with the trigger {trigger}.", trigger=Term("trigger", Trigger.APPROVAL.value))
    member = _locked(conn, tid, member.id)
    existing = _open_exit(conn, tid, member.id)
    if existing is not None:
        raise error(Conflict, "exit_exists", "{userid} already has an exit ({state}, id {id}).", userid=member.userid, state=Term("exit_state", existing.state), id=existing.id)
    if plan_id is not None:
        stored = conn.execute(_PLAN, {"tenant": tid, "plan": plan_id}).first()
        if stored is None or stored.member_id != member.id:
            raise error(NotFound, "plan_not_found", "No plan {id} for {userid}; make one with `offboard plan`.", id=plan_id, userid=member.userid)
        choices = Choices.from_dict(stored.body["choices"])
        current, current_digest = compute_plan(conn, uow.tenant, member, choices, uow.now, paths=target.department_paths)
        if current_digest != stored.digest:
            raise error(Conflict, "plan_stale", "The data changed since plan {id} was made; plan again and confirm the new plan.", id=plan_id)
    else:
        choices = parse_choices(conn, tid, successor, acceptors)
        current, current_digest = compute_plan(conn, uow.tenant, member, choices, uow.now, paths=target.department_paths)
    if current.blockers:
        raise blocked(member, current)
    exit_id = ids.next_id(conn, exits, tid)
    scheduled = when > uow.now or (keep_scheduled and effective_at is not None)
    conn.execute(
        insert(exits),
        {
            "tenant_id": tid,
            "id": exit_id,
            "member_id": member.id,
            "state": ExitState.SCHEDULED,
            "type": exit_type,
            "reason_category": category,
            "reason": reason,
            "trigger": trigger,
            "requested_by": f"member:{approved.requester_id}" if approved is not None else uow.actor.audit_id,
            "effective_at": when,
            "successor_id": choices.successor_id,
            "acceptors": choices.to_dict()["acceptors"],
            "plan_id": plan_id,
            "plan_digest": current_digest,
            "created_at": uow.now,
            "updated_at": uow.now,
        },
    )
    uow.audit(
        "exit.scheduled" if scheduled else "exit.started",
        [f"member:{member.id}", f"exit:{exit_id}"],
        {
            "type": exit_type.value,
            "reason_category": category,
            "reason": reason,
            "trigger": trigger,
            "effective_at": when.isoformat(),
            "plan_id": plan_id,
            **({"exit_request_id": approved.request_id} if approved is not None else {}),
        },
    )
    if scheduled:
        uow.emit("exit.scheduled", exit_id=exit_id, member_id=member.id)
    else:
        _take_effect(uow, exit_id, member, current, paths=target.department_paths)
    return exit_summary(conn, tid, exit_id)


def blocked(member: AnyRow, current: ExitPlan) -> Conflict:
    """The refusal of an exit whose plan has blockers (R-EXIT-5), naming them."""
    return error(
        Conflict,
        "exit_blocked",
        "The exit of {userid} is blocked ({blockers}); plan it to see why and what to fix.",
        userid=member.userid,
        blockers=Terms("plan_issue", tuple(b.code for b in current.blockers)),
    )


def take_effect(uow: UnitOfWork, exit_id: int, current: ExitPlan | None = None) -> dict[str, int]:
    """R-EXIT-1: access is cut at once, then every kind moves (one statement per kind and outcome).

    A scheduled exit re-plans here from its stored choices (R-EXIT-5); an immediate one passes
    the plan it has just checked in the same transaction.
    """
    conn, tid = uow.conn, uow.tenant_id
    row = conn.execute(select(exits).where(exits.c.tenant_id == tid, exits.c.id == exit_id)).one()
    next_exit_state(row.state, "take_effect")
    member = _locked(conn, tid, row.member_id)
    if current is None:
        choices = Choices.from_dict({"successor_id": row.successor_id, "acceptors": row.acceptors})
        current, _ = compute_plan(conn, uow.tenant, member, choices, uow.now)
    return _take_effect(uow, exit_id, member, current)


def _take_effect(uow: UnitOfWork, exit_id: int, member: AnyRow, current: ExitPlan, *, paths: Sequence[str] | None = None) -> dict[str, int]:
    """take_effect of a scheduled exit whose member row was read under its lock; `paths`, the
    member's department paths, when just read."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    next_member_status(member.status, "exit")
    if current.blockers:
        raise blocked(member, current)
    if _cut_access(uow, member, paths).get("app_grants"):
        webhooks.announce_reauthorization(uow, {member.id: exit_id})
    exit_request_moves.after_exits(uow, [member.id])  # R-POST-2: their approval steps move on
    step_id = steps.begin(conn, tid, exit_id, StepKind.EXIT, uow.actor.audit_id, now)
    limit = uow.policy.customer_limit
    moves = []
    for kind_plan in current.kinds:
        if not kind_plan.count:
            continue
        capacity = None
        if kind_plan.kind == K.EXTERNAL_CONTACT and kind_plan.acceptor_id is not None:
            capacity = max(0, limit - conn.execute(_CUSTOMERS, {"tenant": tid, "member": kind_plan.acceptor_id}).scalar_one())
        fallback = _usable_manager(conn, tid, member) if kind_plan.kind == K.DIRECT_REPORT and kind_plan.acceptor_id is not None else None
        moves.append(Move(kind_plan.kind, kind_plan.destination, kind_plan.acceptor_id, kind_plan.state, capacity, fallback))
    states = record_all_moves(conn, tid, exit_id, member.id, moves, step_id, now)
    apply_all_moves(conn, tid, exit_id, step_id, now, states)
    counts = {kind: sum(by_state.values()) for kind, by_state in states.items()}
    # SPEC §8: one event per kind, each carrying the digest of the kind's ledger rows.
    digests = steps.ledger_digests(conn, tid, step_id, counts)
    for kind_plan in current.kinds:
        if kind_plan.kind not in counts:
            continue
        uow.audit(
            "exit.resources_moved",
            [f"exit:{exit_id}", f"member:{member.id}"] + ([f"member:{kind_plan.acceptor_id}"] if kind_plan.acceptor_id else []),
            {
                "kind": kind_plan.kind.value,
                "count": counts[kind_plan.kind],
                "destination": kind_plan.destination,
                "reason": kind_plan.reason,
                "step_id": step_id,
                "ledger_digest": digests[kind_plan.kind],
            },
        )
    moved = {kind.value: n for kind, n in counts.items()}
    steps.close(conn, tid, step_id, counts=moved)
    window = uow.policy.restore_window_hours
    conn.execute(_OPENED, {"tenant": tid, "exit": exit_id, "until": restore_deadline(now, window), "now": now})
    uow.audit("exit.took_effect", [f"member:{member.id}", f"exit:{exit_id}"], {"moved": moved, "restore_until": restore_deadline(now, window).isoformat(), "step_id": step_id})
    uow.emit("member.exited", exit_id=exit_id, member_id=member.id)
    return moved


def _usable_manager(conn: Connection, tenant_id: int, member: AnyRow) -> int | None:
    if member.manager_id is None:
        return None
    manager = repo.member_by_id(conn, tenant_id, member.manager_id)
    return manager.id if manager.status == MemberStatus.ACTIVE else None


def _cut_access(uow: UnitOfWork, member: AnyRow, paths: Sequence[str] | None = None) -> dict[str, int]:
    """R-EXIT-1: status, sessions, personal tokens, roles, devices, third-party grants, headcounts."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    conn.execute(_EXITED, {"tenant": tid, "member": member.id, "now": now})
    cut = access_cut.cut(conn, tid, member.id, now)
    if paths is None:
        paths = [r.path for r in repo.member_department_rows(conn, tid, member.id)]
    lose = covered(paths) if member.status in (MemberStatus.ACTIVE, MemberStatus.FROZEN) else set()
    shift_headcounts(conn, tid, (), lose)
    if lose:
        # R-ORG-1: what the exit brought to zero is pending dissolution, O(depth).
        conn.execute(_EMPTIED, {"tenant": tid, "departments": sorted(lose)})
    uow.audit("member.access_cut", [f"member:{member.id}"], {"departments": sorted(lose), "cut": cut})
    return cut


def cancel_exit(uow: UnitOfWork, exit_id: int) -> ExitSummary:
    """A scheduled exit can be cancelled before it takes effect."""
    conn, tid = uow.conn, uow.tenant_id
    row = repo.exit_by_id(conn, tid, exit_id)
    member = repo.member_by_id(conn, tid, row.member_id)
    uow.require(Action.START_REMOVAL if row.type == ExitType.REMOVAL else Action.VOLUNTARY_EXIT, target_of(conn, tid, member))
    next_exit_state(row.state, "cancel")
    conn.execute(update(exits).where(exits.c.tenant_id == tid, exits.c.id == exit_id).values(state=ExitState.CANCELLED, updated_at=uow.now, version=exits.c.version + 1))
    uow.audit("exit.cancelled", [f"member:{member.id}", f"exit:{exit_id}"], {})
    uow.emit("exit.cancelled", exit_id=exit_id, member_id=member.id)
    return exit_summary(conn, tid, exit_id)


def reschedule_exit(uow: UnitOfWork, exit_id: int, effective_at: datetime, *, via: str | None = None) -> ExitSummary:
    """Move a scheduled exit to another effective time before it takes effect (R-EXIT-8); the
    same people who may cancel it may move it. A time already past is kept: the reconciler's next
    sweep makes the exit take effect. `via` names what moved it when not a person by hand (the
    HR feed), for the audit trail. The same time again changes nothing."""
    conn, tid = uow.conn, uow.tenant_id
    row = repo.exit_by_id(conn, tid, exit_id)
    member = repo.member_by_id(conn, tid, row.member_id)
    uow.require(Action.START_REMOVAL if row.type == ExitType.REMOVAL else Action.VOLUNTARY_EXIT, target_of(conn, tid, member))
    member = _locked(conn, tid, member.id)  # a sweep making it take effect holds it: wait, then read the exit as it left it
    row = repo.exit_by_id(conn, tid, exit_id)
    next_exit_state(row.state, "reschedule")
    when = check_effective_at(effective_at, uow.now, max(uow.tenant.created_at, member.created_at))
    if when == row.effective_at:
        return exit_summary(conn, tid, exit_id)
    conn.execute(update(exits).where(exits.c.tenant_id == tid, exits.c.id == exit_id, exits.c.state == ExitState.SCHEDULED).values(effective_at=when, updated_at=uow.now, version=exits.c.version + 1))
    details = {"effective_at": when.isoformat(), "previous": row.effective_at.isoformat(), **({"via": via} if via else {})}
    uow.audit("exit.rescheduled", [f"member:{member.id}", f"exit:{exit_id}"], details)
    uow.emit("exit.rescheduled", exit_id=exit_id, member_id=member.id)
    return exit_summary(conn, tid, exit_id)
