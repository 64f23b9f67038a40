"""Rows inserted and updated through the database driver, as tuples: for the statements a bulk
exit runs with thousands of rows (audit events, outbox rows, plan routes and lines, steps'
counts, lines' outcomes), where building and type-processing a parameter dictionary per row
costs more than the database's own work, and an UPDATE per row costs a round trip each.

Each value is converted as the column type would convert it, once per column and dialect:
aware datetimes become SQLite's naive UTC text (what UTCDateTime stores) or stay as they are
for PostgreSQL; JSON values become JSON text, cast to jsonb on PostgreSQL. A value that is
already JSON text (`JsonText`) is stored as it is, so a caller that digests the encoded text
stores exactly what it digested.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.dialects import postgresql

from offboard.store.types import UTCDateTime


class JsonText(str):
    """JSON already encoded: inserted as this text, not encoded again."""


def _json(value: Any) -> str:
    return value if isinstance(value, JsonText) else json.dumps(value)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given where UTC is required")
    return value


def _sqlite_time(value: datetime | None) -> str | None:
    aware = _aware(value)
    return None if aware is None else aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _same(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


MAX_PARAMETERS = 30_000  # per statement: below SQLite's 32,766 and PostgreSQL's 65,535


def _converter(table: Table, name: str, pg: bool) -> Callable[[Any], Any]:
    column_type = table.c[name].type
    if isinstance(column_type, JSON):
        return _json
    if isinstance(column_type, UTCDateTime):
        return _aware if pg else _sqlite_time
    return _same


def _is_json(table: Table, name: str) -> bool:
    return isinstance(table.c[name].type, JSON)


@cache
def _plan(table: Table, columns: tuple[str, ...], pg: bool) -> tuple[str, tuple[Callable[[Any], Any], ...]]:
    marks = ["%s::jsonb" if pg and _is_json(table, name) else "%s" if pg else "?" for name in columns]
    quoted = ", ".join(f'"{name}"' for name in columns)
    return f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join(marks)})", tuple(_converter(table, name, pg) for name in columns)


@lru_cache(maxsize=512)
def _update_plan(table: Table, keys: tuple[str, ...], columns: tuple[str, ...], pg: bool, rows: int) -> str:
    """UPDATE ... FROM (VALUES ...) AS v: both databases name a VALUES list's columns column1,
    column2, ... in order. PostgreSQL reads each as the column's own type (a NULL or a text
    parameter in a VALUES list has no type of its own)."""
    mark = "%s" if pg else "?"
    row = "(" + ", ".join(mark for _ in columns) + ")"

    def value(n: int, name: str) -> str:
        return f"CAST(v.column{n} AS {table.c[name].type.compile(dialect=postgresql.dialect())})" if pg else f"v.column{n}"

    at = {name: value(n, name) for n, name in enumerate(columns, start=1)}
    sets = ", ".join(f'"{name}" = {at[name]}' for name in columns if name not in keys)
    match = " AND ".join(f'{table.name}."{name}" = {at[name]}' for name in keys)
    return f"UPDATE {table.name} SET {sets} FROM (VALUES {', '.join(row for _ in range(rows))}) AS v WHERE {match}"


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (dictionaries with the same keys) into `table`: on PostgreSQL one COPY in
    this transaction (a few microseconds a row, against tens for an INSERT each), on SQLite
    one executemany (in process, already that fast)."""
    if not rows:
        return
    columns = tuple(rows[0])
    pg = conn.dialect.name == "postgresql"
    statement, converters = _plan(table, columns, pg)
    pairs = tuple(zip(columns, converters))
    values = (tuple(convert(row[name]) for name, convert in pairs) for row in rows)
    if not pg:
        conn.exec_driver_sql(statement, list(values))
        return
    quoted = ", ".join(f'"{name}"' for name in columns)
    driver = conn.connection.driver_connection
    assert driver is not None  # a connection inside a transaction holds its driver connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


def update_rows(conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """UPDATE `table` from `rows` (dictionaries with the same keys): each row names its target
    by the `keys` columns and gives the new values of the others. A statement per chunk of
    rows, joined to them as a VALUES list."""
    if not rows:
        return
    columns = tuple(rows[0])
    pg = conn.dialect.name == "postgresql"
    pairs = tuple((name, _converter(table, name, pg)) for name in columns)
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        statement = _update_plan(table, tuple(keys), columns, pg, len(chunk))
        conn.exec_driver_sql(statement, tuple(convert(row[name]) for row in chunk for name, convert in pairs))
