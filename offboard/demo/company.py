"""Building the demo enterprise 星河科技有限公司 (slug `demo`) through the service layer.

Three transactions, each audited: the tenant with zhangwei as its first super admin
(create_tenant, INV-1); the directory (departments, members, leaders, roles, credentials)
through the member and department actions; and the records, bulk-seeded set-wise with one
audit event per kind. Running it again changes nothing. A build interrupted between two
transactions is finished by the next run, since each step is all or nothing and the next
step can tell whether it ran.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Table, func, select

from offboard.actions import departments as dept_actions
from offboard.queries import directory as directory_q
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions.context import Services, tenant_transaction
from offboard.actions.tenants import create_tenant
from offboard.demo.org import COMPANY_NAME, CompanyPlan, plan_company
from offboard.demo.personas import DEFAULT_SEED, PERSONAS, PRIMARY_ADMIN, password_for, role_labels, totp_secret_for
from offboard.demo.records import seed_records
from offboard.demo.resources import seed_resources
from offboard.demo.seeding import make_seeder
from offboard.domain.authz import OPERATOR
from offboard.domain.errors import Conflict, error
from offboard.store import repo
from offboard.store.tables import (
    RESOURCE_TABLES,
    app_grants,
    attendance_records,
    audit_events,
    departments,
    devices,
    internal_group_members,
    members,
    messages,
    reimbursements,
    roles,
    tenants,
)

DEMO_SLUG = "demo"
SEEDED = "demo.seeded"

RECORD_TABLES = {
    "internal_group_member": internal_group_members,
    "message": messages,
    "attendance_record": attendance_records,
    "reimbursement": reimbursements,
    "app_grant": app_grants,
    "device": devices,
}


def build_demo(services: Services, *, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Create the demo enterprise if it is absent (or finish an interrupted build); return its summary."""
    started = time.perf_counter()
    step = _progress(services)
    if step != "done":
        plan = plan_company(seed)
        if step == "absent":
            create_tenant(
                services,
                slug=DEMO_SLUG,
                name=COMPANY_NAME,
                admin_userid=PRIMARY_ADMIN.userid,
                admin_name=PRIMARY_ADMIN.name,
                region="cn",
                profile="wecom",
                timezone="Asia/Shanghai",
            )
            step = "tenant"
        if step == "tenant":
            _build_directory(services, plan, seed)
        _seed(services, plan, seed)
    summary = demo_summary(services, seed=seed)
    summary["created"] = step != "done"
    summary["seconds"] = round(time.perf_counter() - started, 3) if step != "done" else None
    return summary


def _progress(services: Services) -> str:
    """absent | tenant (directory not built) | directory (records not seeded) | done."""
    with services.db.read() as conn:
        tenant = conn.execute(select(tenants).where(tenants.c.slug == DEMO_SLUG)).first()
        if tenant is None:
            return "absent"
        admin = conn.execute(select(func.count()).where(members.c.tenant_id == tenant.id, members.c.userid == PRIMARY_ADMIN.userid)).scalar_one()
        if not admin:
            raise error(
                Conflict,
                "demo_slug_taken",
                "An enterprise with slug {slug!r} exists but is not the demo company; use another database for the demo.",
                slug=DEMO_SLUG,
            )
        seeded = conn.execute(select(func.count()).where(audit_events.c.tenant_id == tenant.id, audit_events.c.action == SEEDED)).scalar_one()
        if seeded:
            return "done"
        depts = conn.execute(select(func.count()).where(departments.c.tenant_id == tenant.id)).scalar_one()
        return "directory" if depts > 1 else "tenant"


def _build_directory(services: Services, plan: CompanyPlan, seed: int) -> None:
    with tenant_transaction(services, DEMO_SLUG) as uow:
        root = plan.departments[0]
        ids = {root.name: directory_q.list_departments(uow.conn, uow.tenant_id, OPERATOR)[0].id}
        for d in plan.departments[1:]:
            assert d.parent is not None, "only the root department has no parent"
            ids[d.name] = dept_actions.add_department(uow, d.name, ids[d.parent])
        for m in plan.members:
            profile = {"email": m.email, "mobile": m.mobile, "title": m.title}
            if m.userid == PRIMARY_ADMIN.userid:  # created with the tenant: complete his profile
                member_actions.update_member(uow, m.userid, changes=profile)
                continue
            member_actions.add_member(
                uow,
                userid=m.userid,
                name=m.name,
                department_ids=[ids[n] for n in m.departments],
                manager_userid=m.manager,
                **profile,
            )
        for d in plan.departments:
            dept_actions.set_leader(uow, ids[d.name], d.leader)
        for p in PERSONAS:
            if p.role and p is not PRIMARY_ADMIN:
                role_actions.grant_role(uow, p.userid, p.role, rank=p.rank)
            member_actions.set_credentials(uow, p.userid, password=password_for(p.userid, seed), totp_secret=totp_secret_for(p.userid, seed))


def _seed(services: Services, plan: CompanyPlan, seed: int) -> None:
    with tenant_transaction(services, DEMO_SLUG) as uow:
        seeder = make_seeder(uow, plan, seed)
        seed_resources(seeder)
        seed_records(seeder)


def demo_logins(services: Services, *, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Each persona's userid, name, roles (as stored), password and TOTP secret (from the seed)."""
    with services.db.read() as conn:
        tenant = repo.tenant_by_slug(conn, DEMO_SLUG)
        rows = conn.execute(
            select(members.c.userid, roles.c.role, roles.c.rank)
            .join(roles, (roles.c.tenant_id == members.c.tenant_id) & (roles.c.member_id == members.c.id))
            .where(members.c.tenant_id == tenant.id, members.c.userid.in_([p.userid for p in PERSONAS]), roles.c.status == "active", members.c.status == "active")
        ).all()
    held: dict[str, list[tuple[str, str | None]]] = {}
    for r in rows:
        held.setdefault(r.userid, []).append((r.role, r.rank))
    return [
        {"userid": p.userid, "name": p.name, "roles": role_labels(held.get(p.userid, [])), "password": password_for(p.userid, seed), "totp_secret": totp_secret_for(p.userid, seed)} for p in PERSONAS
    ]


def demo_summary(services: Services, *, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    with services.db.read() as conn:
        tenant = repo.tenant_by_slug(conn, DEMO_SLUG)
        tree = directory_q.list_departments(conn, tenant.id, OPERATOR)
        counts = record_counts(conn, tenant.id)
    return {
        "tenant": {
            "id": tenant.id,
            "slug": tenant.slug,
            "name": tenant.name,
            "region": tenant.region,
            "profile": tenant.profile,
            "timezone": tenant.timezone,
            "status": tenant.status,
            "audit_events": tenant.audit_seq,
        },
        "departments": tree,
        "logins": demo_logins(services, seed=seed),
        "counts": counts,
    }


def record_counts(conn: Connection, tenant_id: int) -> dict[str, int]:
    """Rows per kind: the directory, the transferable resources (SPEC §3.1) and the subject records."""

    def count(table: Table, *where: Any) -> int:
        return conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id, *where)).scalar_one()

    counts = {"department": count(departments), "member": count(members)}
    counts.update({kind: count(table) for kind, table in RESOURCE_TABLES.items()})
    counts["direct_report"] = count(members, members.c.manager_id.is_not(None))
    counts["department_leader"] = count(departments, departments.c.leader_id.is_not(None))
    counts.update({kind: count(table) for kind, table in RECORD_TABLES.items()})
    return counts
