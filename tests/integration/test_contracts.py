"""Every implementation of each contract in offboard.interfaces, real and fake, through the same
assertions: what the fakes promise the tests that use them is what production does."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from offboard.clock import SystemClock
from offboard.crypto.vault import LocalKeyVault
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import Profile, ResourceKind
from offboard.interfaces import (
    Clock,
    DeliveryError,
    ExitMirror,
    KeyVault,
    KeyVaultError,
    MirrorResult,
    PlatformConnector,
    RestoreMirror,
    WebhookSender,
)
from offboard.webhooks.sender import HttpWebhookSender, encode
from offboard.webhooks.signature import HEADER, verify
from tests.support.clock import FakeClock
from tests.support.connectors import RecordingConnector
from tests.support.http_endpoint import HttpEndpoint
from tests.support.vault import MemoryKeyVault
from tests.support.webhooks import RecordingWebhookSender


def assert_implements(obj: object, protocol: type) -> None:
    """As zope.interface's verifyObject does: every member of the protocol is there, and each
    method takes the protocol's parameters under the same names."""
    assert isinstance(obj, protocol)
    for name in getattr(protocol, "__annotations__", {}):
        assert hasattr(obj, name), f"{type(obj).__name__} has no {name}"
    for name, member in vars(protocol).items():
        if not name.startswith("_") and callable(member):
            expected = list(inspect.signature(member).parameters)[1:]
            assert list(inspect.signature(getattr(obj, name)).parameters) == expected, f"{type(obj).__name__}.{name}"


# --- Clock -----------------------------------------------------------------------------------


@pytest.fixture(params=["system", "fake"])
def any_clock(request) -> Clock:
    return SystemClock() if request.param == "system" else FakeClock()


def test_clock_contract(any_clock):
    assert_implements(any_clock, Clock)
    readings = [any_clock.now() for _ in range(200)]
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in readings)
    assert readings == sorted(readings)


