"""Engines, transactions and the schema check.

SQLite is the embedded default (WAL, foreign keys on, every write transaction BEGIN
IMMEDIATE so a read-then-write never deadlocks on the upgrade of a shared lock);
PostgreSQL through psycopg 3 for production. SQLite gets the functions PostgreSQL has built
in that a statement of ours needs (`sha256`), so one statement answers alike on both.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from offboard.domain.errors import OffboardError, ValidationError, error

DEFAULT_DB = "./offboard.db"


class DatabaseError(OffboardError):
    code = "database_unavailable"
    status = 503


def resolve_url(url_or_path: str | None) -> str:
    """A URL is used as is; a plain path means a SQLite file, which must be creatable."""
    value = url_or_path or os.environ.get("OFFBOARD_DATABASE_URL") or DEFAULT_DB
    if "://" in value:
        try:
            make_url(value)
        except ArgumentError:
            raise error(ValidationError, "invalid_database_url", "{url!r} is not a database URL or file path.", url=value) from None
        return value
    path = Path(value).expanduser().resolve()
    if path.is_dir():
        raise error(ValidationError, "database_path_invalid", "{path} is a directory; give a file path for the SQLite database.", path=str(path))
    parent = path.parent
    if not parent.is_dir():
        raise error(ValidationError, "database_path_invalid", "Folder {path} does not exist; create it or choose another database path.", path=str(parent))
    target = path if path.exists() else parent
    if not os.access(target, os.W_OK):
        raise error(ValidationError, "database_path_invalid", "{path} is not writable; choose a path you can write to.", path=str(target))
    return f"sqlite:///{path}"


@dataclass
class Database:
    engine: Engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite)."""
        with _translate_operational(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a deferred BEGIN on SQLite, so readers never block writers)."""
        with _translate_operational(), self.engine.execution_options(offboard_readonly=True).begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _translate_operational() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        message = str(exc.orig) if exc.orig is not None else str(exc)
        if "could not translate host name" in message or "Connection refused" in message or "unable to open" in message:
            raise error(DatabaseError, "database_unavailable", "The database cannot be reached: {detail}", detail=message.strip().splitlines()[0]) from None
        raise


def connect(url_or_path: str | None = None) -> Database:
    url = resolve_url(url_or_path)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
    else:
        # JIT off for the service's sessions: its statements are short, but a correlated subquery
        # (a fallback acceptor per resource) inflates their estimated cost past jit_above_cost,
        # and PostgreSQL then spends more compiling a statement than running it (0.4-0.6 s each).
        engine = create_engine(url, pool_pre_ping=True, connect_args={"options": "-c jit=off"})
    return Database(engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        dbapi_conn.create_function("sha256", 1, sha256_hex, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        readonly = conn.get_execution_options().get("offboard_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def sha256_hex(value: str | bytes | None) -> str | None:
    """SQLite's `sha256(text)`: the hex SHA-256 of the text's UTF-8 bytes (NULL stays NULL)."""
    if value is None:
        return None
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).hexdigest()


def has_table(conn: Connection, name: str) -> bool:
    return inspect(conn).has_table(name)
