"""Exits as their readers see them: one exit in summary, a page of exits, an exit's ledger, and
a stored plan described with its acceptors' userids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select

from offboard.actions.members import target_of
from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import ValidationError, error
from offboard.domain.org import subtree_upper_bound
from offboard.domain.vocabulary import ExitState, LedgerState, ReasonCategory, ResourceKind
from offboard.i18n import translate
from offboard.i18n.glossary import restored
from offboard.store import repo, steps
from offboard.store.transfers import latest_rows
from offboard.queries.resource_names import names_of
from offboard.store.rows import AnyRow
from offboard.queries.checklist_facts import progress_of_exits, signoffs_of_exits
from offboard.queries.people import PersonChoice, by_ids
from offboard.store.tables import departments, exits, member_departments, members, tenants, transfer_ledger


@dataclass(frozen=True)
class MemberRef:
    id: int
    userid: str
    name: str


@dataclass(frozen=True)
class ExitMember(MemberRef):
    status: str


@dataclass(frozen=True)
class ExitStep:
    """One recorded step of an exit (exit, inherit, result, takeover, restore, finalize)."""

    id: int
    kind: str
    at: str
    actor: str  # an audit id: member:N, system, operator, token:N
    counts: dict[str, int]  # ledger rows written or changed, by resource kind


@dataclass(frozen=True)
class ExitSummary:
    id: int
    member: ExitMember
    state: str
    type: str
    reason_category: str
    reason: str
    trigger: str
    requested_by: str
    effective_at: str
    restore_until: str | None
    finalized_at: str | None
    successor_id: int | None
    acceptors: dict[str, int]  # resource kind -> member id, as chosen
    plan_id: int | None
    ledger: dict[str, dict[str, int]]  # resource kind -> ledger state -> rows
    steps: list[ExitStep]


@dataclass(frozen=True)
class ExitListItem:
    id: int
    userid: str
    name: str
    state: str
    type: str
    reason_category: str
    effective_at: str
    restore_until: str | None
    department_id: int | None = None  # the leaver's primary department
    department: str | None = None
    checklist_done: int | None = None  # items done, of checklist_total; None without a checklist (restored, cancelled)
    checklist_total: int | None = None
    signed_off: list[str] = field(default_factory=list)  # the roles that signed off: hr, it


@dataclass(frozen=True)
class ExitPage:
    total: int
    limit: int
    offset: int
    items: list[ExitListItem]


@dataclass(frozen=True)
class LedgerRow:
    id: int
    kind: str
    resource_id: int
    to: str | None  # the acceptor's userid
    state: str
    correlation_id: str
    version_after: int
    created_at: str
    updated_at: str
    step_id: int  # the step that wrote the row
    changed_step_id: int | None  # the step that last changed it
    resource: str | None = None  # the resource's name or title; None when it is gone
    to_id: int | None = None  # the acceptor's member id
    to_name: str | None = None


@dataclass(frozen=True)
class LedgerPage:
    total: int
    limit: int
    offset: int
    items: list[LedgerRow]


@dataclass(frozen=True)
class PlannedKind:
    kind: str
    count: int
    destination: str  # member | archive | delete | first_member | unassigned
    acceptor_id: int | None
    reason: str  # acceptor | successor | manager | fallback | file_policy
    state: str  # the ledger state each resource of the kind starts in
    acceptor: str | None  # the acceptor's userid


@dataclass(frozen=True)
class PlanIssue:
    """A blocker or a warning of a plan; `message` is filled in the reader's language."""

    code: str
    template: str
    params: dict[str, Any]
    message: str | None = None


@dataclass(frozen=True)
class PlanChoices:
    successor_id: int | None
    acceptors: dict[str, int]


@dataclass(frozen=True)
class PlanView:
    plan_id: int
    digest: str
    member: MemberRef
    ok: bool
    kinds: list[PlannedKind]
    blockers: list[PlanIssue]
    warnings: list[PlanIssue]
    choices: PlanChoices
    # The successor and every acceptor by member id, to be shown by name and department.
    people: dict[int, PersonChoice] = field(default_factory=dict)

    def in_language(self, locale: str) -> PlanView:
        """The same plan with every blocker's and warning's message in `locale`."""

        def told(issues: list[PlanIssue]) -> list[PlanIssue]:
            return [replace(i, message=translate(i.template, locale, **restored(i.params))) for i in issues]

        return replace(self, blockers=told(self.blockers), warnings=told(self.warnings))


def describe_plan(conn: Connection, tenant_id: int, plan_id: int, member: AnyRow, body: dict[str, Any], plan_digest: str) -> PlanView:
    successor_id = body["choices"]["successor_id"]
    people = by_ids(conn, tenant_id, {k["acceptor_id"] for k in body["kinds"] if k["acceptor_id"]} | ({successor_id} if successor_id else set()))
    names = {i: p.userid for i, p in people.items()}
    issue_fields = ("code", "template", "params")
    return PlanView(
        plan_id=plan_id,
        digest=plan_digest,
        member=MemberRef(member.id, member.userid, member.name),
        ok=not body["blockers"],
        kinds=[PlannedKind(**k, acceptor=names.get(k["acceptor_id"])) for k in body["kinds"]],
        blockers=[PlanIssue(**{f: b[f] for f in issue_fields}) for b in body["blockers"]],
        warnings=[PlanIssue(**{f: w[f] for f in issue_fields}) for w in body["warnings"]],
        choices=PlanChoices(successor_id, dict(body["choices"]["acceptors"])),
        people=people,
    )


