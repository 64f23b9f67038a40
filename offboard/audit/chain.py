"""The audit event's hashed core (SPEC §8) and the verification of a tenant's chain.

The core's encoding is fixed from the first migration: canonical JSON (sorted keys, no
spaces, UTF-8) of the fields below. The event hash is the RFC 9162 Merkle leaf hash
SHA-256(0x00 || core), so the same value links the chain and forms the tenant's tree.
Details and personal data live in the unhashed side record; only its digest is hashed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from offboard.audit import personal
from offboard.audit.encoding import canonical

GENESIS = "0" * 64
CORE_VERSION = 1


_string = json.encoder.encode_basestring  # a str as json.dumps(..., ensure_ascii=False) writes it


def targets_text(targets: Iterable[str]) -> str:
    """canonical(list(targets)) as text."""
    return "[" + ",".join(_string(t) for t in targets) + "]"


def side_digest(details: Mapping[str, Any]) -> str:
    """The digest of a side record that holds no personal value (offboard.audit.personal)."""
    return hashlib.sha256(canonical(details)).hexdigest()


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Core:
    tenant: int
    seq: int
    at: str
    actor: str
    action: str
    targets: tuple[str, ...]
    side: str
    prev: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": CORE_VERSION,
            "tenant": self.tenant,
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "targets": list(self.targets),
            "side": self.side,
            "prev": self.prev,
        }

    def encode(self) -> bytes:
        """canonical(self.as_dict()) (encode_core)."""
        return encode_core(self.tenant, self.seq, self.at, self.actor, self.action, targets_text(self.targets), self.side, self.prev)

    def leaf_hash(self) -> str:
        return leaf_hash(self.encode())


def encode_core(tenant: int, seq: int, at: str, actor: str, action: str, targets: str, side: str, prev: str) -> bytes:
    """A core's canonical JSON (`targets` as targets_text), written out field by field in
    sorted key order: the same bytes as canonical(Core.as_dict()), several times faster (every
    event of a bulk exit is encoded)."""
    return (
        f'{{"action":{_string(action)},"actor":{_string(actor)},"at":{_string(at)},"prev":{_string(prev)},'
        f'"seq":{int(seq)},"side":{_string(side)},"targets":{targets},"tenant":{int(tenant)},"v":{CORE_VERSION}}}'
    ).encode("utf-8")


def leaf_hash(core: bytes) -> str:
    """The event hash of an encoded core: SHA-256(0x00 || core)."""
    return hashlib.sha256(b"\x00" + core).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    core: Core
    hash: str
    side_details: Mapping[str, Any] | None  # None when the side record is missing
    side_salts: Mapping[str, str] | None = None  # the salts of its personal values (offboard.audit.personal)


@dataclass(frozen=True)
class Finding:
    seq: int | None
    problem: str  # changed | missing | reordered | side_changed | truncated | head_mismatch

    def describe(self) -> str:
        return f"event {self.seq}: {self.problem}" if self.seq is not None else self.problem


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int
    head: str
    finding: Finding | None = None


def verify(events: Iterable[StoredEvent], head_seq: int, head_hash: str) -> Verdict:
    """Check a tenant's events (in stored seq order) against the head kept on the tenant row.

    Returns at the first event that does not verify and names it.
    """
    expected_seq = 1
    prev = GENESIS
    count = 0
    for event in events:
        core = event.core
        if core.seq > expected_seq:
            return Verdict(False, count, prev, Finding(expected_seq, "missing"))
        if core.seq < expected_seq:
            return Verdict(False, count, prev, Finding(core.seq, "reordered"))
        if core.prev != prev:
            return Verdict(False, count, prev, Finding(core.seq, "reordered" if _looks_reordered(core, prev) else "changed"))
        if core.leaf_hash() != event.hash:
            return Verdict(False, count, prev, Finding(core.seq, "changed"))
        if not personal.verifies(event.side_details, event.side_salts, core.side):
            return Verdict(False, count, prev, Finding(core.seq, "side_changed"))
        prev = event.hash
        expected_seq += 1
        count += 1
    last_seq = expected_seq - 1
    if head_seq > last_seq:
        return Verdict(False, count, prev, Finding(last_seq + 1, "truncated"))
    if head_seq != last_seq or head_hash != prev:
        return Verdict(False, count, prev, Finding(None, "head_mismatch"))
    return Verdict(True, count, prev)


def _looks_reordered(core: Core, prev: str) -> bool:
    # A core that hashes correctly but links to another predecessor was moved, not edited.
    return core.prev != prev and core.prev != GENESIS
