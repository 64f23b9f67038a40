"""Row locks (SPEC §10). On SQLite every write transaction already holds the database's
write lock (BEGIN IMMEDIATE), so these are no-ops there."""

from __future__ import annotations

from sqlalchemy import Connection, select

from offboard.store.tables import exits, members, tenants


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
        conn.execute(select(members.c.id).where(members.c.tenant_id == tenant_id, members.c.id == member_id).with_for_update(key_share=True))


def try_lock_member(conn: Connection, tenant_id: int, member_id: int) -> bool:
    """The member lock if it is free now (SKIP LOCKED): a worker passes over work someone else holds."""
    if conn.dialect.name != "postgresql":
        return True
    query = select(members.c.id).where(members.c.tenant_id == tenant_id, members.c.id == member_id)
    return conn.execute(query.with_for_update(key_share=True, skip_locked=True)).first() is not None


def try_lock_exit(conn: Connection, tenant_id: int, exit_id: int, *still_due) -> bool:
    """The exit row, if it is free now and still matches `still_due`: the claim of due work.
    On SQLite the write lock of the transaction already excludes every other worker."""
    query = select(exits.c.id).where(exits.c.tenant_id == tenant_id, exits.c.id == exit_id, *still_due)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True, skip_locked=True)
    return conn.execute(query).first() is not None


def lock_exit(conn: Connection, tenant_id: int, exit_id: int) -> None:
    """The exit row, held to the end of the transaction by a step that must not run twice at
    once on the same exit (two inheritances choosing the same unassigned resources). FOR NO KEY
    UPDATE: it excludes every other locker of the row, yet the ledger rows inserted meanwhile
    (whose foreign key check takes KEY SHARE on the exit) never wait for it."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(exits.c.id).where(exits.c.tenant_id == tenant_id, exits.c.id == exit_id).with_for_update(key_share=True))


def try_lock_exits(conn: Connection, tenant_id: int, exit_ids: list[int], member_ids: list[int], *still_due) -> list[int]:
    """Of these exits, those free now and still matching `still_due`, with their members: the
    claim of many items of due work at once (SKIP LOCKED on PostgreSQL)."""
    query = select(exits.c.id).where(exits.c.tenant_id == tenant_id, exits.c.id.in_(exit_ids), *still_due).order_by(exits.c.id)
    if conn.dialect.name != "postgresql":
        return list(conn.execute(query).scalars())
    free = select(members.c.id).where(members.c.tenant_id == tenant_id, members.c.id.in_(member_ids)).order_by(members.c.id).with_for_update(key_share=True, skip_locked=True)
    held = list(conn.execute(free).scalars())
    return list(conn.execute(query.where(exits.c.member_id.in_(held)).with_for_update(key_share=True, skip_locked=True)).scalars())
