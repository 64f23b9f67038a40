"""Reading the outbox: what was handed to subscribers after commit, and what keeps failing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, require
from offboard.domain.vocabulary import OutboxState
from offboard.store import outbox as store


@dataclass(frozen=True)
class OutboxItem:
    id: int
    topic: str
    key: str
    ids: dict[str, int | str]
    state: str
    attempts: int
    delivered_to: list[str]
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class OutboxPage:
    total: int
    items: list[OutboxItem]


def list_outbox(conn: Connection, tenant_id: int, actor: Actor, *, state: str | None = None, limit: int = 50, offset: int = 0) -> OutboxPage:
    """The tenant's outbox, newest first; who may read the audit trail may read this."""
    require(actor, Action.READ_AUDIT)
    state = v.choice(state, OutboxState, "state") if state else None
    total, rows = store.list_items(conn, tenant_id, state=state, limit=limit, offset=offset)
    return OutboxPage(
        total, [OutboxItem(r.id, r.topic, r.key, dict(r.payload["ids"]), r.state, r.attempts, list(r.delivered_to or []), r.last_error, r.next_attempt_at, r.created_at, r.delivered_at) for r in rows]
    )
