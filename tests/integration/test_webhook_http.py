"""The HTTP webhook sender beyond the shared contract (tests/integration/test_contracts.py):
timeouts, endpoints that are down, redirects, and a failing endpoint retried by the outbox."""

from __future__ import annotations

import socket
import time

import pytest

from offboard.interfaces import Delivery, DeliveryError
from offboard.jobs import outbox as runner
from offboard.webhooks.sender import HttpWebhookSender, check_endpoint
from offboard.webhooks.signature import HEADER, verify
from tests.support.exits import make_company, start
from tests.support.http_endpoint import HttpEndpoint

SECRET = "whsec_test_0123456789"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def test_a_slow_endpoint_times_out_as_a_delivery_error(clock):
    with HttpEndpoint() as endpoint:
        endpoint.delay = 2.0
        began = time.monotonic()
        with pytest.raises(DeliveryError) as refusal:
            HttpWebhookSender(clock, timeout=0.3).send(endpoint.url, SECRET, {"topic": "member.exited"})
        assert time.monotonic() - began < 1.5
    assert refusal.value.code == "webhook_unreachable" and refusal.value.http_status is None


def test_an_endpoint_that_is_down_is_a_delivery_error(clock):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once it is closed
    with pytest.raises(DeliveryError) as refusal:
        HttpWebhookSender(clock).send(f"http://127.0.0.1:{port}/hooks", SECRET, {"topic": "member.exited"})
    assert refusal.value.code == "webhook_unreachable"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed(clock, status):
    with HttpEndpoint() as endpoint:
        endpoint.status = status
        with pytest.raises(DeliveryError) as refusal:
            HttpWebhookSender(clock).send(endpoint.url, SECRET, {"topic": "member.exited"})
        assert len(endpoint.seen) == 1  # the Location was never called
    assert refusal.value.code == "webhook_rejected" and refusal.value.http_status == status


@pytest.mark.parametrize("url", ["http://localhost:8080/hooks", "http://127.0.0.1/hooks", "http://[::1]:9000/hooks", "https://crm.example.com/hooks"])
def test_plain_http_is_allowed_only_on_loopback(url):
    check_endpoint(url)


class WebhookSubscriber:
    """What issue 13's subscriber does, in miniature: POST each event through the services' sender."""

    name, topics = "webhook", frozenset({"member.exited"})

    def __init__(self, services, url: str) -> None:
        self.services, self.url = services, url

    def deliver(self, delivery: Delivery) -> None:
        self.services.webhooks.send(self.url, SECRET, {"topic": delivery.topic, "key": delivery.key, "ids": delivery.ids})


def test_an_endpoint_answering_500_is_retried_by_the_outbox_until_it_accepts(services, clock):
    company = make_company(services)
    with HttpEndpoint() as endpoint:
        services.subscribers = (WebhookSubscriber(services, endpoint.url),)
        endpoint.status = 500
        start(company, "leo")
        report = runner.drain(services)
        assert report.failed == 1 and "DeliveryError" in report.errors[0]["error"] and "HTTP 500" in report.errors[0]["error"]
        endpoint.status = 200
        clock.advance(seconds=runner.retry_delay(0).total_seconds())
        assert runner.drain(services).delivered == 1
        headers, body = endpoint.seen[-1]
    assert len(endpoint.seen) == 2
    assert verify(SECRET, headers[HEADER.lower()], body, now=clock.now())


def test_an_unreachable_endpoint_is_named_with_the_systems_words_not_its_errno(clock):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError) as refusal:
        HttpWebhookSender(clock).send(f"http://127.0.0.1:{port}/hooks", SECRET, {"topic": "member.exited"})
    assert refusal.value.params["reason"] == "Connection refused" and "Errno" not in str(refusal.value)
