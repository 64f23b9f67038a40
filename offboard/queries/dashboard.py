"""The overview an HR team reads first: exits per month by reason and by department, the open
checklist items of open exits by the role that owns them, the restore windows about to end, the
scheduled exits ahead and the customer transfers still waiting or refused.

Each figure is one set-based statement over every exit of the enterprise (the checklist, four
grouped ones), the same on SQLite and PostgreSQL: month boundaries are computed here in the
enterprise's time zone and the database only compares UTC times with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Connection, and_, case, func, select

from offboard.domain import checklist as cl
from offboard.domain.authz import Action, Actor, require
from offboard.domain.vocabulary import ExitState, LedgerState, ReasonCategory, ResourceKind, Role
from offboard.queries.checklist_facts import statuses_of_exits
from offboard.queries.exits import MemberRef
from offboard.store.rows import AnyRow
from offboard.store.tables import departments, exits, member_departments, members, transfer_ledger

MONTHS = 12
# Exits that took effect and stand: a restored exit was undone, a cancelled one never happened.
STANDING = (ExitState.OPEN, ExitState.FINALIZED)
RESTORE_ENDING = timedelta(hours=24)
SCHEDULED_AHEAD = timedelta(days=30)
CUSTOMER_KINDS = (ResourceKind.EXTERNAL_CONTACT, ResourceKind.CUSTOMER_GROUP)
TRANSFER_STATES = (LedgerState.WAITING, LedgerState.REFUSED, LedgerState.ACCEPTOR_FULL)


@dataclass(frozen=True)
class Month:
    key: str  # 2026-11
    first: str  # the first and last day, YYYY-MM-DD in the enterprise's time zone
    last: str


@dataclass(frozen=True)
class ReasonSeries:
    reason_category: str
    counts: list[int]  # one per month, oldest first
    total: int


@dataclass(frozen=True)
class DepartmentSeries:
    """Exits whose leaver's primary department lies in this top-level department (a child of the
    root), or is the root itself (then `subtree` is false: the root's own members only)."""

    department_id: int | None  # None: the leaver has no primary department
    name: str | None
    subtree: bool
    counts: list[int]
    total: int


@dataclass(frozen=True)
class ExitsByMonth:
    months: list[Month]
    states: list[str]  # the exit states counted
    by_reason: list[ReasonSeries]  # every reason category, in the vocabulary's order
    by_department: list[DepartmentSeries]  # departments with exits, most first
    total: int


@dataclass(frozen=True)
class OpenItems:
    role: str  # hr | it
    items: int  # open items (every item but 11, which finalization completes)
    exits: int  # open exits with at least one of them


@dataclass(frozen=True)
class DueExit:
    exit_id: int
    member: MemberRef
    at: str  # when the restore window ends, or when the scheduled exit takes effect


@dataclass(frozen=True)
class TransferCount:
    kind: str
    state: str
    count: int


@dataclass(frozen=True)
class TransferExit:
    """An exit with customer transfers in one of TRANSFER_STATES."""

    exit_id: int
    member: MemberRef
    kind: str
    state: str
    count: int


@dataclass(frozen=True)
class CustomerTransfers:
    counts: list[TransferCount]  # every customer kind and state, zeros included
    exits: list[TransferExit]


@dataclass(frozen=True)
class Dashboard:
    timezone: str
    now: str
    exits_by_month: ExitsByMonth
    open_items: list[OpenItems]  # hr, then it
    restore_ending: list[DueExit]  # restore windows ending within RESTORE_ENDING, soonest first
    scheduled: list[DueExit]  # scheduled exits taking effect within SCHEDULED_AHEAD, soonest first
    customer_transfers: CustomerTransfers


def dashboard(conn: Connection, tenant: AnyRow, actor: Actor, now: datetime) -> Dashboard:
    require(actor, Action.READ_DIRECTORY)
    return Dashboard(
        timezone=tenant.timezone,
        now=now.isoformat(),
        exits_by_month=exits_by_month(conn, tenant, now),
        open_items=open_items(conn, tenant.id, now),
        restore_ending=_due(conn, tenant.id, ExitState.OPEN, exits.c.restore_until, now + RESTORE_ENDING, after=now),
        scheduled=_due(conn, tenant.id, ExitState.SCHEDULED, exits.c.effective_at, now + SCHEDULED_AHEAD),
        customer_transfers=customer_transfers(conn, tenant.id),
    )


def month_starts(now: datetime, tz: str, months: int = MONTHS) -> list[date]:
    """The first days of the last `months` months up to the current one, and of the next."""
    local = now.astimezone(ZoneInfo(tz)).date()
    index = local.year * 12 + local.month - 1 - (months - 1)
    return [date((index + i) // 12, (index + i) % 12 + 1, 1) for i in range(months + 1)]


def exits_by_month(conn: Connection, tenant: AnyRow, now: datetime) -> ExitsByMonth:
    tz = ZoneInfo(tenant.timezone)
    starts = month_starts(now, tenant.timezone)
    bounds = [datetime.combine(day, time.min, tz) for day in starts]
    at = exits.c.effective_at
    bucket = case(*[(at < b, i) for i, b in enumerate(bounds[1:-1])], else_=len(bounds) - 2).label("month")
    within = [exits.c.tenant_id == tenant.id, exits.c.state.in_(list(STANDING)), at >= bounds[0], at < bounds[-1]]

    # Grouped outside a subquery: PostgreSQL cannot see that a CASE repeated in GROUP BY, with
    # its own bound parameters, is the one selected.
    reasons = {r.value: [0] * MONTHS for r in ReasonCategory}
    by_reason_q = select(bucket, exits.c.reason_category).where(*within).subquery()
    for month, reason, n in conn.execute(select(by_reason_q.c.month, by_reason_q.c.reason_category, func.count()).group_by(by_reason_q.c.month, by_reason_q.c.reason_category)):
        reasons.setdefault(reason, [0] * MONTHS)[month] += n

    md, own, top = member_departments, departments.alias("own"), departments.alias("top")
    unit_id = func.coalesce(top.c.id, own.c.id).label("unit_id")
    unit_name = func.coalesce(top.c.name, own.c.name).label("unit_name")
    leavers = (
        exits.outerjoin(md, and_(md.c.tenant_id == exits.c.tenant_id, md.c.member_id == exits.c.member_id, md.c.is_primary))
        .outerjoin(own, and_(own.c.tenant_id == md.c.tenant_id, own.c.id == md.c.department_id))
        .outerjoin(top, and_(top.c.tenant_id == own.c.tenant_id, top.c.depth == 1, func.substr(own.c.path, 1, func.length(top.c.path)) == top.c.path))
    )
    units: dict[int | None, tuple[str | None, list[int]]] = {}
    by_unit = select(bucket, unit_id, unit_name).select_from(leavers).where(*within).subquery()
    for month, unit, name, n in conn.execute(select(by_unit.c.month, by_unit.c.unit_id, by_unit.c.unit_name, func.count()).group_by(by_unit.c.month, by_unit.c.unit_id, by_unit.c.unit_name)):
        units.setdefault(unit, (name, [0] * MONTHS))[1][month] += n
    roots = set(conn.execute(select(departments.c.id).where(departments.c.tenant_id == tenant.id, departments.c.depth == 0)).scalars()) if units else set()
    by_department = [DepartmentSeries(unit, name, unit not in roots, counts, sum(counts)) for unit, (name, counts) in units.items()]
    by_department.sort(key=lambda s: (-s.total, s.name or ""))
    months = [Month(f"{d:%Y-%m}", d.isoformat(), (nxt - timedelta(days=1)).isoformat()) for d, nxt in zip(starts, starts[1:])]
    by_reason = [ReasonSeries(reason, counts, sum(counts)) for reason, counts in reasons.items()]
    return ExitsByMonth(months, [s.value for s in STANDING], by_reason, by_department, sum(s.total for s in by_reason))


def open_items(conn: Connection, tenant_id: int, now: datetime) -> list[OpenItems]:
    """Open items of every open exit by owner role, as the checklist board lists them."""
    rows = conn.execute(select(exits.c.id, exits.c.member_id, exits.c.state).where(exits.c.tenant_id == tenant_id, exits.c.state == ExitState.OPEN)).all()
    found = statuses_of_exits(conn, tenant_id, rows, now)
    result = []
    for role in cl.SIGNING_ROLES:
        per_exit = [sum(1 for s in cl.open_items_for_signoff(statuses) if s.item.owner == role) for statuses in found.values()]
        result.append(OpenItems(Role(role).value, sum(per_exit), sum(1 for n in per_exit if n)))
    return result


def _due(conn: Connection, tenant_id: int, state: ExitState, column: Column[Any], until: datetime, *, after: datetime | None = None) -> list[DueExit]:
    """Exits in `state` whose `column` comes at or before `until` (and, with `after`, later than
    it): a scheduled exit already due that the worker has not yet run is listed too."""
    where = [exits.c.tenant_id == tenant_id, exits.c.state == state, column <= until]
    if after is not None:
        where.append(column > after)
    rows = conn.execute(
        select(exits.c.id, column.label("at"), members.c.id.label("member_id"), members.c.userid, members.c.name)
        .join(members, and_(members.c.tenant_id == exits.c.tenant_id, members.c.id == exits.c.member_id))
        .where(*where)
        .order_by(column, exits.c.id)
    )
    return [DueExit(r.id, MemberRef(r.member_id, r.userid, r.name), r.at.isoformat()) for r in rows]


def customer_transfers(conn: Connection, tenant_id: int) -> CustomerTransfers:
    """Customers (external contacts, customer groups) whose newest ledger row in their exit is
    waiting for the platform, refused by the customer or refused as the acceptor is full."""
    L, newer = transfer_ledger, transfer_ledger.alias("newer")
    newest = select(func.max(newer.c.id)).where(newer.c.tenant_id == L.c.tenant_id, newer.c.exit_id == L.c.exit_id, newer.c.kind == L.c.kind, newer.c.resource_id == L.c.resource_id)
    rows = conn.execute(
        select(L.c.exit_id, L.c.kind, L.c.state, func.count().label("n"), members.c.id.label("member_id"), members.c.userid, members.c.name)
        .join(exits, and_(exits.c.tenant_id == L.c.tenant_id, exits.c.id == L.c.exit_id))
        .join(members, and_(members.c.tenant_id == exits.c.tenant_id, members.c.id == exits.c.member_id))
        .where(
            L.c.tenant_id == tenant_id,
            L.c.kind.in_([k.value for k in CUSTOMER_KINDS]),
            L.c.state.in_([s.value for s in TRANSFER_STATES]),
            L.c.id == newest.scalar_subquery(),
        )
        .group_by(L.c.exit_id, L.c.kind, L.c.state, members.c.id, members.c.userid, members.c.name)
        .order_by(L.c.exit_id, L.c.kind, L.c.state)
    ).all()
    totals = {(k.value, s.value): 0 for k in CUSTOMER_KINDS for s in TRANSFER_STATES}
    for r in rows:
        totals[(r.kind, r.state)] += r.n
    return CustomerTransfers(
        counts=[TransferCount(kind, state, n) for (kind, state), n in totals.items()],
        exits=[TransferExit(r.exit_id, MemberRef(r.member_id, r.userid, r.name), r.kind, r.state, r.n) for r in rows],
    )
