"""The outbox runner (SPEC §10): delivers each committed event to every subscriber of its topic.

Each row is claimed with a lease in a short transaction of its own, delivered outside any
transaction, and settled in another: a subscriber that fails is retried with exponential
back-off and never holds up other rows or the other subscribers of the same row (those that
succeeded are recorded and not called again). First of all, each event becomes one webhook
delivery per endpoint subscribed to it, sent and retried on its own (offboard.jobs.webhooks). After MAX_ATTEMPTS the row is `dead` and stays
listed (`offboard outbox list --state dead`) until someone looks.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypedDict

import structlog

from offboard.actions.context import Services
from offboard.interfaces import Delivery, OutboxSubscriber
from offboard.store import outbox as store
from offboard.store import webhooks as webhook_rows

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 12  # 30 s, 1 min, 2 min ... then hourly: about seven hours in all
WEBHOOKS = "webhooks"  # built in: each event becomes a delivery per subscribed endpoint (offboard.jobs.webhooks)

log = structlog.get_logger("offboard.outbox")


class EventLog:
    """Every event as one structured log line, for a log shipper or a SIEM to pick up."""

    name = "event_log"
    topics = frozenset({"*"})

    def deliver(self, delivery: Delivery) -> None:
        log.info("outbox_event", topic=delivery.topic, tenant_id=delivery.tenant_id, key=delivery.key, ids=delivery.ids)


def default_subscribers() -> tuple[OutboxSubscriber, ...]:
    return (EventLog(),)


def load_subscribers(spec: str) -> tuple[OutboxSubscriber, ...]:
    """Subscribers named as `module:factory` (comma-separated), e.g. from OFFBOARD_OUTBOX_SUBSCRIBERS."""
    found = []
    for part in (p.strip() for p in spec.split(",")):
        if part:
            module, _, attr = part.partition(":")
            found.append(getattr(importlib.import_module(module), attr)())
    return tuple(found)


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** min(attempts, 20), LAST_RETRY)


class DeliveryError(TypedDict):
    key: str
    error: str


@dataclass
class DrainReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[DeliveryError] = field(default_factory=list)

    @property
    def touched(self) -> bool:
        return bool(self.delivered or self.failed or self.dead)


def _subscribed(subscribers: Iterable[OutboxSubscriber], topic: str) -> list[OutboxSubscriber]:
    return [s for s in subscribers if "*" in s.topics or topic in s.topics]


def drain(services: Services, *, limit: int = 100, lease: timedelta = LEASE) -> DrainReport:
    """Deliver what is due now; returns what happened. Safe to run in many processes at once."""
    report = DrainReport()
    now = services.clock.now()
    with services.db.write() as conn:
        rows = store.claim_due(conn, now, lease, limit)
    for row in rows:
        delivery = Delivery(row.tenant_id, row.topic, row.key, dict(row.payload["ids"]), row.created_at, row.attempts + 1)
        done_by = list(row.delivered_to or [])
        error = None
        if WEBHOOKS not in done_by:
            try:
                with services.db.write() as conn:
                    webhook_rows.fan_out(conn, row.tenant_id, row.topic, row.key, delivery.ids, row.created_at, services.clock.now())
            except Exception as exc:  # retried with the row, like a subscriber's failure
                error = f"{WEBHOOKS}: {type(exc).__name__}: {exc}"[:200]
                log.warning("outbox_delivery_failed", key=row.key, subscriber=WEBHOOKS, attempt=delivery.attempt, error=error)
            else:
                done_by.append(WEBHOOKS)
        for subscriber in _subscribed(services.subscribers, row.topic):
            if subscriber.name in done_by:
                continue
            try:
                subscriber.deliver(delivery)
            except Exception as exc:  # a subscriber's failure is the row's state, not the runner's
                error = f"{subscriber.name}: {type(exc).__name__}: {exc}"[:200]
                log.warning("outbox_delivery_failed", key=row.key, subscriber=subscriber.name, attempt=delivery.attempt, error=error)
            else:
                done_by.append(subscriber.name)
        finished = services.clock.now()
        dead = error is not None and row.attempts + 1 >= MAX_ATTEMPTS
        with services.db.write() as conn:
            store.settle(conn, row, delivered_to=done_by, done=error is None, error=error, now=finished, retry_at=finished + retry_delay(row.attempts), dead=dead)
        if error is None:
            report.delivered += 1
        else:
            report.dead += dead
            report.failed += not dead
            report.errors.append({"key": row.key, "error": error})
    return report
