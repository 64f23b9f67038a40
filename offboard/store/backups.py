"""An earlier copy of an offboard database, opened read-only to read what was deleted since
(R-DATA-4): a SQLite file (as `sqlite3 offboard.db ".backup copy.db"` writes it) or the URL of
a PostgreSQL database restored from a dump. Nothing is ever written to it.

It must be an offboard database of this code's schema revision, holding the same enterprise
(same slug and id: sealed records are bound to the ids they were sealed under) whose audit
trail is a prefix of the live one, so a copy of another installation is told apart from ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from offboard.domain.errors import ValidationError, error
from offboard.store import schema
from offboard.store.tables import audit_events, tenants

NEEDED_TABLES = ("alembic_version", "tenants", "members", "messages", "member_data_keys", "audit_events")


@dataclass(frozen=True)
class BackupIdentity:
    """What the audit trail records of the backup read: where it is (a URL without its
    password), its schema revision, and the enterprise's latest audit event in it."""

    location: str
    revision: str
    audit_seq: int
    audit_head: str

    def as_dict(self) -> dict[str, str | int]:
        return {"location": self.location, "revision": self.revision, "audit_seq": self.audit_seq, "audit_head": self.audit_head}


def _unreadable(location: str, reason: str) -> ValidationError:
    return error(
        ValidationError,
        "backup_unreadable",
        "The backup {location} cannot be read ({reason}); give the path of a SQLite backup file or the URL of a restored database.",
        location=location,
        reason=reason,
    )


def _not_offboard(location: str) -> ValidationError:
    return error(ValidationError, "backup_not_offboard", "{location} is not an offboard database; give the path or URL of a backup of this offboard's database.", location=location)


def _engine_url(location: str) -> tuple[str, str]:
    """The URL to open read-only, and the location as the audit trail names it."""
    value = location.strip()
    if "://" in value:
        try:
            url = make_url(value)
        except ArgumentError:
            raise error(ValidationError, "invalid_database_url", "{url!r} is not a database URL or file path.", url=value[:200]) from None
        shown = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite":
            if not url.database or url.database == ":memory:":
                raise _unreadable(shown, "no file named")
            return _sqlite_url(Path(url.database), shown), shown
        return value, shown
    path = Path(value).expanduser().resolve()
    return _sqlite_url(path, str(path)), str(path)


def _sqlite_url(path: Path, shown: str) -> str:
    if not path.is_file():
        raise _unreadable(shown, "no such file")
    return f"sqlite:///file:{path}?mode=ro&uri=true"


@contextmanager
def open_backup(location: str, tenant_slug: str, tenant_id: int) -> Iterator[tuple[Connection, BackupIdentity]]:
    """A read-only transaction on the backup, after the checks above; refusals name the backup."""
    url, shown = _engine_url(location)
    if url.startswith("sqlite"):
        engine = create_engine(url)
    else:
        engine = create_engine(url, connect_args={"connect_timeout": 10, "options": "-c default_transaction_read_only=on"})
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise _unreadable(shown, _first_line(exc)) from None
        with conn, conn.begin():
            identity = _identify(conn, shown, tenant_slug, tenant_id)
            yield conn, identity
    finally:
        engine.dispose()


def _first_line(exc: SQLAlchemyError) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip()
    return (message.splitlines() or ["unknown error"])[0][:200]


def _identify(conn: Connection, shown: str, tenant_slug: str, tenant_id: int) -> BackupIdentity:
    try:
        present = set(inspect(conn).get_table_names())
    except SQLAlchemyError:  # SQLite: "file is not a database"
        raise _not_offboard(shown) from None
    if not set(NEEDED_TABLES) <= present:
        raise _not_offboard(shown)
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if revision != schema.head():
        raise error(
            ValidationError,
            "backup_schema_version",
            "The backup {location} is of schema revision {revision}, this offboard of {head}: restore it into a scratch database, run `offboard db upgrade --db` on that copy, and read the copy.",
            location=shown,
            revision=str(revision),
            head=schema.head(),
        )
    row = conn.execute(select(tenants.c.id, tenants.c.audit_seq, tenants.c.audit_head).where(tenants.c.slug == tenant_slug)).first()
    if row is None or row.id != tenant_id:
        raise error(
            ValidationError, "backup_other_enterprise", "The backup {location} holds no copy of the enterprise {slug}; give a backup of this installation's database.", location=shown, slug=tenant_slug
        )
    return BackupIdentity(shown, str(revision), int(row.audit_seq), str(row.audit_head))


def check_chain(live: Connection, identity: BackupIdentity, tenant_id: int) -> None:
    """The backup's latest audit event must be the live trail's event of that number: a
    backup is an earlier state of this database, not of another installation."""
    if identity.audit_seq == 0:
        return
    live_hash = live.execute(select(audit_events.c.hash).where(audit_events.c.tenant_id == tenant_id, audit_events.c.seq == identity.audit_seq)).scalar()
    if live_hash != identity.audit_head:
        raise error(
            ValidationError,
            "backup_chain_mismatch",
            "The audit trail of the backup {location} does not match this enterprise's at event {seq}: it is not an earlier copy of this database.",
            location=identity.location,
            seq=identity.audit_seq,
        )
