"""Rows inserted and updated through the database driver, as tuples: for the statements a bulk
exit runs with thousands of rows (audit events, outbox rows, plan routes and lines, steps'
counts, lines' outcomes), where building and type-processing a parameter dictionary per row
costs more than the database's own work, and an UPDATE per row costs a round trip each.

Each value is converted as the column type would convert it, once per column and dialect:
aware datetimes become SQLite's naive UTC text (what UTCDateTime stores) or stay as they are
for PostgreSQL; JSON values become JSON text, cast to jsonb on PostgreSQL. Only those columns
are converted value by value: the others are handed over as they are (SQLite's driver binds a
str or int enum by its value), and a time shared by the rows (the transaction's `now`) is
formatted once. A caller that encodes its rows itself (the audit events, whose digests cover
the encoded text) hands them over as tuples (insert_values), stored exactly as given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.dialects import postgresql

from offboard.store.types import UTCDateTime


def _json(value: Any) -> str:
    return json.dumps(value)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given where UTC is required")
    return value


@lru_cache(maxsize=1024)
def _sqlite_time(value: datetime | None) -> str | None:
    aware = _aware(value)
    return None if aware is None else aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _same(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


MAX_PARAMETERS = 30_000  # per statement: below SQLite's 32,766 and PostgreSQL's 65,535


Converter = Callable[[Any], Any] | None  # None: the value goes to the driver as it is


def _converter(table: Table, name: str, pg: bool) -> Converter:
    column_type = table.c[name].type
    if isinstance(column_type, JSON):
        return _json
    if isinstance(column_type, UTCDateTime):
        return _aware if pg else _sqlite_time
    return _same if pg else None


def _values(rows: Sequence[Mapping[str, Any]], columns: tuple[str, ...], converters: Sequence[Converter]) -> list[tuple[Any, ...]]:
    """Each row's values in the order of `columns`, converted where the column needs it."""
    pick = itemgetter(*columns)
    picked = [pick(row) for row in rows] if len(columns) > 1 else [(pick(row),) for row in rows]
    convert = [(n, c) for n, c in enumerate(converters) if c is not None]
    if not convert:
        return picked
    converted = []
    for values in picked:
        row = list(values)
        for n, c in convert:
            row[n] = c(row[n])
        converted.append(tuple(row))
    return converted


def _is_json(table: Table, name: str) -> bool:
    return isinstance(table.c[name].type, JSON)


@cache
def _plan(table: Table, columns: tuple[str, ...], pg: bool) -> tuple[str, tuple[Converter, ...]]:
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
    insert_values(conn, table, columns, _values(rows, columns, _plan(table, columns, conn.dialect.name == "postgresql")[1]))


def insert_values(conn: Connection, table: Table, columns: tuple[str, ...], values: Sequence[tuple[Any, ...]]) -> None:
    """INSERT rows given as value tuples in the order of `columns`, each value already as the
    driver takes it (an int, a str, JSON as text, a time as the column stores it): as
    insert_rows, for a caller that builds its rows as tuples (the audit events)."""
    if not values:
        return
    pg = conn.dialect.name == "postgresql"
    if not pg:
        conn.exec_driver_sql(_plan(table, columns, pg)[0], values)
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
    values = _values(rows, columns, [_converter(table, name, pg) for name in columns])
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    for start in range(0, len(rows), per_statement):
        chunk = values[start : start + per_statement]
        statement = _update_plan(table, tuple(keys), columns, pg, len(chunk))
        conn.exec_driver_sql(statement, tuple(value for row in chunk for value in row))
