"""Row locks (SPEC §10). On SQLite every write transaction already holds the database's
write lock (BEGIN IMMEDIATE), so these are no-ops there."""

from __future__ import annotations

from sqlalchemy import Connection, select

from offboard.store.tables import members, tenants


def lock_tenant(conn: Connection, tenant_id: int) -> None:
    """The tenant lock: taken by what can change the number of super admins, and by the audit append.

    FOR NO KEY UPDATE, not FOR UPDATE: lockers still exclude each other, but a transaction that
    inserted a row referencing the tenant (its foreign key check holds KEY SHARE on the tenant
    row) no longer blocks the audit append of another, which deadlocked parallel writes.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update(key_share=True))


def lock_member(conn: Connection, tenant_id: int, member_id: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            select(members.c.id).where(members.c.tenant_id == tenant_id, members.c.id == member_id).with_for_update(key_share=True)
        )
