"""Plan, exit, scheduled exits and cancellation (R-EXIT-1..5, R-EXIT-8, R-ORG-1..5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import Conflict, NotFound, ValidationError, error
from offboard.domain.lifecycle import check_effective_at, next_exit_state, next_member_status, restore_deadline
from offboard.domain.org import covered
from offboard.domain.planning import Choices, ExitPlan, digest, plan_exit
from offboard.domain.vocabulary import (
    OPEN_EXIT_STATES,
    DepartmentStatus,
    ExitState,
    ExitType,
    LedgerState,
    MemberStatus,
    ReasonCategory,
    ResourceKind,
    StepKind,
    Trigger,
)
from offboard.i18n import translate
from offboard.store import access_cut
from offboard.store import ids, repo, steps
from offboard.store.locks import lock_member
from offboard.store.org import shift_headcounts
from offboard.store.planning import snapshot
from offboard.store.rows import AnyRow
from offboard.store.tables import (
    departments,
    exit_plans,
    external_contacts,
    members,
    exits,
    transfer_ledger,
)
from offboard.store.transfers import apply_moves, fingerprint, record_moves

K = ResourceKind


def parse_choices(conn: Connection, tenant_id: int, successor: str | int | None, acceptors: Mapping[str, str | int] | None) -> Choices:
    """Userids (CLI) or ids (API) to a Choices value; unknown kinds and members are refused."""
    successor_id = repo.member_ref(conn, tenant_id, successor).id if successor not in (None, "") else None
    resolved: dict[ResourceKind, int] = {}
    for kind, ref in (acceptors or {}).items():
        try:
            key = ResourceKind(kind)
        except ValueError:
            raise error(ValidationError, "unknown_kind", "Unknown resource kind {kind}; choose from: {choices}.", kind=kind, choices=", ".join(k.value for k in ResourceKind)) from None
        resolved[key] = repo.member_ref(conn, tenant_id, ref).id
    return Choices(successor_id, resolved)


def compute_plan(conn: Connection, tenant: AnyRow, member: AnyRow, choices: Choices, now: datetime) -> tuple[ExitPlan, str]:
    named = set(choices.acceptors.values()) | ({choices.successor_id} if choices.successor_id else set())
    owned = fingerprint(conn, tenant.id, member.id)  # count, sum of ids, sum of versions per kind
    counts = {ResourceKind(kind): values[0] for kind, values in owned.items()}
    plan = plan_exit(snapshot(conn, tenant, member, named, now, owned=counts), choices)
    return plan, digest(plan.body(), {"owned": owned, "member_version": member.version})


def plan(uow: UnitOfWork, member_ref: str | int, *, successor: str | int | None = None, acceptors: Mapping[str, str | int] | None = None) -> dict[str, Any]:
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


def describe_plan(conn: Connection, tenant_id: int, plan_id: int, member: AnyRow, body: dict[str, Any], plan_digest: str) -> dict[str, Any]:
    ids_ = {k["acceptor_id"] for k in body["kinds"] if k["acceptor_id"]}
    names = {r.id: r.userid for r in conn.execute(select(members.c.id, members.c.userid).where(members.c.tenant_id == tenant_id, members.c.id.in_(ids_)))} if ids_ else {}
    return {
        "plan_id": plan_id,
        "digest": plan_digest,
        "member": {"id": member.id, "userid": member.userid, "name": member.name},
        "ok": not body["blockers"],
        "kinds": [{**k, "acceptor": names.get(k["acceptor_id"])} for k in body["kinds"]],
        "blockers": body["blockers"],
        "warnings": body["warnings"],
        "choices": body["choices"],
    }


def check_can_plan(conn: Connection, tenant_id: int, actor: Actor, member_id: int) -> None:
    """Before showing the plan form: may this actor plan this member's exit?"""
    require(actor, Action.PLAN_EXIT, target_of(conn, tenant_id, repo.member_by_id(conn, tenant_id, member_id)))


