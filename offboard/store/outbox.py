"""Outbox rows: written with the change they report, claimed and settled by the runner
(offboard.jobs.outbox). Claims are leases: a worker killed while delivering loses its claim
when the lease ends, and the row is delivered again (at least once, idempotent by key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, or_, select, update

from offboard.domain.vocabulary import OutboxState
from offboard.store import ids
from offboard.store.driver_rows import insert_rows
from offboard.store.tables import outbox

DUE_STATES = (OutboxState.PENDING.value, OutboxState.FAILING.value)


@dataclass(frozen=True)
class PendingItem:
    topic: str
    ids: dict[str, int | str]


def insert_items(conn: Connection, tenant_id: int, items: Sequence[PendingItem], now: datetime) -> list[int]:
    new_ids = ids.next_ids(conn, outbox, tenant_id, len(items))
    if items:
        insert_rows(
            conn,
            outbox,
            [
                {
                    "tenant_id": tenant_id,
                    "id": item_id,
                    "topic": item.topic,
                    "key": f"{item.topic}/{tenant_id}/{item_id}",
                    "payload": {"ids": item.ids},
                    "state": OutboxState.PENDING.value,
                    "delivered_to": [],
                    "attempts": 0,
                    "next_attempt_at": now,
                    "claimed_until": None,
                    "last_error": None,
                    "created_at": now,
                    "delivered_at": None,
                }
                for item_id, item in zip(new_ids, items)
            ],
        )
    return new_ids


def claim_due(conn: Connection, now: datetime, lease: timedelta, limit: int) -> Sequence[Row]:
    """Due rows no live lease holds, locked for this transaction (SKIP LOCKED on PostgreSQL, so
    several workers take different rows), then leased to the caller."""
    query = (
        select(outbox.c.tenant_id, outbox.c.id)
        .where(
            outbox.c.state.in_(DUE_STATES),
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.tenant_id, outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    keys = conn.execute(query).all()
    if not keys:
        return []
    matches = or_(*[and_(outbox.c.tenant_id == t, outbox.c.id == i) for t, i in keys])
    conn.execute(update(outbox).where(matches).values(claimed_until=now + lease))
    return conn.execute(select(outbox).where(matches).order_by(outbox.c.next_attempt_at, outbox.c.id)).all()


def settle(conn: Connection, row: Row, *, delivered_to: list[str], done: bool, error: str | None, now: datetime, retry_at: datetime | None, dead: bool) -> None:
    values: dict[str, Any] = {"delivered_to": delivered_to, "claimed_until": None, "last_error": error}
    if done:
        values.update(state=OutboxState.DELIVERED.value, delivered_at=now)
    else:
        values.update(state=OutboxState.DEAD.value if dead else OutboxState.FAILING.value, attempts=row.attempts + 1, next_attempt_at=retry_at or now)
    conn.execute(update(outbox).where(outbox.c.tenant_id == row.tenant_id, outbox.c.id == row.id).values(**values))


def list_items(conn: Connection, tenant_id: int | None, *, state: str | None, limit: int, offset: int) -> tuple[int, Sequence[Row]]:
    where = []
    if tenant_id is not None:
        where.append(outbox.c.tenant_id == tenant_id)
    if state is not None:
        where.append(outbox.c.state == state)
    total = conn.execute(select(func.count()).select_from(outbox).where(*where)).scalar_one()
    rows = conn.execute(select(outbox).where(*where).order_by(outbox.c.id.desc()).limit(limit).offset(offset)).all()
    return total, rows
