"""The directory around members: the department tree, the enterprises, the API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from offboard.actions.context import Services
from offboard.actions.tenants import require_operator
from offboard.domain.authz import OPERATOR, Action, Actor, require
from offboard.domain.vocabulary import Role
from offboard.store.tables import api_tokens, departments, members, tenants


@dataclass(frozen=True)
class DepartmentNode:
    id: int
    parent_id: int | None
    name: str
    path: str
    depth: int
    status: str
    headcount: int
    leader: str | None  # the leader's userid


@dataclass(frozen=True)
class TenantSummary:
    id: int
    slug: str
    name: str
    region: str
    profile: str
    timezone: str
    status: str
    members: int  # active and frozen
    audit_events: int


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    owner: str | None  # the owner's userid; None for a tenant service token
    service: bool
    prefix: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


def list_departments(conn: Connection, tenant_id: int, actor: Actor) -> list[DepartmentNode]:
    """The tree in path order (a parent before its children)."""
    require(actor, Action.READ_DIRECTORY)
    leaders = departments.outerjoin(members, (members.c.tenant_id == departments.c.tenant_id) & (members.c.id == departments.c.leader_id))
    rows = conn.execute(select(departments, members.c.userid.label("leader")).select_from(leaders).where(departments.c.tenant_id == tenant_id).order_by(departments.c.path))
    return [DepartmentNode(r.id, r.parent_id, r.name, r.path, r.depth, r.status, r.headcount, r.leader) for r in rows]


def list_tenants(services: Services, actor: Actor = OPERATOR) -> list[TenantSummary]:
    require_operator(actor)
    with services.db.read() as conn:
        counts = select(members.c.tenant_id, func.count().label("n")).where(members.c.status.in_(["active", "frozen"])).group_by(members.c.tenant_id).subquery()
        rows = conn.execute(select(tenants, func.coalesce(counts.c.n, 0).label("members")).outerjoin(counts, counts.c.tenant_id == tenants.c.id).order_by(tenants.c.slug))
        return [TenantSummary(r.id, r.slug, r.name, r.region, r.profile, r.timezone, r.status, r.members, r.audit_seq) for r in rows]


def list_tokens(conn: Connection, tenant_id: int, actor: Actor) -> list[TokenInfo]:
    """A member sees their own tokens; a super admin (and the operator) every token."""
    query = (
        select(api_tokens, members.c.userid)
        .select_from(api_tokens.outerjoin(members, (members.c.tenant_id == api_tokens.c.tenant_id) & (members.c.id == api_tokens.c.member_id)))
        .where(api_tokens.c.tenant_id == tenant_id)
        .order_by(api_tokens.c.id)
    )
    if actor.kind == "member" and not actor.has(Role.SUPER_ADMIN):
        query = query.where(api_tokens.c.member_id == actor.member_id)
    return [
        TokenInfo(
            id=r.id,
            name=r.name,
            owner=r.userid,
            service=r.member_id is None,
            prefix=r.prefix,
            scopes=r.scopes,
            created_at=r.created_at.isoformat(),
            expires_at=r.expires_at.isoformat() if r.expires_at else None,
            last_used_at=r.last_used_at.isoformat() if r.last_used_at else None,
            revoked_at=r.revoked_at.isoformat() if r.revoked_at else None,
        )
        for r in conn.execute(query)
    ]
