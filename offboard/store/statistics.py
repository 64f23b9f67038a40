"""Planner statistics of the tables a bulk job grows.

A layoff's first batch writes hundreds of exits, steps and thousands of ledger rows into tables
that may have been empty when they were last analyzed (a new enterprise; the benchmark's). Plans
made from those statistics stay cached on a connection: PostgreSQL's foreign-key checks of the
ledger rows then scan the steps table for every row, and joins walk nested loops over tables
believed to hold one row, each batch slower than the one before. The first batch analyzes its
exits, steps, lines and routes in its own transaction, before it writes the ledger rows that
name them (`analyze`: PostgreSQL samples a transaction's own new rows), and the ledger is
analyzed once that batch is in (`refresh`), so every batch is planned for what is there. Cheap:
PostgreSQL samples, and SQLite is told to look at a bounded number of rows per index.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table

from offboard.store.db import Database
from offboard.store.tables import bulk_exit_routes, bulk_exit_rows, exit_steps, exits, transfer_ledger

NAMED_BY_LEDGER_ROWS: tuple[Table, ...] = (exits, exit_steps, bulk_exit_rows, bulk_exit_routes)
GROWN_BY_BULK_EXITS: tuple[Table, ...] = (*NAMED_BY_LEDGER_ROWS, transfer_ledger)
SQLITE_ANALYSIS_LIMIT = 1000  # rows per index SQLite reads for its estimate


def analyze(conn: Connection, tables: tuple[Table, ...]) -> None:
    """ANALYZE `tables` in the caller's transaction, its own rows included."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
    for table in tables:
        conn.exec_driver_sql(f"ANALYZE {table.name}")


def refresh(db: Database, tables: tuple[Table, ...] = GROWN_BY_BULK_EXITS) -> None:
    """ANALYZE `tables`, each in a transaction of its own."""
    for table in tables:
        with db.write() as conn:
            analyze(conn, (table,))