def render_issue(issue: dict[str, Any], locale: str) -> str:
    return translate(issue["template"], locale, **issue["params"])


def _open_exit(conn: Connection, tenant_id: int, member_id: int) -> AnyRow | None:
    return conn.execute(select(exits).where(exits.c.tenant_id == tenant_id, exits.c.member_id == member_id, exits.c.state.in_([s.value for s in OPEN_EXIT_STATES]))).first()


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
) -> dict[str, Any]:
    """Start an exit: at once, or scheduled for a future effective time (R-EXIT-8)."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, member_ref)
    exit_type = ExitType(v.choice(type, ExitType, "type"))
    category = v.choice(reason_category, ReasonCategory, "reason category")
    reason = v.clean(reason, "reason", multiline=True)
    if not reason or len(reason) > 2000:
        raise error(ValidationError, "reason_required", "Give the reason for the exit (1-2000 characters).")
    when = check_effective_at(effective_at, uow.now, max(uow.tenant.created_at, member.created_at)) if effective_at else uow.now
    target = target_of(conn, tid, member)
    if exit_type == ExitType.VOLUNTARY:
        uow.require(Action.VOLUNTARY_EXIT, target)  # R-EXIT-2: only the member themselves
    else:
        uow.require(Action.START_REMOVAL, target)
    trigger = v.choice(trigger or _default_trigger(uow, exit_type), Trigger, "trigger")
    lock_member(conn, tid, member.id)
    existing = _open_exit(conn, tid, member.id)
    if existing is not None:
        raise error(Conflict, "exit_exists", "{userid} already has an exit ({state}, id {id}).", userid=member.userid, state=existing.state, id=existing.id)
    if plan_id is not None:
        stored = conn.execute(select(exit_plans).where(exit_plans.c.tenant_id == tid, exit_plans.c.id == plan_id)).first()
        if stored is None or stored.member_id != member.id:
            raise error(NotFound, "plan_not_found", "No plan {id} for {userid}; make one with `offboard plan`.", id=plan_id, userid=member.userid)
        choices = Choices.from_dict(stored.body["choices"])
        current, current_digest = compute_plan(conn, uow.tenant, member, choices, uow.now)
        if current_digest != stored.digest:
            raise error(Conflict, "plan_stale", "The data changed since plan {id} was made; plan again and confirm the new plan.", id=plan_id)
    else:
        choices = parse_choices(conn, tid, successor, acceptors)
        current, current_digest = compute_plan(conn, uow.tenant, member, choices, uow.now)
    if current.blockers:
        raise _blocked(member, current)
    exit_id = ids.next_id(conn, exits, tid)
    scheduled = when > uow.now
    conn.execute(
        insert(exits).values(
            tenant_id=tid,
            id=exit_id,
            member_id=member.id,
            state=ExitState.SCHEDULED,
            type=exit_type,
            reason_category=category,
            reason=reason,
            trigger=trigger,
            requested_by=uow.actor.audit_id,
            effective_at=when,
            successor_id=choices.successor_id,
            acceptors=choices.to_dict()["acceptors"],
            plan_id=plan_id,
            plan_digest=current_digest,
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    uow.audit(
        "exit.scheduled" if scheduled else "exit.started",
        [f"member:{member.id}", f"exit:{exit_id}"],
        {"type": exit_type.value, "reason_category": category, "reason": reason, "trigger": trigger, "effective_at": when.isoformat(), "plan_id": plan_id},
    )
    if not scheduled:
        take_effect(uow, exit_id, current)
    return exit_summary(conn, tid, exit_id)


def _blocked(member: AnyRow, current: ExitPlan) -> Conflict:
    return error(
        Conflict,
        "exit_blocked",
        "The exit of {userid} is blocked ({codes}); plan it to see why and what to fix.",
        userid=member.userid,
        codes=", ".join(b.code for b in current.blockers),
    )


def _default_trigger(uow: UnitOfWork, exit_type: ExitType) -> str:
    if exit_type == ExitType.VOLUNTARY:
        return Trigger.SELF
    if uow.actor.kind == "member" and any(g.role.value == "hr" for g in uow.actor.roles) and not any(g.role.value in ("super_admin", "admin") for g in uow.actor.roles):
        return Trigger.HR
    return Trigger.ADMIN


def take_effect(uow: UnitOfWork, exit_id: int, current: ExitPlan | None = None) -> dict[str, int]:
    """R-EXIT-1: access is cut at once, then every kind moves (one statement per kind and outcome).

    A scheduled exit re-plans here from its stored choices (R-EXIT-5); an immediate one passes
    the plan it has just checked in the same transaction.
    """
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    row = conn.execute(select(exits).where(exits.c.tenant_id == tid, exits.c.id == exit_id)).one()
    next_exit_state(row.state, "take_effect")
    member = repo.member_by_id(conn, tid, row.member_id)
    lock_member(conn, tid, member.id)
    next_member_status(member.status, "exit")
    if current is None:
        choices = Choices.from_dict({"successor_id": row.successor_id, "acceptors": row.acceptors})
        current, _ = compute_plan(conn, uow.tenant, member, choices, now)
    if current.blockers:
        raise _blocked(member, current)
    _cut_access(uow, member)
    step_id = steps.begin(conn, tid, exit_id, StepKind.EXIT, uow.actor.audit_id, now)
    moved = {}
    limit = uow.policy.customer_limit
    for kind_plan in current.kinds:
        if not kind_plan.count:
            continue
        capacity = None
        if kind_plan.kind == K.EXTERNAL_CONTACT and kind_plan.acceptor_id is not None:
            capacity = max(0, limit - _customers_of(conn, tid, kind_plan.acceptor_id))
        n = record_moves(
            conn,
            tid,
            exit_id,
            kind_plan.kind,
            member.id,
            kind_plan.destination,
            kind_plan.acceptor_id,
            kind_plan.state,
            step_id,
            now,
            capacity=capacity,
            self_fallback=_usable_manager(conn, tid, member),
        )
        apply_moves(conn, tid, exit_id, kind_plan.kind, step_id, now)
        moved[kind_plan.kind.value] = n
        uow.audit(
            "exit.resources_moved",
            [f"exit:{exit_id}", f"member:{member.id}"] + ([f"member:{kind_plan.acceptor_id}"] if kind_plan.acceptor_id else []),
            {
                "kind": kind_plan.kind.value,
                "count": n,
                "destination": kind_plan.destination,
                "reason": kind_plan.reason,
                "step_id": step_id,
                "ledger_digest": steps.ledger_digest(conn, tid, step_id, kind_plan.kind),
            },
        )
    steps.close(conn, tid, step_id)
    window = uow.policy.restore_window_hours
    conn.execute(
        update(exits).where(exits.c.tenant_id == tid, exits.c.id == exit_id).values(state=ExitState.OPEN, restore_until=restore_deadline(now, window), updated_at=now, version=exits.c.version + 1)
    )
    uow.audit("exit.took_effect", [f"member:{member.id}", f"exit:{exit_id}"], {"moved": moved, "restore_until": restore_deadline(now, window).isoformat(), "step_id": step_id})
    uow.emit("member.exited", exit_id=exit_id, member_id=member.id)
    return moved


def _usable_manager(conn: Connection, tenant_id: int, member: AnyRow) -> int | None:
    if member.manager_id is None:
        return None
    manager = repo.member_by_id(conn, tenant_id, member.manager_id)
    return manager.id if manager.status == MemberStatus.ACTIVE else None


def _customers_of(conn: Connection, tenant_id: int, member_id: int) -> int:
    return conn.execute(select(func.count()).where(external_contacts.c.tenant_id == tenant_id, external_contacts.c.owner_id == member_id)).scalar_one()


def _cut_access(uow: UnitOfWork, member: AnyRow) -> None:
    """R-EXIT-1: status, sessions, personal tokens, roles, devices, third-party grants, headcounts."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    conn.execute(update(members).where(members.c.tenant_id == tid, members.c.id == member.id).values(status=MemberStatus.EXITED, exited_at=now, updated_at=now, version=members.c.version + 1))
    cut = access_cut.cut(conn, tid, member.id, now)
    paths = [r.path for r in repo.member_department_rows(conn, tid, member.id)]
    lose = covered(paths) if member.status in (MemberStatus.ACTIVE, MemberStatus.FROZEN) else set()
    shift_headcounts(conn, tid, (), lose)
    if lose:
        # R-ORG-1: what the exit brought to zero is pending dissolution, O(depth).
        conn.execute(
            update(departments)
            .where(departments.c.tenant_id == tid, departments.c.id.in_(sorted(lose)), departments.c.headcount == 0, departments.c.status == DepartmentStatus.ACTIVE)
            .values(status=DepartmentStatus.PENDING_DISSOLUTION)
        )
    uow.audit("member.access_cut", [f"member:{member.id}"], {"departments": sorted(lose), "cut": cut})


