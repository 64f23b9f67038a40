"""Benchmarks that print figures (SPEC §10); never timed assertions."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from offboard.crypto.vault import KEY_FILE_ENV


@contextmanager
def scratch_keys(folder: Path) -> Iterator[None]:
    """The benchmark's services (and the processes it starts) keep their key file in its scratch
    folder, never in the deployment's (./offboard.keys beside a PostgreSQL run)."""
    before = os.environ.get(KEY_FILE_ENV)
    os.environ[KEY_FILE_ENV] = str(folder / "bench.keys")
    try:
        yield
    finally:
        if before is None:
            del os.environ[KEY_FILE_ENV]
        else:
            os.environ[KEY_FILE_ENV] = before


@contextmanager
def bench_database(database: str, pg_server: str, sqlite_file: Path) -> Iterator[str]:
    """A database URL for one benchmark run, migrated: the SQLite file, or a throwaway
    PostgreSQL database on the server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    from offboard.store import schema
    from offboard.store.db import connect

    name = None
    if database == "sqlite":
        url = str(sqlite_file)
    else:
        name = f"offboard_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = pg_server.rsplit("/", 1)[0] + "/" + name
    try:
        db = connect(url)
        schema.upgrade(db)
        db.dispose()
        yield url
    finally:
        if name is not None:
            admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
