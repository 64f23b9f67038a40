"""Contracts between the service layer and what lies outside it, built in offboard.bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Delivery:
    """One outbox event as a subscriber receives it: ids and codes, never personal data. The
    same event may arrive more than once (a worker died mid-delivery): `key` identifies it."""

    tenant_id: int
    topic: str
    key: str
    ids: dict[str, int | str]
    created_at: datetime
    attempt: int


class OutboxSubscriber(Protocol):
    """Receives the outbox events of its topics after they commit ("*" for every topic).
    `deliver` returns when done and raises to be retried later with back-off."""

    name: str
    topics: frozenset[str]

    def deliver(self, delivery: Delivery) -> None: ...
