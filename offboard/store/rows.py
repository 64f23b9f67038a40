"""The type of a row handed between modules.

SQLAlchemy 2.1 types a row by its columns (`Row[int, str]`). A row that actions, entry points
and templates pass around is read by column name and may come from any select, so its columns
are left open.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import Row

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
