"""The one place where adapters are built and wired."""

from __future__ import annotations

from offboard.actions.context import Clock, Services, SystemClock
from offboard.store import schema
from offboard.store.db import connect


def build(db: str | None = None, *, clock: Clock | None = None, check_schema: bool = True) -> Services:
    """Connect to the database (a URL or a SQLite file path) and check that it is migrated."""
    database = connect(db)
    if check_schema:
        try:
            schema.check(database)
        except Exception:
            database.dispose()
            raise
    return Services(db=database, clock=clock or SystemClock())
