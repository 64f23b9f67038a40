"""`column IN (ids)` for the hundreds of ids a bulk batch names (its leavers, its steps), as one
bound parameter: SQLAlchemy's IN of a list checks every value when the statement is built and
renders a bind parameter per value every time it runs, which for a batch's 500 leavers costs
more than the database's own work. SQLite reads the ids from one JSON array (`json_each`),
PostgreSQL from one array (`= ANY`); both plan it as they plan the IN list, an index lookup per
id. A statement built once names the parameter (among_param) and is given id_list(ids)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, ColumnElement, Connection, Text, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import NullType


def id_list(dialect: str, ids: Iterable[int]) -> str:
    """The value of an ids parameter, as text: an array literal on PostgreSQL (the driver would
    quote-check each element of a list), a JSON array on SQLite."""
    values = ",".join(map(str, ids))
    return "{" + values + "}" if dialect == "postgresql" else "[" + values + "]"


def among_param(dialect: str, column: ColumnElement, name: str | None, value: str | None = None) -> ColumnElement[bool]:
    """`column` is one of the ids of the parameter `name` (None: an anonymous one holding `value`)."""
    if dialect == "postgresql":
        # Untyped text: the server reads the parameter itself as bigint[], a constant to the plan.
        return column == any_(cast(bindparam(name, value, type_=NullType()), ARRAY(BigInteger())))
    element = func.json_each(bindparam(name, value, type_=Text())).table_valued("value")
    return column.in_(select(element.c.value))


def among_ids(conn: Connection, column: ColumnElement, ids: Iterable[int]) -> ColumnElement[bool]:
    dialect = conn.dialect.name
    return among_param(dialect, column, None, id_list(dialect, ids))