def cancel_exit(uow: UnitOfWork, exit_id: int) -> dict[str, Any]:
    """A scheduled exit can be cancelled before it takes effect."""
    conn, tid = uow.conn, uow.tenant_id
    row = get_exit_row(conn, tid, exit_id)
    member = repo.member_by_id(conn, tid, row.member_id)
    uow.require(Action.START_REMOVAL if row.type == ExitType.REMOVAL else Action.VOLUNTARY_EXIT, target_of(conn, tid, member))
    next_exit_state(row.state, "cancel")
    conn.execute(update(exits).where(exits.c.tenant_id == tid, exits.c.id == exit_id).values(state=ExitState.CANCELLED, updated_at=uow.now, version=exits.c.version + 1))
    uow.audit("exit.cancelled", [f"member:{member.id}", f"exit:{exit_id}"], {})
    uow.emit("exit.cancelled", exit_id=exit_id, member_id=member.id)
    return exit_summary(conn, tid, exit_id)


def get_exit_row(conn: Connection, tenant_id: int, exit_id: int) -> AnyRow:
    row = conn.execute(select(exits).where(exits.c.tenant_id == tenant_id, exits.c.id == exit_id)).first()
    if row is None:
        raise error(NotFound, "exit_not_found", "No exit with id {id} in this enterprise.", id=exit_id)
    return row