def test_system_clock_never_runs_backwards_when_the_wall_clock_steps_back(monkeypatch):
    import offboard.clock

    wall = iter([datetime(2026, 12, 2, 8, 0, 5, tzinfo=UTC), datetime(2026, 12, 2, 8, 0, 1, tzinfo=UTC), datetime(2026, 12, 2, 8, 0, 9, tzinfo=UTC)])

    class SteppingBack(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(wall)

    monkeypatch.setattr(offboard.clock, "datetime", SteppingBack)
    clock = SystemClock()
    assert [clock.now().second for _ in range(3)] == [5, 5, 9]


# --- Key vault -------------------------------------------------------------------------------

DATA_KEY = bytes(range(32))
AD = b"tenant=1|member=7|record=chat"


@pytest.fixture(params=["key_file", "memory"])
def vault(request, tmp_path) -> KeyVault:
    return LocalKeyVault(tmp_path / "offboard.keys") if request.param == "key_file" else MemoryKeyVault()


class _Refusal:
    """pytest.raises for an OffboardError of a given stable code."""

    def __init__(self, code: str, kind: type[OffboardError] = KeyVaultError) -> None:
        self.code, self.kind = code, kind

    def __enter__(self):
        self._raises = pytest.raises(self.kind)
        self.info = self._raises.__enter__()
        return self.info

    def __exit__(self, *exc):
        handled = self._raises.__exit__(*exc)
        assert self.info.value.code == self.code, self.info.value.to_dict()
        return handled


def test_vault_implements_the_contract(vault):
    assert_implements(vault, KeyVault)


def test_vault_round_trip(vault):
    wrapped = vault.wrap("cn", DATA_KEY, AD)
    assert wrapped.region == "cn" and DATA_KEY not in wrapped.blob
    assert vault.unwrap(wrapped, AD) == DATA_KEY
    again = vault.wrap("cn", DATA_KEY, AD)
    assert again.key_id == wrapped.key_id and again.blob != wrapped.blob  # a fresh nonce each time


def test_vault_refuses_other_associated_data(vault):
    wrapped = vault.wrap("cn", DATA_KEY, AD)
    with _Refusal("key_unwrap_failed"):
        vault.unwrap(wrapped, b"tenant=1|member=8|record=chat")


def test_vault_refuses_another_region(vault):
    wrapped = vault.wrap("cn", DATA_KEY, AD)
    vault.wrap("eu", DATA_KEY, AD)
    with _Refusal("key_unwrap_failed"):
        vault.unwrap(replace(wrapped, region="eu"), AD)


def test_vault_refuses_a_changed_wrap(vault):
    wrapped = vault.wrap("cn", DATA_KEY, AD)
    flipped = wrapped.blob[:-1] + bytes([wrapped.blob[-1] ^ 1])
    with _Refusal("key_unwrap_failed"):
        vault.unwrap(replace(wrapped, blob=flipped), AD)
    with _Refusal("key_unknown"):
        vault.unwrap(replace(wrapped, key_id="cn.v99.00000000"), AD)


def test_vault_keys_regions_apart(vault):
    cn, eu = vault.wrap("cn", DATA_KEY, AD), vault.wrap("eu", DATA_KEY, AD)
    assert cn.key_id != eu.key_id
    vault.new_key("eu")
    assert vault.wrap("cn", DATA_KEY, AD).key_id == cn.key_id


def test_vault_rotation_keeps_old_wraps_readable_and_wraps_anew_under_the_newest_key(vault):
    old = vault.wrap("cn", DATA_KEY, AD)
    newest = vault.new_key("cn")
    assert newest != old.key_id
    assert vault.unwrap(old, AD) == DATA_KEY
    assert vault.wrap("cn", DATA_KEY, AD).key_id == newest
    rotated = vault.rotate(old, AD)
    assert rotated.key_id == newest and rotated.region == "cn"
    assert vault.unwrap(rotated, AD) == DATA_KEY
    assert vault.unwrap(old, AD) == DATA_KEY  # the old key stays until every wrap is rotated
    with _Refusal("key_unwrap_failed"):
        vault.rotate(old, b"other")


def test_vault_refuses_bad_input(vault):
    with _Refusal("invalid_region", OffboardError):
        vault.wrap("mars", DATA_KEY, AD)
    with pytest.raises(ValueError):
        vault.wrap("cn", DATA_KEY[:16], AD)


def test_vault_refuses_a_wrap_of_another_vault(vault, tmp_path):
    other = LocalKeyVault(tmp_path / "other.keys") if isinstance(vault, LocalKeyVault) else MemoryKeyVault()
    wrapped = other.wrap("cn", DATA_KEY, AD)
    vault.wrap("cn", DATA_KEY, AD)
    with pytest.raises(KeyVaultError) as refusal:
        vault.unwrap(wrapped, AD)
    assert refusal.value.code in ("key_unknown", "key_unwrap_failed")


# --- Webhook sender ----------------------------------------------------------------------------

SECRET = "whsec_test_0123456789"
PAYLOAD = {"topic": "member.exited", "tenant_id": 1, "ids": {"member_id": 7}, "label": "离职"}


@dataclass
class Webhooks:
    sender: WebhookSender
    clock: FakeClock
    url: str
    seen: Callable[[], list[tuple[dict[str, str], bytes]]]
    answer: Callable[[int], None]


@pytest.fixture(params=["http", "recording"])
def webhooks(request, monkeypatch) -> Iterator[Webhooks]:
    clock = FakeClock(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    if request.param == "recording":
        fake = RecordingWebhookSender(clock)
        yield Webhooks(
            fake,
            clock,
            "https://crm.example.com/hooks/offboard",
            lambda: [({k.lower(): v for k, v in s.headers.items()}, s.body) for s in fake.sent],
            lambda status: setattr(fake, "status", status),
        )
        return
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")  # a proxy in the environment must not carry loopback calls
    endpoint = HttpEndpoint()
    try:
        yield Webhooks(HttpWebhookSender(clock, timeout=5), clock, endpoint.url, lambda: endpoint.seen, lambda status: setattr(endpoint, "status", status))
    finally:
        endpoint.close()


def test_webhook_sender_implements_the_contract(webhooks):
    assert_implements(webhooks.sender, WebhookSender)


def test_webhook_arrives_as_signed_json(webhooks):
    assert webhooks.sender.send(webhooks.url, SECRET, PAYLOAD) == 200
    [(headers, body)] = webhooks.seen()
    assert body == encode(PAYLOAD) and json.loads(body) == PAYLOAD
    assert headers["content-type"].startswith("application/json")
    signature = headers[HEADER.lower()]
    assert signature.startswith(f"t={int(webhooks.clock.now().timestamp())},v1=")
    assert verify(SECRET, signature, body, now=webhooks.clock.now())


def test_webhook_signature_fails_on_another_secret_a_changed_body_or_an_old_timestamp(webhooks):
    webhooks.sender.send(webhooks.url, SECRET, PAYLOAD)
    [(headers, body)] = webhooks.seen()
    signature, now = headers[HEADER.lower()], webhooks.clock.now()
    assert not verify("whsec_other", signature, body, now=now)
    assert not verify(SECRET, signature, body.replace(b"7", b"8"), now=now)
    assert not verify(SECRET, signature, body, now=now + timedelta(minutes=6))
    assert not verify(SECRET, signature.replace("t=", "t=1"), body, now=now)
    assert verify(SECRET, signature, body, now=now + timedelta(minutes=4))


def test_webhook_returns_the_2xx_status(webhooks):
    webhooks.answer(204)
    assert webhooks.sender.send(webhooks.url, SECRET, PAYLOAD) == 204


@pytest.mark.parametrize("status", [400, 404, 410, 500, 503])
def test_webhook_answered_other_than_2xx_raises_a_delivery_error(webhooks, status):
    webhooks.answer(status)
    with _Refusal("webhook_rejected", DeliveryError) as refusal:
        webhooks.sender.send(webhooks.url, SECRET, PAYLOAD)
    assert refusal.value.http_status == status
    assert len(webhooks.seen()) == 1


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://crm.example.com/hooks", "webhook_url_insecure"),
        ("http://10.0.0.8/hooks", "webhook_url_insecure"),
        ("ftp://crm.example.com/hooks", "webhook_url_invalid"),
        ("https:///hooks", "webhook_url_invalid"),
        ("crm.example.com/hooks", "webhook_url_invalid"),
    ],
)
def test_webhook_goes_only_to_https_or_loopback(webhooks, url, code):
    with _Refusal(code, OffboardError):
        webhooks.sender.send(url, SECRET, PAYLOAD)
    assert webhooks.seen() == []


