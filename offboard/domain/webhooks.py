"""Webhooks out (SPEC §9): the events an endpoint may subscribe to, and how long a delivery is
retried. Pure rules; the rows are in offboard.store.tables, the sending in offboard.jobs.webhooks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from offboard.domain.errors import ValidationError, error

ALL = "*"
TEST = "webhook.test"  # sent on request to one endpoint, to check it answers

# The outbox topics a tenant may subscribe an endpoint to, in the order the console lists them.
EVENTS: tuple[str, ...] = (
    "exit.scheduled",
    "exit.rescheduled",
    "member.exited",
    "member.restored",
    "member.rolled_back",
    "exit.cancelled",
    "exit.finalized",
    "resource.transferred",
    "app.reauthorization_required",
    "admin.handover.started",
    "admin.handover.completed",
    "admin.handover.cancelled",
    "admin.handover.reverted",
    "admin.handover.window_closed",
    "member.frozen",
    "member.unfrozen",
    "tenant.frozen",
    "tenant.recovered",
)

FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=2)
RETRY_FOR = timedelta(hours=24)  # a delivery is given up 24 h after it was first due
MAX_SUBSCRIPTIONS = 20  # endpoints per tenant


def events(chosen: Iterable[str]) -> list[str]:
    """The events as stored: ["*"] for every event, else the chosen ones in EVENTS order."""
    picked = {e.strip() for e in chosen if e and e.strip()}
    if not picked:
        raise error(ValidationError, "webhook_events_required", "Choose at least one event for the endpoint, or every event.")
    if ALL in picked:
        return [ALL]
    unknown = sorted(picked - set(EVENTS))
    if unknown:
        raise error(
            ValidationError,
            "webhook_event_unknown",
            "{name} is not an event an endpoint can be told of; choose from: {choices}, or * for every event.",
            name=unknown[0],
            choices=", ".join(EVENTS),
        )
    return [e for e in EVENTS if e in picked]


def subscribed(stored: Iterable[str], topic: str) -> bool:
    chosen = set(stored)
    return topic == TEST or ALL in chosen or topic in chosen


def next_attempt(attempts: int, now: datetime, give_up_at: datetime) -> datetime | None:
    """When to try again after `attempts` failed tries (30 s, 1 min, 2 min … at most every 2 h),
    or None when that would be past `give_up_at`: the delivery is then given up."""
    delay = min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), LAST_RETRY)
    at = now + delay
    return at if at <= give_up_at else None
