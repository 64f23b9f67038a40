"""Shared fixtures.

Storage tests take `db_url` (or `services`), which runs them on SQLite and on PostgreSQL.
PostgreSQL: a fresh database per test session on 127.0.0.1:5432 (OFFBOARD_TEST_PG_URL to
change), emptied after each test. Without a server the PostgreSQL cases skip, except under
CI=true, where they fail.

`./dev test` runs the suite on pytest-xdist workers, each a test session of its own: its own
PostgreSQL databases (named with the worker id), its own tmp_path_factory folders, its own
live servers on ports the kernel picks.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from offboard.bootstrap import build
from offboard.store import schema
from offboard.store.db import connect
from offboard.store.tables import metadata
from tests.support.clock import FakeClock

# CI replays the same examples every run (derandomize) and keeps no example database: there is
# none to carry between runs, and the xdist workers share no directory.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

PG_SERVER_URL = os.environ.get("OFFBOARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    """Screenshots and PDFs go to pytest-playwright's --output folder (test-results/), which it
    empties when a session starts. Under xdist every worker is a session and would empty it
    while the others write, so the controller empties it once, before any worker starts, and
    `delete_output_dir` below stands in for pytest-playwright's."""
    if not hasattr(config, "workerinput"):
        shutil.rmtree(config.getoption("--output"), ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def delete_output_dir() -> None:
    """pytest-playwright's fixture of this name empties the output folder; pytest_configure has."""


@pytest.fixture(scope="session", autouse=True)
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The key vault's file of this session's services (audit keys, sealed data): a temporary
    one, never ./offboard.keys of the checkout (a PostgreSQL database has no folder beside it)."""
    if os.environ.get("OFFBOARD_KEY_FILE"):
        yield
        return
    os.environ["OFFBOARD_KEY_FILE"] = str(tmp_path_factory.mktemp("keys") / "offboard.keys")
    yield
    del os.environ["OFFBOARD_KEY_FILE"]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a test that needs it must not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means "no server"
        _unavailable(f"PostgreSQL is not reachable at {PG_SERVER_URL}: {exc.__class__.__name__}")
    finally:
        engine.dispose()
    return PG_SERVER_URL


def create_pg_database(server_url: str) -> str:
    name = f"offboard_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(server_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@contextmanager
def own_database(request, tmp_path_factory, name: str) -> Iterator[str]:
    """A migrated, empty database of a module's own on `request.param` (sqlite: a copy of the
    template file; postgresql: a new database, dropped afterwards), for a module-scoped fixture
    that builds something once and lets its tests read it."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp(name) / f"{name}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield str(path)
        return
    server = request.getfixturevalue("pg_server_url")
    url = create_pg_database(server)
    db = connect(url)
    schema.upgrade(db)
    db.dispose()
    try:
        yield url
    finally:
        drop_pg_database(server, url)


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str):
    url = create_pg_database(pg_server_url)
    db = connect(url)
    schema.upgrade(db)
    db.dispose()
    yield url
    drop_pg_database(pg_server_url, url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = connect(str(path))
    schema.upgrade(db)
    db.dispose()  # the last connection to close checkpoints the WAL into the file
    return str(path)


def _empty_pg(url: str) -> None:
    """Empty every table and restart every id sequence, so each test starts like a new database."""
    engine = create_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for seq in conn.execute(text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'")).scalars():
            conn.execute(text(f'ALTER SEQUENCE "{seq}" RESTART'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A migrated, empty database: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "offboard.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield str(path)
    else:
        url = request.getfixturevalue("pg_url")
        yield url
        _empty_pg(url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(db_url, clock):
    svc = build(db_url, clock=clock)
    yield svc
    svc.db.dispose()
