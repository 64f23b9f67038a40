"""Reading the planner's snapshot (offboard.domain.planning.Snapshot) in a few queries."""

from __future__ import annotations

from collections.abc import Iterable, Set
from datetime import datetime, timedelta

from sqlalchemy import Connection, Row, and_, func, select

from offboard.domain.org import covered
from offboard.domain.planning import Person, Snapshot
from offboard.domain.policy import Policy
from offboard.domain.vocabulary import OPEN_EXIT_STATES, MemberStatus, Role, RoleStatus, SuperAdminRank
from offboard.store import repo
from offboard.store.tables import api_tokens, departments, exits, external_contacts, members, roles
from offboard.store.transfers import count_owned

RECENT_TOKEN_USE = timedelta(days=30)


def people(conn: Connection, tenant_id: int, member_ids: Iterable[int], leaving: Set[int] = frozenset()) -> dict[int, Person]:
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    open_exit = select(exits.c.id).where(exits.c.tenant_id == members.c.tenant_id, exits.c.member_id == members.c.id, exits.c.state.in_([s.value for s in OPEN_EXIT_STATES])).exists()
    customers = select(func.count()).where(external_contacts.c.tenant_id == members.c.tenant_id, external_contacts.c.owner_id == members.c.id).scalar_subquery()
    rows = conn.execute(
        select(members.c.id, members.c.userid, members.c.status, open_exit.label("leaving"), customers.label("customers")).where(members.c.tenant_id == tenant_id, members.c.id.in_(ids))
    )
    return {r.id: Person(r.id, r.userid, r.status, bool(r.leaving) or r.id in leaving, r.customers) for r in rows}


def snapshot(
    conn: Connection,
    tenant: Row,
    member: Row,
    named: Iterable[int],
    now: datetime,
    leaving: Set[int] = frozenset(),
    owned: dict | None = None,
) -> Snapshot:
    tid = tenant.id
    member_roles = repo.member_roles(conn, tid, member.id)
    holds_super = any(r.role == Role.SUPER_ADMIN and r.status == RoleStatus.ACTIVE for r in member_roles)
    backup = conn.execute(
        select(func.count())
        .select_from(roles.join(members, and_(members.c.tenant_id == roles.c.tenant_id, members.c.id == roles.c.member_id)))
        .where(
            roles.c.tenant_id == tid,
            roles.c.role == Role.SUPER_ADMIN,
            roles.c.rank == SuperAdminRank.BACKUP,
            roles.c.status == RoleStatus.ACTIVE,
            members.c.status == MemberStatus.ACTIVE,
            members.c.id != member.id,
        )
    ).scalar_one()
    named = set(named)
    found = people(conn, tid, named | ({member.manager_id} if member.manager_id else set()), leaving)
    paths = [r.path for r in repo.member_department_rows(conn, tid, member.id)]
    emptied = []
    if paths and member.status in (MemberStatus.ACTIVE, MemberStatus.FROZEN):
        emptied = list(
            conn.execute(select(departments.c.name).where(departments.c.tenant_id == tid, departments.c.id.in_(covered(paths)), departments.c.headcount <= 1).order_by(departments.c.path)).scalars()
        )
    recent_tokens = conn.execute(
        select(func.count()).where(
            api_tokens.c.tenant_id == tid,
            api_tokens.c.member_id == member.id,
            api_tokens.c.revoked_at.is_(None),
            api_tokens.c.last_used_at >= now - RECENT_TOKEN_USE,
        )
    ).scalar_one()
    return Snapshot(
        member_id=member.id,
        userid=member.userid,
        status=member.status,
        holds_super_admin=holds_super,
        active_super_admins=repo.active_super_admin_count(conn, tid),
        has_backup_super_admin=bool(backup),
        manager=found.get(member.manager_id) if member.manager_id else None,
        owned=owned if owned is not None else count_owned(conn, tid, member.id),
        people={k: v for k, v in found.items() if k in named},
        emptied_departments=tuple(emptied),
        recent_personal_tokens=recent_tokens,
        policy=Policy.of(tenant.profile, tenant.policy),
    )
