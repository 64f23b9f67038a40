"""The one place where adapters are built and wired."""

from __future__ import annotations

import os

from offboard.actions.context import Services
from offboard.clock import SystemClock
from offboard.crypto.vault import LocalKeyVault, key_file_path
from offboard.interfaces import Clock, OutboxSubscriber
from offboard.store import schema
from offboard.store.db import Database, connect
from offboard.webhooks.sender import HttpWebhookSender


def build(db: str | None = None, *, clock: Clock | None = None, check_schema: bool = True) -> Services:
    """Connect to the database (a URL or a SQLite file path), check that it is migrated and
    that the key file opens what the database holds wrapped. Nothing else is touched: the key
    file is made on the first wrap, not here."""
    if check_schema:
        _refuse_missing_file(db)
    database = connect(db)
    if check_schema:
        try:
            schema.check(database)
        except Exception:
            database.dispose()
            raise
    clock = clock or SystemClock()
    vault = LocalKeyVault(key_file_path(database.engine.url, os.environ))
    if check_schema:
        _refuse_other_keys(database, vault)
    return Services(
        db=database,
        clock=clock,
        subscribers=_subscribers(),
        vault=vault,
        webhooks=HttpWebhookSender(clock),
        connectors=(),  # the WeCom, DingTalk and Feishu connectors plug in here when they land
    )


def _refuse_other_keys(database: Database, vault: LocalKeyVault) -> None:
    """Once anything is wrapped, start only with the key file that wrapped it (R-LAW-3): a
    missing or other one is refused, never replaced by a new key that would orphan sealed data."""
    from offboard.actions.keys import check_keys

    try:
        with database.read() as conn:
            check_keys(conn, vault)
    except Exception:
        database.dispose()
        raise


def _subscribers() -> tuple[OutboxSubscriber, ...]:
    """The built-in outbox subscribers, plus any named in OFFBOARD_OUTBOX_SUBSCRIBERS
    (`module:factory`, comma-separated): webhooks and connectors plug in here."""
    from offboard.jobs.outbox import default_subscribers, load_subscribers

    return default_subscribers() + load_subscribers(os.environ.get("OFFBOARD_OUTBOX_SUBSCRIBERS", ""))


def _refuse_missing_file(db: str | None) -> None:
    """A read or change on a SQLite file that does not exist must not leave an empty file behind."""
    from pathlib import Path

    from offboard.domain.errors import error
    from offboard.store.db import resolve_url

    url = resolve_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise error(
            schema.SchemaError,
            "schema_missing",
            "The database has no offboard schema yet; run `offboard db upgrade` (or `offboard demo`) first.",
        )