def exit_of(conn: Connection, tenant_id: int, member_ref: str | int, *, open_only: bool = False) -> AnyRow:
    """A member's open exit, else their latest one."""
    member = repo.member_ref(conn, tenant_id, member_ref)
    query = select(exits).where(exits.c.tenant_id == tenant_id, exits.c.member_id == member.id)
    if open_only:
        query = query.where(exits.c.state.in_([s.value for s in OPEN_EXIT_STATES]))
    row = conn.execute(query.order_by(exits.c.state.in_([s.value for s in OPEN_EXIT_STATES]).desc(), exits.c.id.desc()).limit(1)).first()
    if row is None:
        raise error(NotFound, "exit_not_found", "{userid} has no exit.", userid=member.userid)
    return row


def show_exit(conn: Connection, tenant_id: int, actor: Actor, exit_id: int) -> dict[str, Any]:
    """An exit for a reader: the leaver, or someone allowed to read the leaver's directory entry."""
    row = get_exit_row(conn, tenant_id, exit_id)
    if actor.member_id != row.member_id:
        require(actor, Action.READ_DIRECTORY, target_of(conn, tenant_id, repo.member_by_id(conn, tenant_id, row.member_id)))
    return exit_summary(conn, tenant_id, exit_id)


def exit_summary(conn: Connection, tenant_id: int, exit_id: int) -> dict[str, Any]:
    row = get_exit_row(conn, tenant_id, exit_id)
    member = repo.member_by_id(conn, tenant_id, row.member_id)
    counts = conn.execute(
        select(transfer_ledger.c.kind, transfer_ledger.c.state, func.count())
        .where(transfer_ledger.c.tenant_id == tenant_id, transfer_ledger.c.exit_id == exit_id)
        .group_by(transfer_ledger.c.kind, transfer_ledger.c.state)
    ).all()
    ledger: dict[str, dict[str, int]] = {}
    for kind, state, n in counts:
        ledger.setdefault(kind, {})[state] = n
    return {
        "id": row.id,
        "member": {"id": member.id, "userid": member.userid, "name": member.name, "status": member.status},
        "state": row.state,
        "type": row.type,
        "reason_category": row.reason_category,
        "reason": row.reason,
        "trigger": row.trigger,
        "requested_by": row.requested_by,
        "effective_at": row.effective_at.isoformat(),
        "restore_until": row.restore_until.isoformat() if row.restore_until else None,
        "finalized_at": row.finalized_at.isoformat() if row.finalized_at else None,
        "successor_id": row.successor_id,
        "acceptors": row.acceptors,
        "plan_id": row.plan_id,
        "ledger": ledger,
        "steps": steps.of_exit(conn, tenant_id, exit_id),
    }


