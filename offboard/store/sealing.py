"""Writing sealed message bodies back (R-LAW-3), set-based: on PostgreSQL the chunk is copied
into a temporary table and joined to the messages by one UPDATE; on SQLite one UPDATE joined to
a VALUES list (offboard.store.driver_rows.update_rows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, text

from offboard.store.driver_rows import update_rows
from offboard.store.tables import messages

_BATCH = "sealing_batch"


def write_sealed(conn: Connection, tenant_id: int, sealed: Sequence[tuple[int, bytes]], at: datetime) -> None:
    """Each (message id, sealed body): the body emptied, the sealed one and the time kept."""
    if not sealed:
        return
    if conn.dialect.name != "postgresql":
        update_rows(conn, messages, ("tenant_id", "id"), [{"tenant_id": tenant_id, "id": i, "sealed_body": blob, "body": None, "sealed_at": at} for i, blob in sealed])
        return
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_BATCH} (id BIGINT PRIMARY KEY, sealed BYTEA NOT NULL) ON COMMIT DROP"))
    conn.execute(text(f"TRUNCATE {_BATCH}"))
    driver = conn.connection.driver_connection
    assert driver is not None  # a connection inside a transaction holds its driver connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {_BATCH} (id, sealed) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "bytea"])
        for row in sealed:
            copy.write_row(row)
    conn.execute(
        text(f"UPDATE messages AS m SET sealed_body = s.sealed, body = NULL, sealed_at = :at FROM {_BATCH} AS s WHERE m.tenant_id = :t AND m.id = s.id"),
        {"t": tenant_id, "at": at},
    )
