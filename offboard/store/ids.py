"""Id generation that works for single rows and for set-based INSERT ... SELECT on both databases.

PostgreSQL: one sequence per table (`<table>_id_seq`); `nextval` is non-transactional, so
parallel transactions never wait on each other for ids. SQLite: ids are drawn per tenant as
max(id) + n inside the write transaction, which is safe because SQLite writes are
serialized (every write transaction is BEGIN IMMEDIATE).
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, literal, select, text
from sqlalchemy.sql import ColumnElement


EXACT_RESERVE = 100_000


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


def reserve(conn: Connection, table: Table, tenant_id: int, n: int) -> int:
    """The first of n consecutive ids for rows a set-based load numbers itself (first + offset).

    PostgreSQL: the block ends at the sequence's new value, so later nextval calls lie beyond
    it. Up to EXACT_RESERVE ids are drawn by nextval one by one; a larger block moves the
    sequence with one setval, which could only go backwards if others drew more than n ids in
    the instant between its nextval and its setval. Ids inside the block that another
    transaction drew meanwhile belong to that transaction's tenant, and ids are only unique
    per tenant (every primary key leads with tenant_id). SQLite: max(id) + 1, valid until this
    write transaction inserts into the table, which the caller does before reserving again.
    """
    if n <= 0:
        raise ValueError("reserve at least one id")
    if conn.dialect.name != "postgresql":
        return _sqlite_base(conn, table, tenant_id) + 1
    params = {"seq": sequence_name(table), "n": n}
    if n <= EXACT_RESERVE:
        last = conn.execute(text("SELECT max(v) FROM (SELECT nextval(:seq) AS v FROM generate_series(1, :n)) AS drawn"), params).scalar_one()
    else:
        last = conn.execute(text("SELECT setval(:seq, nextval(:seq) + :n - 1)"), params).scalar_one()
    first: int = last - n + 1
    return first


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
