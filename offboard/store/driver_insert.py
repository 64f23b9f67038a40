"""Multi-row inserts handed to the database driver as tuples: for the statements a bulk exit
runs with thousands of rows (audit events, outbox rows, plan routes and lines), where building
and type-processing a parameter dictionary per row costs more than the database's own work.

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
from functools import cache
from typing import Any

from sqlalchemy import JSON, Connection, Table

from offboard.store.types import UTCDateTime


class JsonText(str):
    """JSON already encoded: inserted as this text, not encoded again."""


def _json(value: Any) -> str:
    return value if isinstance(value, JsonText) else json.dumps(value)


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given where UTC is required")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _same(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


@cache
def _plan(table: Table, columns: tuple[str, ...], pg: bool) -> tuple[str, tuple[Callable[[Any], Any], ...]]:
    marks, converters = [], []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            marks.append("%s::jsonb" if pg else "?")
            converters.append(_json)
        elif isinstance(column_type, UTCDateTime):
            marks.append("%s" if pg else "?")
            converters.append(_same if pg else _sqlite_time)
        else:
            marks.append("%s" if pg else "?")
            converters.append(_same)
    quoted = ", ".join(f'"{name}"' for name in columns)
    return f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join(marks)})", tuple(converters)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (dictionaries with the same keys) into `table`, one executemany."""
    if not rows:
        return
    columns = tuple(rows[0])
    statement, converters = _plan(table, columns, conn.dialect.name == "postgresql")
    pairs = tuple(zip(columns, converters))
    conn.exec_driver_sql(statement, [tuple(convert(row[name]) for name, convert in pairs) for row in rows])
