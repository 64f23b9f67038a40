"""SPEC §9: which events an endpoint may subscribe to, and the retry schedule of a delivery
(exponential back-off from 30 s, at most every 2 h, given up 24 h after it was first due)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from offboard.domain import webhooks as wh
from offboard.domain.errors import ValidationError
from offboard.i18n.glossary import GLOSSARY
from offboard.webhooks.signature import refusal, sign

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_spec_9_events_are_stored_in_a_stable_order_and_star_means_every_event():
    assert wh.events(["member.restored", " member.exited ", "member.exited"]) == ["member.exited", "member.restored"]
    assert wh.events(["tenant.frozen", "*"]) == ["*"]
    assert wh.subscribed(["*"], "exit.finalized") and wh.subscribed(["member.exited"], wh.TEST)
    assert not wh.subscribed(["member.exited"], "member.restored")


@pytest.mark.parametrize(
    "chosen, code", [([], "webhook_events_required"), (["", " "], "webhook_events_required"), (["member.exploded"], "webhook_event_unknown"), (["audit.checkpoint"], "webhook_event_unknown")]
)
def test_spec_9_no_event_or_an_unknown_one_is_refused_by_name(chosen, code):
    with pytest.raises(ValidationError) as refused:
        wh.events(chosen)
    assert refused.value.code == code


def test_spec_9_every_event_has_words_in_both_languages():
    assert set(wh.EVENTS) | {wh.ALL, wh.TEST} == set(GLOSSARY["webhook_event"])


def test_spec_9_retries_back_off_exponentially_to_two_hours_and_stop_after_24_hours():
    give_up = T0 + wh.RETRY_FOR
    now, delays = T0, []
    for attempts in range(1, 100):
        at = wh.next_attempt(attempts, now, give_up)
        if at is None:
            break
        delays.append(at - now)
        now = at
    assert delays[:5] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert max(delays) == wh.LAST_RETRY and delays[-1] == wh.LAST_RETRY
    assert now <= give_up < now + wh.LAST_RETRY and 15 <= len(delays) <= 20


def test_spec_9_a_signature_is_refused_with_its_reason():
    body = b'{"grant_id":1}'
    good = sign("whsec_a", int(T0.timestamp()), body)
    assert refusal("whsec_a", good, body, T0) is None
    assert refusal("whsec_a", "", body, T0) == "malformed"
    assert refusal("whsec_a", "t=abc,v1=00", body, T0) == "malformed"
    assert refusal("whsec_a", f"t={int(T0.timestamp())}", body, T0) == "malformed"
    assert refusal("whsec_a", good, body, T0 + timedelta(minutes=6)) == "expired"
    assert refusal("whsec_b", good, body, T0) == "mismatch"
    assert refusal("whsec_a", good, body + b" ", T0) == "mismatch"


def test_spec_9_the_receivers_check_in_the_docs_accepts_our_signature_and_nothing_else():
    import re
    import time
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    (snippet,) = re.findall(r"```python\n(.*?)```", text, re.S)
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 - the documentation's own code, run as a receiver would
    body = b'{"id":"member.exited/1/42"}'
    header = sign("whsec_a", int(time.time()), body)
    assert scope["verified"]("whsec_a", header, body)
    assert not scope["verified"]("whsec_b", header, body)
    assert not scope["verified"]("whsec_a", header, body + b" ")
    assert not scope["verified"]("whsec_a", sign("whsec_a", int(time.time()) - 301, body), body)
    assert not scope["verified"]("whsec_a", "nonsense", body)