def list_exits(conn: Connection, tenant_id: int, actor: Actor, *, state: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(actor, Action.READ_DIRECTORY)
    if not 1 <= limit <= 500 or offset < 0:
        raise error(ValidationError, "invalid_page", "limit must be 1-500 and offset 0 or more.")
    where = [exits.c.tenant_id == tenant_id]
    if state:
        where.append(exits.c.state == v.choice(state, ExitState, "state"))
    total = conn.execute(select(func.count()).select_from(exits).where(*where)).scalar_one()
    rows = conn.execute(
        select(exits, members.c.userid, members.c.name)
        .join(members, and_(members.c.tenant_id == exits.c.tenant_id, members.c.id == exits.c.member_id))
        .where(*where)
        .order_by(exits.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        {
            "id": r.id,
            "userid": r.userid,
            "name": r.name,
            "state": r.state,
            "type": r.type,
            "reason_category": r.reason_category,
            "effective_at": r.effective_at.isoformat(),
            "restore_until": r.restore_until.isoformat() if r.restore_until else None,
        }
        for r in rows
    ]
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def ledger(conn: Connection, tenant_id: int, actor: Actor, exit_id: int, *, kind: str | None = None, state: str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """The transfer ledger of an exit, filtered by kind and state, paged."""
    row = get_exit_row(conn, tenant_id, exit_id)
    member = repo.member_by_id(conn, tenant_id, row.member_id)
    if actor.member_id != member.id:
        require(actor, Action.READ_DIRECTORY, target_of(conn, tenant_id, member))
    if not 1 <= limit <= 1000 or offset < 0:
        raise error(ValidationError, "invalid_page", "limit must be 1-{max} and offset 0 or more.", max=1000)
    L = transfer_ledger
    where = [L.c.tenant_id == tenant_id, L.c.exit_id == exit_id]
    if kind:
        where.append(L.c.kind == v.choice(kind, ResourceKind, "kind"))
    if state:
        where.append(L.c.state == v.choice(state, LedgerState, "state"))
    total = conn.execute(select(func.count()).select_from(L).where(*where)).scalar_one()
    to = members.alias("to_member")
    rows = conn.execute(
        select(L, to.c.userid.label("to_userid"))
        .select_from(L.outerjoin(to, and_(to.c.tenant_id == L.c.tenant_id, to.c.id == L.c.to_member_id)))
        .where(*where)
        .order_by(L.c.id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        {
            "id": r.id,
            "kind": r.kind,
            "resource_id": r.resource_id,
            "to": r.to_userid,
            "state": r.state,
            "correlation_id": r.correlation_id,
            "version_after": r.version_after,
            "created_at": r.created_at.isoformat(),
            "updated_at": r.updated_at.isoformat(),
            "step_id": r.step_id,
            "changed_step_id": r.changed_step_id,
        }
        for r in rows
    ]
    return {"total": total, "limit": limit, "offset": offset, "items": items}