def show_exit(conn: Connection, tenant_id: int, actor: Actor, exit_id: int) -> ExitSummary:
    """An exit for a reader: the leaver, or someone allowed to read the leaver's directory entry."""
    row = repo.exit_by_id(conn, tenant_id, exit_id)
    if actor.member_id != row.member_id:
        require(actor, Action.READ_DIRECTORY, target_of(conn, tenant_id, repo.member_by_id(conn, tenant_id, row.member_id)))
    return exit_summary(conn, tenant_id, exit_id)


def exit_summary(conn: Connection, tenant_id: int, exit_id: int) -> ExitSummary:
    row = repo.exit_by_id(conn, tenant_id, exit_id)
    member = repo.member_by_id(conn, tenant_id, row.member_id)
    counts = conn.execute(
        select(transfer_ledger.c.kind, transfer_ledger.c.state, func.count())
        .where(transfer_ledger.c.tenant_id == tenant_id, transfer_ledger.c.exit_id == exit_id)
        .group_by(transfer_ledger.c.kind, transfer_ledger.c.state)
    ).all()
    ledger_counts: dict[str, dict[str, int]] = {}
    for kind, state, n in counts:
        ledger_counts.setdefault(kind, {})[state] = n
    return ExitSummary(
        id=row.id,
        member=ExitMember(member.id, member.userid, member.name, member.status),
        state=row.state,
        type=row.type,
        reason_category=row.reason_category,
        reason=row.reason,
        trigger=row.trigger,
        requested_by=row.requested_by,
        effective_at=row.effective_at.isoformat(),
        restore_until=row.restore_until.isoformat() if row.restore_until else None,
        finalized_at=row.finalized_at.isoformat() if row.finalized_at else None,
        successor_id=row.successor_id,
        acceptors=dict(row.acceptors or {}),
        plan_id=row.plan_id,
        ledger=ledger_counts,
        steps=[ExitStep(s.id, s.kind, s.created_at.isoformat(), s.actor, dict(s.counts or {})) for s in steps.rows_of_exit(conn, tenant_id, exit_id)],
    )


