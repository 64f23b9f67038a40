"""Webhook delivery rows: made from each committed outbox event for every active subscription of
its topic, claimed with a lease, sent outside any transaction, and settled (offboard.jobs.webhooks).
A worker killed mid-send loses its lease and the row is sent again: receivers dedupe by event id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update

from offboard.domain import webhooks as wh
from offboard.domain.vocabulary import OutboxState, WebhookStatus
from offboard.store import ids
from offboard.store.driver_rows import insert_rows
from offboard.store.tables import tenants, webhook_deliveries, webhook_subscriptions

S, D = webhook_subscriptions, webhook_deliveries
DUE = (OutboxState.PENDING.value, OutboxState.FAILING.value)


def delivery_row(tenant_id: int, delivery_id: int, subscription_id: int, key: str, topic: str, event_ids: dict[str, Any], event_at: datetime, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "id": delivery_id,
        "subscription_id": subscription_id,
        "event_key": key,
        "topic": topic,
        "ids": event_ids,
        "event_at": event_at,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "give_up_at": now + wh.RETRY_FOR,
        "claimed_until": None,
        "last_status": None,
        "last_error": None,
        "last_attempt_at": None,
        "delivered_at": None,
        "created_at": now,
    }


def fan_out(conn: Connection, tenant_id: int, topic: str, key: str, event_ids: dict[str, Any], event_at: datetime, now: datetime) -> int:
    """One delivery per active subscription of `topic` that has none for this event yet (the
    outbox delivers at least once); returns how many were made."""
    if topic not in wh.EVENTS:
        return 0
    subs = conn.execute(select(S.c.id, S.c.events).where(S.c.tenant_id == tenant_id, S.c.status == WebhookStatus.ACTIVE)).all()
    chosen = {s.id for s in subs if wh.subscribed(s.events, topic)}
    if not chosen:
        return 0
    chosen -= set(conn.execute(select(D.c.subscription_id).where(D.c.tenant_id == tenant_id, D.c.event_key == key)).scalars())
    new_ids = ids.next_ids(conn, D, tenant_id, len(chosen))
    insert_rows(conn, D, [delivery_row(tenant_id, did, sid, key, topic, event_ids, event_at, now) for did, sid in zip(new_ids, sorted(chosen))])
    return len(chosen)


def claim_due(conn: Connection, now: datetime, lease: timedelta, limit: int) -> Sequence[Row]:
    """Due deliveries of active endpoints that no live lease holds, leased to the caller, with
    their endpoint's URL and wrapped secret and the enterprise's slug."""
    due = and_(
        D.c.state.in_(DUE),
        D.c.next_attempt_at <= now,
        or_(D.c.claimed_until.is_(None), D.c.claimed_until <= now),
    )
    active = select(S.c.id).where(S.c.tenant_id == D.c.tenant_id, S.c.id == D.c.subscription_id, S.c.status == WebhookStatus.ACTIVE).exists()
    query = select(D.c.tenant_id, D.c.id).where(due, active).order_by(D.c.next_attempt_at, D.c.tenant_id, D.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=D, skip_locked=True)
    keys = conn.execute(query).all()
    if not keys:
        return []
    matches = or_(*[and_(D.c.tenant_id == t, D.c.id == i) for t, i in keys])
    conn.execute(update(D).where(matches).values(claimed_until=now + lease))
    joined = D.join(S, and_(S.c.tenant_id == D.c.tenant_id, S.c.id == D.c.subscription_id)).join(tenants, tenants.c.id == D.c.tenant_id)
    columns: list[Any] = [D, S.c.url, S.c.region, S.c.kek_id, S.c.secret_wrapped, S.c.app_name, tenants.c.slug.label("tenant_slug")]
    return conn.execute(select(*columns).select_from(joined).where(matches).order_by(D.c.next_attempt_at, D.c.id)).all()


def settle(conn: Connection, row: Row, *, status: int | None, error: str | None, now: datetime) -> str:
    """Record one attempt; returns the delivery's state after it."""
    attempts = row.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "claimed_until": None, "last_status": status, "last_error": error[:255] if error else None, "last_attempt_at": now}
    if error is None:
        values.update(state=OutboxState.DELIVERED.value, delivered_at=now)
    else:
        retry = wh.next_attempt(attempts, now, row.give_up_at)
        values.update(state=OutboxState.FAILING.value, next_attempt_at=retry) if retry else values.update(state=OutboxState.DEAD.value)
    conn.execute(update(D).where(D.c.tenant_id == row.tenant_id, D.c.id == row.id).values(**values))
    return str(values["state"])
