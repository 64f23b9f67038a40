"""Contracts between the service layer and what lies outside it, built in offboard.bootstrap.

Each contract has a real implementation and a fake in tests/support, and
tests/integration/test_contracts.py runs every implementation through the same assertions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import Profile, ResourceKind


@runtime_checkable
class Clock(Protocol):
    """The one source of "now" for actions and jobs; tests move a fake one by hand."""

    def now(self) -> datetime:
        """An aware datetime in UTC, never earlier than the last one this clock returned
        (within a process: the wall clock may step back, "now" does not)."""
        ...


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


class KeyVaultError(OffboardError):
    """A data key that cannot be wrapped or unwrapped; `code` says why (key file missing,
    unreadable, readable by others, garbled; a wrap that does not open)."""

    code = "key_vault_error"
    status = 500


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped by one key-encryption key of a data region, stored beside the data
    it protects. `key_id` names that key-encryption key, so a wrap made before a rotation
    still unwraps after it."""

    region: str
    key_id: str
    blob: bytes


@runtime_checkable
class KeyVault(Protocol):
    """Envelope encryption (R-LAW-3): keeps one or more key-encryption keys per data region
    and wraps 32-byte data keys with them. `associated_data` binds a wrap to what it protects
    (tenant, member, record): unwrapping with other associated data, another region or
    another key is refused with a KeyVaultError. A local key file or a cloud KMS."""

    def wrap(self, region: str, data_key: bytes, associated_data: bytes) -> WrappedKey:
        """Wrap under the region's newest key-encryption key (made on first use)."""
        ...

    def unwrap(self, wrapped: WrappedKey, associated_data: bytes) -> bytes: ...

    def new_key(self, region: str) -> str:
        """Make a new key-encryption key the region's newest; returns its key id. Older keys
        stay: what they wrapped still unwraps, and `rotate` moves it to the newest."""
        ...

    def rotate(self, wrapped: WrappedKey, associated_data: bytes) -> WrappedKey:
        """The same data key re-wrapped under the region's newest key-encryption key; the data
        it protects is not touched (`offboard keys rotate`)."""
        ...


class DeliveryError(OffboardError):
    """A webhook the endpoint did not accept (no answer, a timeout, a status other than 2xx):
    raised out of an outbox subscriber, so the outbox retries it with back-off."""

    code = "webhook_delivery_failed"
    status = 502

    @property
    def http_status(self) -> int | None:
        """The endpoint's answer, or None when there was none (refused, timed out)."""
        answer = self.params.get("status")
        return answer if isinstance(answer, int) else None


@runtime_checkable
class WebhookSender(Protocol):
    """POSTs one JSON payload to an endpoint, signed with the subscription's secret
    (HMAC-SHA256 over a timestamp and the body: offboard.webhooks.sign). Only https
    endpoints, or plain http on the loopback interface (`webhook_url_insecure`)."""

    def send(self, url: str, secret: str, payload: Mapping[str, Any]) -> int:
        """The endpoint's 2xx status, or raises DeliveryError."""
        ...


class ConnectorError(OffboardError):
    """The platform refused or did not answer; raised out of the connector's outbox
    subscriber, so the outbox retries it with back-off."""

    code = "connector_failed"
    status = 502


@dataclass(frozen=True)
class ExitMirror:
    """An exit as a platform is told of it (Feishu `DELETE contact/v3/users/:user_id` with its
    acceptors, DingTalk `user/delete`, WeCom `user/delete` and the resigned-customer transfer).
    `acceptors` names, per resource kind, the userid that inherits it; a kind left out keeps
    the platform's own default. `key` is the outbox key: a call repeated with it acts once."""

    key: str
    tenant_id: int
    userid: str
    acceptors: Mapping[ResourceKind, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RestoreMirror:
    """A restore inside the window (R-EXIT-6), as a platform is told of it (Feishu
    `users/:user_id/resurrect`): the member is back in `departments` (offboard department ids)."""

    key: str
    tenant_id: int
    userid: str
    departments: tuple[int, ...] = ()


@dataclass(frozen=True)
class MirrorResult:
    """What the platform answered: its request id (for its support and our logs) and the
    kinds it finishes later (the WeCom customer transfer waits for the 24 h takeover), whose
    outcome it reports against the mirror's key (R-ORG-2)."""

    platform_ref: str
    pending: frozenset[ResourceKind] = frozenset()


@runtime_checkable
class PlatformConnector(Protocol):
    """Mirrors offboard's exits onto one workspace platform through its official SDK
    (`platform` names it as the policy profiles do). Called from the outbox, so at
    least once per event: a repeated key returns the first result and does nothing again."""

    platform: Profile

    def mirror_exit(self, exit: ExitMirror) -> MirrorResult: ...

    def mirror_restore(self, restore: RestoreMirror) -> MirrorResult: ...
