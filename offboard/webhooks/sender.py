"""Webhooks over HTTPS with the standard library (the WebhookSender of offboard.interfaces)."""

from __future__ import annotations

import http.client
import ipaddress
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urlsplit

from offboard.clock import SystemClock
from offboard.domain.errors import OffboardError, ValidationError, error
from offboard.interfaces import Clock, DeliveryError
from offboard.webhooks.signature import HEADER, sign

TIMEOUT = 10.0  # seconds, for the connection and for each read of the answer
USER_AGENT = "offboard-webhooks/1"


class HttpWebhookSender:
    """POSTs the signed body and waits at most `timeout` for each step of the answer. Redirects
    are not followed (a 3xx is a failure): the endpoint a tenant subscribed is the one called."""

    def __init__(self, clock: Clock | None = None, timeout: float = TIMEOUT) -> None:
        self.clock = clock or SystemClock()
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    def send(self, url: str, secret: str, payload: Mapping[str, Any]) -> int:
        check_endpoint(url)
        body = encode(payload)
        request = urllib.request.Request(url, data=body, method="POST", headers=headers(secret, int(self.clock.now().timestamp()), body))
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status: int = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise rejected(url, exc.code) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise error(DeliveryError, "webhook_unreachable", "Webhook endpoint {url} did not answer ({reason}); the delivery is retried.", url=url, reason=_why(exc)) from None
        return status


def _why(exc: Exception) -> str:
    """What went wrong, as the operating system says it ("Connection refused"), without its errno."""
    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


def check_endpoint(url: str) -> None:
    """Only https endpoints; plain http only on the loopback interface (a receiver on this host)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise error(ValidationError, "webhook_url_invalid", "{url} is not a webhook endpoint; give an https:// URL.", url=url)
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise error(
            ValidationError,
            "webhook_url_insecure",
            "Webhook endpoint {url} is not https; webhooks go only to https endpoints (plain http only to this host's loopback interface).",
            url=url,
        )


def encode(payload: Mapping[str, Any]) -> bytes:
    """The body as sent and signed: compact JSON in UTF-8, keys in order."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, HEADER: sign(secret, timestamp, body)}


def rejected(url: str, status: int) -> OffboardError:
    return error(DeliveryError, "webhook_rejected", "Webhook endpoint {url} answered HTTP {status}; the delivery is retried.", url=url, status=status)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str) -> None:
        return None
