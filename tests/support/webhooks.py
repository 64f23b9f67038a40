"""A webhook sender that records what it would POST instead of opening a connection. It checks
the endpoint, encodes and signs exactly as offboard.webhooks.sender does, and answers with
`status` (a non-2xx raises the same DeliveryError)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from offboard.interfaces import Clock
from offboard.webhooks.sender import check_endpoint, encode, headers, rejected


@dataclass(frozen=True)
class Sent:
    url: str
    headers: dict[str, str]
    body: bytes


class RecordingWebhookSender:
    def __init__(self, clock: Clock, status: int = 200) -> None:
        self.clock = clock
        self.status = status
        self.sent: list[Sent] = []

    def send(self, url: str, secret: str, payload: Mapping[str, Any]) -> int:
        check_endpoint(url)
        body = encode(payload)
        self.sent.append(Sent(url, headers(secret, int(self.clock.now().timestamp()), body), body))
        if not 200 <= self.status < 300:
            raise rejected(url, self.status)
        return self.status
