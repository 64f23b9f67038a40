"""Reading the planner's snapshot (offboard.domain.planning.Snapshot) in a few queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Connection, Row, and_, bindparam, exists, func, select

from offboard.domain.org import covered
from offboard.domain.handover import HandoverState
from offboard.domain.planning import Person, Snapshot
from offboard.domain.policy import Policy
from offboard.domain.vocabulary import OPEN_EXIT_STATES, MemberStatus, Role, RoleStatus, SuperAdminRank
from offboard.store import repo
from offboard.store.tables import admin_handovers, api_tokens, departments, exits, external_contacts, members, roles
from offboard.store.transfers import among, count_owned
from offboard.store.types import UTCDateTime

RECENT_TOKEN_USE = timedelta(days=30)

# Built once with bind parameters: every plan, and every exit's re-check of its plan, runs them.
_TENANT = bindparam("tenant", type_=BigInteger())
_MEMBER = bindparam("member", type_=BigInteger())


def _active_super_admins():
    return (
        select(func.count())
        .select_from(roles.join(members, and_(members.c.tenant_id == roles.c.tenant_id, members.c.id == roles.c.member_id)))
        .where(roles.c.tenant_id == _TENANT, roles.c.role == Role.SUPER_ADMIN, roles.c.status == RoleStatus.ACTIVE, members.c.status == MemberStatus.ACTIVE)
    )


# What the plan needs to know about the leaver's roles and tokens and the tenant's super
# admins (R-EXIT-3, R-ADM-3), in one statement.
_FACTS = select(
    exists().where(roles.c.tenant_id == _TENANT, roles.c.member_id == _MEMBER, roles.c.role == Role.SUPER_ADMIN, roles.c.status == RoleStatus.ACTIVE).label("holds_super"),
    _active_super_admins().scalar_subquery().label("super_admins"),
    _active_super_admins().where(roles.c.rank == SuperAdminRank.BACKUP, members.c.id != _MEMBER).scalar_subquery().label("backups"),
    select(func.count())
    .where(
        api_tokens.c.tenant_id == _TENANT,
        api_tokens.c.member_id == _MEMBER,
        api_tokens.c.revoked_at.is_(None),
        api_tokens.c.last_used_at >= bindparam("used_since", type_=UTCDateTime()),
    )
    .scalar_subquery()
    .label("recent_tokens"),
    # R-ADM-1: the successor a handover from the leaver waits for; R-ADM-2: the end of the
    # emergency window the leaver holds.
    select(members.c.userid)
    .select_from(admin_handovers.join(members, and_(members.c.tenant_id == admin_handovers.c.tenant_id, members.c.id == admin_handovers.c.to_member_id)))
    .where(admin_handovers.c.tenant_id == _TENANT, admin_handovers.c.from_member_id == _MEMBER, admin_handovers.c.state == HandoverState.PENDING)
    .limit(1)
    .scalar_subquery()
    .label("pending_to"),
    select(func.max(admin_handovers.c.window_until))
    .where(
        admin_handovers.c.tenant_id == _TENANT,
        admin_handovers.c.from_member_id == _MEMBER,
        admin_handovers.c.state == HandoverState.COMPLETED,
        admin_handovers.c.window_closed_at.is_(None),
        admin_handovers.c.window_until > bindparam("now", type_=UTCDateTime()),
    )
    .scalar_subquery()
    .label("window_until"),
)
_OPEN_EXIT = select(exits.c.id).where(exits.c.tenant_id == members.c.tenant_id, exits.c.member_id == members.c.id, among(exits.c.state, OPEN_EXIT_STATES)).exists()
_CUSTOMERS = select(func.count()).where(external_contacts.c.tenant_id == members.c.tenant_id, external_contacts.c.owner_id == members.c.id).scalar_subquery()
_PEOPLE = select(members.c.id, members.c.userid, members.c.status, _OPEN_EXIT.label("leaving"), _CUSTOMERS.label("customers")).where(
    members.c.tenant_id == _TENANT, members.c.id.in_(bindparam("ids", expanding=True))
)
_EMPTIED = select(departments.c.name).where(departments.c.tenant_id == _TENANT, departments.c.id.in_(bindparam("ids", expanding=True)), departments.c.headcount <= 1).order_by(departments.c.path)


def local_minute(at: datetime | None, tz: str) -> str | None:
    """A time as the enterprise reads it (its time zone, to the minute)."""
    if at is None:
        return None
    if at.tzinfo is None:  # SQLite hands an aggregate back as it stored it: UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def people(conn: Connection, tenant_id: int, member_ids: Iterable[int], leaving: Set[int] = frozenset()) -> dict[int, Person]:
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    rows = conn.execute(_PEOPLE, {"tenant": tenant_id, "ids": ids})
    return {r.id: Person(r.id, r.userid, r.status, bool(r.leaving) or r.id in leaving, r.customers) for r in rows}


def snapshot(
    conn: Connection,
    tenant: Row,
    member: Row,
    named: Iterable[int],
    now: datetime,
    leaving: Set[int] = frozenset(),
    owned: dict | None = None,
    *,
    paths: Sequence[str] | None = None,
) -> Snapshot:
    """`owned` (counts per kind) and `paths` (the member's department paths) when the caller
    has just read them."""
    tid = tenant.id
    facts = conn.execute(_FACTS, {"tenant": tid, "member": member.id, "used_since": now - RECENT_TOKEN_USE, "now": now}).one()
    named = set(named)
    found = people(conn, tid, named | ({member.manager_id} if member.manager_id else set()), leaving)
    if paths is None:
        paths = [r.path for r in repo.member_department_rows(conn, tid, member.id)]
    emptied = []
    if paths and member.status in (MemberStatus.ACTIVE, MemberStatus.FROZEN):
        emptied = list(conn.execute(_EMPTIED, {"tenant": tid, "ids": sorted(covered(paths))}).scalars())
    return Snapshot(
        member_id=member.id,
        userid=member.userid,
        status=member.status,
        holds_super_admin=bool(facts.holds_super),
        active_super_admins=facts.super_admins,
        has_backup_super_admin=bool(facts.backups),
        manager=found.get(member.manager_id) if member.manager_id else None,
        owned=owned if owned is not None else count_owned(conn, tid, member.id),
        people={k: v for k, v in found.items() if k in named},
        emptied_departments=tuple(emptied),
        recent_personal_tokens=facts.recent_tokens,
        handover_pending_to=facts.pending_to,
        emergency_until=local_minute(facts.window_until, tenant.timezone),
        policy=Policy.of(tenant.profile, tenant.policy),
    )
