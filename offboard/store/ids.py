"""Id generation that works for single rows and for set-based INSERT ... SELECT on both databases.

PostgreSQL: one sequence per table (`<table>_id_seq`); `nextval` is non-transactional, so
parallel transactions never wait on each other for ids. SQLite: ids are drawn per tenant as
max(id) + n inside the write transaction, which is safe because SQLite writes are
serialized (every write transaction is BEGIN IMMEDIATE).
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, literal, select, text
from sqlalchemy.sql import ColumnElement


def sequence_name(table: Table) -> str:
    return f"{table.name}_id_seq"


def _sqlite_base(conn: Connection, table: Table, tenant_id: int) -> int:
    return conn.execute(select(func.coalesce(func.max(table.c.id), 0)).where(table.c.tenant_id == tenant_id)).scalar_one()


def next_id(conn: Connection, table: Table, tenant_id: int) -> int:
    return next_ids(conn, table, tenant_id, 1)[0]


def next_ids(conn: Connection, table: Table, tenant_id: int, n: int) -> list[int]:
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT nextval(:seq) FROM generate_series(1, :n)"), {"seq": sequence_name(table), "n": n})
        return [r[0] for r in rows]
    base = _sqlite_base(conn, table, tenant_id)
    return list(range(base + 1, base + n + 1))


def id_column(conn: Connection, table: Table, tenant_id: int, order_by: ColumnElement) -> ColumnElement:
    """The id expression of a set-based INSERT ... SELECT into `table`."""
    if conn.dialect.name == "postgresql":
        return func.nextval(sequence_name(table))
    return literal(_sqlite_base(conn, table, tenant_id)) + func.row_number().over(order_by=order_by)


def tenant_id_value(conn: Connection) -> int:
    """Ids of tenants themselves: a sequence on PostgreSQL, max + 1 on SQLite."""
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT nextval('tenants_id_seq')")).scalar_one()
    return conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM tenants")).scalar_one()
