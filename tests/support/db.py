"""Looking at the database directly: row counts, the audit head, the shape of the tree."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from offboard.actions.context import Services
from offboard.domain.org import child_path
from offboard.store.org import actual_headcounts
from offboard.store.tables import audit_events, departments, member_departments, members, metadata, tenants


def table_counts(conn: Connection) -> dict[str, int]:
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables}


def snapshot(services: Services) -> dict:
    """Everything a failed change must leave as it was: every table's row count and every audit head."""
    with services.db.read() as conn:
        heads = conn.execute(select(tenants.c.slug, tenants.c.audit_seq, tenants.c.audit_head).order_by(tenants.c.slug)).all()
        return {"counts": table_counts(conn), "heads": [tuple(h) for h in heads]}


def audit_seq(services: Services, slug: str) -> int:
    with services.db.read() as conn:
        return conn.execute(select(tenants.c.audit_seq).where(tenants.c.slug == slug)).scalar_one()


def actions_since(services: Services, slug: str, after_seq: int) -> list[str]:
    with services.db.read() as conn:
        tid = conn.execute(select(tenants.c.id).where(tenants.c.slug == slug)).scalar_one()
        return list(conn.execute(select(audit_events.c.action).where(audit_events.c.tenant_id == tid, audit_events.c.seq > after_seq).order_by(audit_events.c.seq)).scalars())


def tree_problems(conn: Connection, tenant_id: int) -> list[str]:
    """Stored headcounts that differ from a recount, and paths or depths that differ from the parent's."""
    rows = {r.id: r for r in conn.execute(select(departments).where(departments.c.tenant_id == tenant_id))}
    problems = []
    actual = actual_headcounts(conn, tenant_id)
    for dept_id, row in rows.items():
        if row.headcount != actual[dept_id]:
            problems.append(f"department {dept_id}: headcount {row.headcount}, recount {actual[dept_id]}")
        parent = rows.get(row.parent_id) if row.parent_id is not None else None
        want_path = child_path(parent.path if parent else None, dept_id)
        want_depth = parent.depth + 1 if parent else 0
        if row.path != want_path or row.depth != want_depth:
            problems.append(f"department {dept_id}: path {row.path} depth {row.depth}, want {want_path} depth {want_depth}")
    return problems


def department_members(services: Services, slug: str, name: str) -> list[tuple[str, str]]:
    """(userid, name) of the active members of the department called `name`, by userid."""
    with services.db.read() as conn:
        tenant_id = conn.execute(select(tenants.c.id).where(tenants.c.slug == slug)).scalar_one()
        rows = conn.execute(
            select(members.c.userid, members.c.name)
            .join(member_departments, (member_departments.c.tenant_id == members.c.tenant_id) & (member_departments.c.member_id == members.c.id))
            .join(departments, (departments.c.tenant_id == member_departments.c.tenant_id) & (departments.c.id == member_departments.c.department_id))
            .where(members.c.tenant_id == tenant_id, departments.c.name == name, members.c.status == "active")
            .order_by(members.c.userid)
        )
        return [(r.userid, r.name) for r in rows]
