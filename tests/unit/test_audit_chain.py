"""The audit event's hashed core and chain verification (SPEC §8, INV-5)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offboard.audit.chain import GENESIS, Core, StoredEvent, canonical, format_time, side_digest, verify

GOLDEN_DETAILS = {"userid": "amy", "name": "张三"}
GOLDEN_CORE = Core(
    tenant=7,
    seq=3,
    at="2026-11-02T01:00:00.000000Z",
    actor="member:1",
    action="member.added",
    targets=("member:2", "department:5"),
    side=side_digest(GOLDEN_DETAILS),
    prev="ab" * 32,
)
# Fixed from the first migration: a change here breaks every stored chain (SPEC §8).
GOLDEN_SIDE = "ce51394ae1db1e3e2fd776ae4a9022f2e6335176d95d32aac14d1deb018acc05"
GOLDEN_ENCODING = (
    b'{"action":"member.added","actor":"member:1","at":"2026-11-02T01:00:00.000000Z",'
    b'"prev":"abababababababababababababababababababababababababababababababab","seq":3,'
    b'"side":"ce51394ae1db1e3e2fd776ae4a9022f2e6335176d95d32aac14d1deb018acc05",'
    b'"targets":["member:2","department:5"],"tenant":7,"v":1}'
)
GOLDEN_HASH = "cb65032ab12333a976478eae7c6ae1dc50a0e7a1b654af70f75fb9f6e647c512"


def test_spec_8_core_encoding_is_canonical_and_fixed():
    assert GOLDEN_CORE.side == GOLDEN_SIDE
    assert GOLDEN_CORE.encode() == GOLDEN_ENCODING


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@given(
    tenant=st.integers(1, 2**62),
    seq=st.integers(1, 2**62),
    texts=st.tuples(_TEXT, _TEXT, _TEXT, _TEXT, _TEXT),
    targets=st.lists(_TEXT, max_size=6),
)
def test_spec_8_core_encoding_written_field_by_field_is_the_canonical_json(tenant, seq, texts, targets):
    # The core is written out by hand for speed; it must stay byte for byte canonical(as_dict()),
    # with quotes, backslashes, control characters and any Unicode in the text fields.
    at, actor, action, side, prev = texts
    core = Core(tenant, seq, at, actor, action, tuple(targets), side, prev)
    assert core.encode() == canonical(core.as_dict())


def test_spec_8_golden_leaf_hash_of_a_fixed_core():
    assert GOLDEN_CORE.leaf_hash() == GOLDEN_HASH


def test_spec_8_leaf_hash_is_sha256_of_0x00_and_the_core():
    # RFC 9162 §2.1.1: a leaf is hashed with a 0x00 prefix, an interior node with 0x01.
    assert GOLDEN_CORE.leaf_hash() == hashlib.sha256(b"\x00" + GOLDEN_CORE.encode()).hexdigest()
    assert GOLDEN_CORE.leaf_hash() != hashlib.sha256(GOLDEN_CORE.encode()).hexdigest()


def test_side_digest_is_independent_of_key_order_and_covers_unicode():
    assert side_digest({"a": 1, "b": "é"}) == side_digest({"b": "é", "a": 1})
    assert canonical({"b": "张", "a": [1, 2]}) == '{"a":[1,2],"b":"张"}'.encode()
    assert side_digest({"a": 1}) != side_digest({"a": 2})


@pytest.mark.parametrize(
    "field,value",
    [
        ("tenant", 8),
        ("seq", 4),
        ("at", "2026-11-02T01:00:00.000001Z"),
        ("actor", "operator"),
        ("action", "member.removed"),
        ("targets", ("member:2",)),
        ("targets", ("department:5", "member:2")),
        ("side", "0" * 64),
        ("prev", GENESIS),
    ],
)
def test_every_core_field_is_hashed(field, value):
    assert replace(GOLDEN_CORE, **{field: value}).leaf_hash() != GOLDEN_HASH


def test_format_time_is_utc_with_microseconds():
    shanghai = timezone(timedelta(hours=8))
    assert format_time(datetime(2026, 11, 2, 9, 0, tzinfo=shanghai)) == "2026-11-02T01:00:00.000000Z"
    assert format_time(datetime(2026, 11, 2, 1, 0, 0, 5, tzinfo=UTC)) == "2026-11-02T01:00:00.000005Z"


# --- chains -------------------------------------------------------------------------------------


def make_chain(n: int, tenant: int = 1) -> list[StoredEvent]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        details = {"n": seq, "who": f"user{seq}"}
        core = Core(tenant, seq, f"2026-11-02T01:00:{seq:02d}.000000Z", "operator", f"test.{seq}", (f"member:{seq}",), side_digest(details), prev)
        prev = core.leaf_hash()
        events.append(StoredEvent(core, prev, details))
    return events


def head(events: list[StoredEvent]) -> tuple[int, str]:
    return events[-1].core.seq, events[-1].hash


def test_inv_5_a_good_chain_verifies():
    events = make_chain(6)
    verdict = verify(events, *head(events))
    assert verdict.ok
    assert verdict.events == 6
    assert verdict.head == events[-1].hash
    assert verdict.finding is None


def test_inv_5_an_empty_chain_verifies_against_the_genesis_head():
    assert verify([], 0, GENESIS).ok


@pytest.mark.parametrize("k", [1, 3, 6])
def test_inv_5_a_changed_field_is_named(k):
    events = make_chain(6)
    seq, hash_ = head(events)
    bad = events[k - 1]
    events[k - 1] = StoredEvent(replace(bad.core, action="role.removed"), bad.hash, bad.side_details)
    verdict = verify(events, seq, hash_)
    assert not verdict.ok
    assert (verdict.finding.seq, verdict.finding.problem) == (k, "changed")
    assert verdict.events == k - 1


@pytest.mark.parametrize("k", [1, 4, 6])
def test_inv_5_a_changed_side_record_is_named(k):
    events = make_chain(6)
    bad = events[k - 1]
    events[k - 1] = StoredEvent(bad.core, bad.hash, {**bad.side_details, "who": "someone else"})
    verdict = verify(events, *head(make_chain(6)))
    assert (verdict.ok, verdict.finding.seq, verdict.finding.problem) == (False, k, "side_changed")


def test_inv_5_a_missing_side_record_is_named():
    events = make_chain(4)
    events[1] = StoredEvent(events[1].core, events[1].hash, None)
    verdict = verify(events, *head(make_chain(4)))
    assert (verdict.ok, verdict.finding.seq, verdict.finding.problem) == (False, 2, "side_changed")


@pytest.mark.parametrize("k", [1, 3, 5])
def test_inv_5_a_missing_middle_event_is_named(k):
    events = make_chain(6)
    seq, hash_ = head(events)
    del events[k - 1]
    verdict = verify(events, seq, hash_)
    assert (verdict.ok, verdict.finding.seq, verdict.finding.problem) == (False, k, "missing")


@pytest.mark.parametrize("k", [1, 3, 5])
def test_inv_5_events_whose_seq_values_were_swapped_are_named(k):
    # What `UPDATE ... SET seq` on two rows does: each row now carries the other's number.
    events = make_chain(6)
    seq, hash_ = head(events)
    a, b = events[k - 1], events[k]
    events[k - 1] = StoredEvent(replace(b.core, seq=k), b.hash, b.side_details)
    events[k] = StoredEvent(replace(a.core, seq=k + 1), a.hash, a.side_details)
    verdict = verify(events, seq, hash_)
    assert not verdict.ok
    assert verdict.finding.seq == k
    assert verdict.finding.problem == "reordered"


def test_inv_5_events_read_out_of_order_are_named():
    events = make_chain(5)
    seq, hash_ = head(events)
    events[2], events[3] = events[3], events[2]
    verdict = verify(events, seq, hash_)
    assert not verdict.ok
    assert verdict.finding.seq == 3


def test_inv_5_a_duplicated_event_is_named():
    events = make_chain(4)
    seq, hash_ = head(events)
    events.insert(2, events[1])
    verdict = verify(events, seq, hash_)
    assert (verdict.ok, verdict.finding.seq, verdict.finding.problem) == (False, 2, "reordered")


@pytest.mark.parametrize("dropped", [1, 2])
def test_inv_5_a_truncated_tail_is_caught_by_the_head_on_the_tenant(dropped):
    events = make_chain(6)
    seq, hash_ = head(events)
    verdict = verify(events[:-dropped], seq, hash_)
    assert not verdict.ok
    assert (verdict.finding.seq, verdict.finding.problem) == (6 - dropped + 1, "truncated")
    assert verdict.events == 6 - dropped


def test_inv_5_a_head_hash_mismatch_is_caught():
    events = make_chain(3)
    seq, _ = head(events)
    verdict = verify(events, seq, "f" * 64)
    assert not verdict.ok
    assert (verdict.finding.seq, verdict.finding.problem) == (None, "head_mismatch")
    assert verdict.finding.describe() == "head_mismatch"


def test_inv_5_events_beyond_the_head_are_caught():
    events = make_chain(4)
    verdict = verify(events, 3, events[2].hash)
    assert (verdict.ok, verdict.finding.problem) == (False, "head_mismatch")


def test_inv_5_rewriting_an_event_together_with_its_hash_breaks_the_next_link():
    events = make_chain(5)
    seq, hash_ = head(events)
    bad = events[1]
    forged = replace(bad.core, actor="member:99")
    events[1] = StoredEvent(forged, forged.leaf_hash(), bad.side_details)
    verdict = verify(events, seq, hash_)
    assert not verdict.ok
    assert verdict.finding.seq == 3  # event 2 is self-consistent; its successor no longer links to it


def test_inv_5_rewriting_the_last_event_and_its_hash_is_caught_by_the_head():
    events = make_chain(3)
    seq, hash_ = head(events)
    forged = replace(events[-1].core, action="nothing.happened")
    events[-1] = StoredEvent(forged, forged.leaf_hash(), events[-1].side_details)
    verdict = verify(events, seq, hash_)
    assert (verdict.ok, verdict.finding.problem) == (False, "head_mismatch")


def test_inv_8_an_event_of_another_tenant_does_not_verify_in_this_chain():
    events = make_chain(3)
    other = make_chain(3, tenant=2)
    events[1] = other[1]
    verdict = verify(events, *head(make_chain(3)))
    assert not verdict.ok
    assert verdict.finding.seq == 2
