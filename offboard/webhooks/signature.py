"""The webhook signature, in the manner of Stripe's: a timestamp and an HMAC-SHA256 over it and
the body, so a receiver can tell the body is ours and refuse an old one replayed.

    Offboard-Signature: t=1796173200,v1=5f0c…(64 hex digits)

`t` is the sending time in Unix seconds; `v1` is hex HMAC-SHA256, keyed with the
subscription's secret (UTF-8), of the ASCII `t`, a ".", then the body bytes exactly as sent.
While a secret is being replaced the header may carry several `v1=` values, one per secret.
A receiver recomputes `v1` over the raw body, compares in constant time, and refuses a `t`
further than its tolerance (five minutes here) from its own clock.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

HEADER = "Offboard-Signature"
TOLERANCE = timedelta(minutes=5)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp` (Unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: datetime, tolerance: timedelta = TOLERANCE) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance` of `now`."""
    return refusal(secret, header, body, now, tolerance) is None


def refusal(secret: str, header: str, body: bytes, now: datetime, tolerance: timedelta = TOLERANCE) -> str | None:
    """Why `header` does not sign `body`: "malformed" (no single `t`, no `v1`), "expired" (`t`
    outside the tolerance: an old request replayed, or a clock far off), "mismatch"; None when it does."""
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for name, _, value in fields if name == "t"]
    digests = [value for name, _, value in fields if name == "v1"]
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit() and len(stamps[0]) <= 12) or not digests:
        return "malformed"
    timestamp = int(stamps[0])
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return "expired"
    expected = _digest(secret, timestamp, body).encode("ascii")
    if any(hmac.compare_digest(expected, value.encode("utf-8", "surrogatepass")) for value in digests):
        return None
    return "mismatch"


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
