"""Creating and listing tenants. A tenant is born with its first super admin (INV-1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from offboard.actions.context import Services, tenant_transaction
from offboard.actions.members import insert_member
from offboard.actions.roles import insert_role
from offboard.audit.chain import GENESIS
from offboard.domain import policy as policies
from offboard.domain import validation as v
from offboard.domain.authz import OPERATOR, Action, Actor, require
from offboard.domain.errors import Conflict, Forbidden, error
from offboard.domain.org import child_path
from offboard.domain.vocabulary import DepartmentStatus, Role, SuperAdminRank, TenantStatus
from offboard.store import ids
from offboard.store.tables import departments, tenants


@dataclass(frozen=True)
class TenantCreated:
    id: int
    slug: str
    name: str
    region: str
    profile: str
    timezone: str
    root_department_id: int
    admin_member_id: int


def create_tenant(
    services: Services,
    *,
    slug: str,
    name: str,
    admin_userid: str,
    admin_name: str,
    region: str = "cn",
    profile: str = "wecom",
    timezone: str = "Asia/Shanghai",
    policy_overrides: dict[str, Any] | None = None,
    actor: Actor = OPERATOR,
) -> TenantCreated:
    """Create a tenant with its root department and its primary super admin, in one transaction.
    Enterprises are the operator's (SPEC §3.2): a credential bound to an enterprise never qualifies."""
    require_operator(actor)
    slug = v.slug(slug)
    name = v.name(name, "enterprise name")
    region = v.region(region)
    timezone = v.timezone(timezone)
    admin_userid = v.userid(admin_userid)
    admin_name = v.name(admin_name, "admin name")
    policy = policies.apply_overrides(policies.preset(profile), policy_overrides or {})
    now = services.clock.now()

    def insert_tenant(conn: Connection) -> None:
        if conn.execute(select(func.count()).where(tenants.c.slug == slug)).scalar_one():
            raise error(Conflict, "duplicate_slug", "An enterprise with slug {slug!r} already exists.", slug=slug)
        conn.execute(
            insert(tenants).values(
                id=ids.tenant_id_value(conn),
                slug=slug,
                name=name,
                region=region,
                timezone=timezone,
                profile=profile,
                policy=policy,
                status=TenantStatus.ACTIVE,
                audit_seq=0,
                audit_head=GENESIS,
                created_at=now,
            )
        )

    with tenant_transaction(services, slug, create=insert_tenant) as uow:
        conn, tenant_id = uow.conn, uow.tenant_id
        uow.audit("tenant.created", [f"tenant:{tenant_id}"], {"slug": slug, "name": name, "region": region, "profile": profile, "timezone": timezone})
        root_id = ids.next_id(conn, departments, tenant_id)
        conn.execute(
            insert(departments).values(
                tenant_id=tenant_id,
                id=root_id,
                parent_id=None,
                name=name,
                path=child_path(None, root_id),
                depth=0,
                status=DepartmentStatus.ACTIVE,
                headcount=0,
                created_at=now,
            )
        )
        uow.audit("department.added", [f"department:{root_id}"], {"name": name, "parent_id": None})
        admin_id = insert_member(uow, userid=admin_userid, name=admin_name, region=region, department_ids=[root_id])
        insert_role(uow, admin_id, Role.SUPER_ADMIN, rank=SuperAdminRank.PRIMARY)
    return TenantCreated(tenant_id, slug, name, region, profile, timezone, root_id, admin_id)


def require_operator(actor: Actor) -> None:
    if actor.kind != "operator":
        raise error(Forbidden, "operator_only", "Only the operator (a token bound to no enterprise) manages enterprises.")
    require(actor, Action.TENANT_ADMIN)