# --- Platform connector ------------------------------------------------------------------------
# Only the fake for now: the WeCom, DingTalk and Feishu connectors join these params when they land.


@pytest.fixture(params=["recording"])
def connector(request) -> PlatformConnector:
    return RecordingConnector(Profile.WECOM, pending=frozenset({ResourceKind.EXTERNAL_CONTACT}))


EXIT = ExitMirror(
    key="outbox:41",
    tenant_id=1,
    userid="zhangsan",
    acceptors={ResourceKind.EXTERNAL_CONTACT: "lisi", ResourceKind.DOCUMENT: "wangwu"},
)


def test_connector_implements_the_contract(connector):
    assert_implements(connector, PlatformConnector)
    assert connector.platform in set(Profile)


def test_connector_mirrors_an_exit_once_per_key(connector):
    first = connector.mirror_exit(EXIT)
    assert isinstance(first, MirrorResult) and first.platform_ref
    assert first.pending <= set(EXIT.acceptors)
    assert connector.mirror_exit(EXIT) == first  # the outbox delivers at least once
    other = connector.mirror_exit(replace(EXIT, key="outbox:42", userid="zhaoliu"))
    assert other.platform_ref != first.platform_ref


def test_connector_mirrors_a_restore_once_per_key(connector):
    connector.mirror_exit(EXIT)
    restore = RestoreMirror(key="outbox:43", tenant_id=1, userid="zhangsan", departments=(3,))
    first = connector.mirror_restore(restore)
    assert isinstance(first, MirrorResult) and first.platform_ref and not first.pending
    assert connector.mirror_restore(restore) == first
