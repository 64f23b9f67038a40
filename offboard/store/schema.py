"""Migrations (Alembic) and the check every command makes before it touches the database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from offboard.domain.errors import OffboardError, error
from offboard.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaError(OffboardError):
    code = "schema_mismatch"
    status = 503


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "the migrations folder holds at least one revision"
    return revision


def current(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> tuple[str | None, str]:
    """Migrate to the newest revision; running it again changes nothing."""
    before = current(db)
    _refuse_newer(before)
    with db.engine.begin() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head()


def _refuse_newer(revision: str | None) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(_config())
    if not _known(script, revision):
        raise error(
            SchemaError,
            "schema_too_new",
            "This database was migrated by a newer offboard (revision {revision}); upgrade offboard before using it.",
            revision=revision,
        )


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def check(db: Database) -> None:
    """Refuse an unmigrated database or one newer than this code, with the command that fixes it."""
    revision = current(db)
    if revision is None:
        raise error(
            SchemaError,
            "schema_missing",
            "The database has no offboard schema yet; run `offboard db upgrade` (or `offboard demo`) first.",
        )
    _refuse_newer(revision)
    if revision != head():
        raise error(
            SchemaError,
            "schema_outdated",
            "The database schema is at {revision} but this offboard needs {head}; run `offboard db upgrade`.",
            revision=revision,
            head=head(),
        )
