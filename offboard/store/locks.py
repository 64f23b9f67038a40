"""Row locks (SPEC §10). On SQLite every write transaction already holds the database's
write lock (BEGIN IMMEDIATE), so these are no-ops there."""

from __future__ import annotations

from sqlalchemy import Connection, select

from offboard.store.tables import members, tenants


def lock_tenant(conn: Connection, tenant_id: int) -> None:
    """The tenant lock: taken by what can change the number of super admins, and by the audit append."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())


def lock_member(conn: Connection, tenant_id: int, member_id: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            select(members.c.id).where(members.c.tenant_id == tenant_id, members.c.id == member_id).with_for_update()
        )