def list_exits(
    conn: Connection,
    tenant_id: int,
    actor: Actor,
    *,
    state: str | Sequence[str] | None = None,
    query: str | None = None,
    department_id: int | None = None,
    subdepartments: bool = True,
    reason_category: str | None = None,
    since: str | None = None,
    until: str | None = None,
    now: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ExitPage:
    """A page of exits, newest first, narrowed by state (one or several), a part of the leaver's
    name or userid, the leaver's primary department (with its sub-departments unless
    `subdepartments` is false), the reason category and the days `since`..`until` (YYYY-MM-DD in
    the enterprise's time zone) of the effective date. With `now`, each item carries its
    checklist progress, read for the whole page at once."""
    require(actor, Action.READ_DIRECTORY)
    if not 1 <= limit <= 500 or offset < 0:
        raise error(ValidationError, "invalid_page", "limit must be 1-500 and offset 0 or more.")
    where = exit_filters(conn, tenant_id, state=state, query=query, department_id=department_id, subdepartments=subdepartments, reason_category=reason_category, since=since, until=until)
    md, dept = member_departments, departments
    leavers = exits.join(members, and_(members.c.tenant_id == exits.c.tenant_id, members.c.id == exits.c.member_id)).outerjoin(
        md, and_(md.c.tenant_id == exits.c.tenant_id, md.c.member_id == exits.c.member_id, md.c.is_primary)
    )
    total = conn.execute(select(func.count()).select_from(leavers).where(*where)).scalar_one()
    rows = conn.execute(
        select(exits, members.c.userid, members.c.name, dept.c.id.label("department_id"), dept.c.name.label("department"))
        .select_from(leavers.outerjoin(dept, and_(dept.c.tenant_id == md.c.tenant_id, dept.c.id == md.c.department_id)))
        .where(*where)
        .order_by(exits.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    progress = progress_of_exits(conn, tenant_id, rows, now) if now is not None else {}
    signed = signoffs_of_exits(conn, tenant_id, [r.id for r in rows])
    items = [
        ExitListItem(
            id=r.id,
            userid=r.userid,
            name=r.name,
            state=r.state,
            type=r.type,
            reason_category=r.reason_category,
            effective_at=r.effective_at.isoformat(),
            restore_until=r.restore_until.isoformat() if r.restore_until else None,
            department_id=r.department_id,
            department=r.department,
            checklist_done=progress[r.id].done if r.id in progress else None,
            checklist_total=progress[r.id].total if r.id in progress else None,
            signed_off=list(signed.get(r.id, [])),
        )
        for r in rows
    ]
    return ExitPage(total, limit, offset, items)


def exit_filters(
    conn: Connection,
    tenant_id: int,
    *,
    state: str | Sequence[str] | None = None,
    query: str | None = None,
    department_id: int | None = None,
    subdepartments: bool = True,
    reason_category: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the exits list over exits joined to the leaver (members) and their
    primary membership (member_departments); every value is checked first, with a stable code."""
    where: list[ColumnElement[bool]] = [exits.c.tenant_id == tenant_id]
    states = [state] if isinstance(state, str) else list(state or [])
    if states := [s for s in states if s]:
        where.append(exits.c.state.in_([v.choice(s, ExitState, "state") for s in states]))
    if reason_category:
        where.append(exits.c.reason_category == v.choice(reason_category, ReasonCategory, "reason"))
    if query and (text := v.clean(query, "search")):
        # The query is text to find, not a pattern: % _ and the escape character match themselves.
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(or_(members.c.userid.ilike(like, escape="\\"), members.c.name.ilike(like, escape="\\")))
    if department_id is not None:
        path = repo.department_by_id(conn, tenant_id, department_id).path
        primary = member_departments.c.department_id
        if subdepartments:
            inside = select(departments.c.id).where(departments.c.tenant_id == tenant_id, departments.c.path >= path, departments.c.path < subtree_upper_bound(path))
            where.append(primary.in_(inside))
        else:
            where.append(primary == department_id)
    first, last = _day(since, "from"), _day(until, "to")
    if first and last and first > last:
        raise error(ValidationError, "invalid_date_range", "The date range ends ({until}) before it starts ({since}).", since=since, until=until)
    if first or last:
        tz = ZoneInfo(conn.execute(select(tenants.c.timezone).where(tenants.c.id == tenant_id)).scalar_one())
        if first and first > date.min:
            where.append(exits.c.effective_at >= datetime.combine(first, time.min, tz))
        if last and last < date.max:
            where.append(exits.c.effective_at < datetime.combine(last + timedelta(days=1), time.min, tz))
    return where


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise error(ValidationError, "invalid_date", "{field} must be a date like 2026-05-31, not {value!r}.", field=field, value=value)


KIND_ORDER = case({k.value: i for i, k in enumerate(ResourceKind)}, value=transfer_ledger.c.kind, else_=len(ResourceKind))


def ledger(
    conn: Connection,
    tenant_id: int,
    actor: Actor,
    exit_id: int,
    *,
    kind: str | None = None,
    state: str | None = None,
    to: int | None = None,
    current: bool = False,
    grouped: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> LedgerPage:
    """The transfer ledger of an exit, filtered by kind, state and acceptor (a member id), paged,
    each resource named; with `current`, only the newest row of each resource (what is still to
    do or done), not the rows a later inheritance superseded; `grouped` orders by kind first."""
    row = repo.exit_by_id(conn, tenant_id, exit_id)
    member = repo.member_by_id(conn, tenant_id, row.member_id)
    if actor.member_id != member.id:
        require(actor, Action.READ_DIRECTORY, target_of(conn, tenant_id, member))
    if not 1 <= limit <= 1000 or offset < 0:
        raise error(ValidationError, "invalid_page", "limit must be 1-{max} and offset 0 or more.", max=1000)
    L = transfer_ledger
    where = [latest_rows(tenant_id, exit_id)] if current else [L.c.tenant_id == tenant_id, L.c.exit_id == exit_id]
    if kind:
        where.append(L.c.kind == v.choice(kind, ResourceKind, "kind"))
    if state:
        where.append(L.c.state == v.choice(state, LedgerState, "state"))
    if to is not None:
        where.append(L.c.to_member_id == to)
    total = conn.execute(select(func.count()).select_from(L).where(*where)).scalar_one()
    receiver = members.alias("to_member")
    rows = conn.execute(
        select(L, receiver.c.userid.label("to_userid"), receiver.c.name.label("to_name"))
        .select_from(L.outerjoin(receiver, and_(receiver.c.tenant_id == L.c.tenant_id, receiver.c.id == L.c.to_member_id)))
        .where(*where)
        .order_by(*([KIND_ORDER] if grouped else []), L.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    wanted: dict[str, set[int]] = {}
    for r in rows:
        wanted.setdefault(r.kind, set()).add(r.resource_id)
    names = names_of(conn, tenant_id, wanted)
    items = [
        LedgerRow(
            id=r.id,
            kind=r.kind,
            resource_id=r.resource_id,
            to=r.to_userid,
            state=r.state,
            correlation_id=r.correlation_id,
            version_after=r.version_after,
            created_at=r.created_at.isoformat(),
            updated_at=r.updated_at.isoformat(),
            step_id=r.step_id,
            changed_step_id=r.changed_step_id,
            resource=names.get((r.kind, r.resource_id)),
            to_id=r.to_member_id,
            to_name=r.to_name,
        )
        for r in rows
    ]
    return LedgerPage(total, limit, offset, items)
