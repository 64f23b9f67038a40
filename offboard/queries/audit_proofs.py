"""Proofs about a tenant's audit log that anyone can check with its public key alone (SPEC §8):
an event's inclusion in a signed checkpoint, an older checkpoint's consistency with a newer
one, and the export of the whole log with its checkpoints; and the check of the stored tree
and checkpoints that `audit verify` adds to the chain's.

Every proof is relative to a signed checkpoint, which travels with it: a verifier checks the
checkpoint's signature with the verifier key, then the proof against the checkpoint's root
(offboard.audit.merkle, offboard.audit.note).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from offboard.audit import merkle, note
from offboard.audit.offline import FORMAT
from offboard.audit.note import Checkpoint, NoteError, Verifier
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import NotFound, ValidationError, error
from offboard.store import audit_log, audit_tree
from offboard.store.audit_tree import StoredCheckpoint
from offboard.store.rows import AnyRow


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    leaf_index: int  # seq - 1
    tree_size: int
    core: str  # the event's hashed core, exactly: SHA-256(0x00 || core) is the leaf hash
    leaf_hash: str  # base64
    proof: list[str]  # base64, leaf first
    checkpoint: str  # the signed note of the tree it is proven in


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    old_root: str  # base64
    new_size: int
    new_root: str
    proof: list[str]
    checkpoint: str  # the signed note of the newer tree
    old_checkpoint: str | None  # the older one's, when it was signed


def _reader(conn: Connection, tenant_id: int) -> Callable[[set[merkle.Node]], dict[merkle.Node, bytes]]:
    return lambda wanted: audit_tree.read_nodes(conn, tenant_id, wanted)


def covering(conn: Connection, tenant: AnyRow, actor: Actor, size: int) -> StoredCheckpoint | None:
    """The oldest checkpoint that holds the first `size` events, if one was signed."""
    require(actor, Action.READ_AUDIT)
    return audit_tree.checkpoint_covering(conn, tenant.id, size)


def inclusion(conn: Connection, tenant: AnyRow, actor: Actor, seq: int, signed: StoredCheckpoint) -> InclusionProof:
    require(actor, Action.READ_AUDIT)
    if not 1 <= seq <= signed.size:
        raise error(NotFound, "event_not_found", "Event {seq} is not in the audit log of this enterprise (it holds {size} events).", seq=seq, size=tenant.audit_seq)
    event = next(audit_log.stored_events(conn, tenant.id, first=seq, last=seq))
    path = merkle.prove(merkle.inclusion_ranges(seq - 1, signed.size), _reader(conn, tenant.id))
    return InclusionProof(seq, seq - 1, signed.size, event.core.encode().decode(), _b64(bytes.fromhex(event.hash)), [_b64(p) for p in path], signed.note)


def consistency(conn: Connection, tenant: AnyRow, actor: Actor, old_size: int, signed: StoredCheckpoint) -> ConsistencyProof:
    require(actor, Action.READ_AUDIT)
    if not 1 <= old_size <= signed.size:
        raise error(ValidationError, "invalid_tree_size", "A consistency proof goes from a size between 1 and {size}, the latest signed one.", size=signed.size)
    reader = _reader(conn, tenant.id)
    path = merkle.prove(merkle.consistency_ranges(old_size, signed.size), reader)
    old_root = merkle.range_hash(0, old_size, reader(set(merkle.perfect(0, old_size))))
    older = audit_tree.checkpoint_of_size(conn, tenant.id, old_size)
    return ConsistencyProof(old_size, _b64(old_root), signed.size, _b64(signed.root), [_b64(p) for p in path], signed.note, older.note if older else None)


@dataclass(frozen=True)
class Signing:
    """What an auditor needs to check this enterprise's log: its verifier key, and how far the
    latest signed checkpoint reaches."""

    verifier_key: str | None  # None until the first checkpoint makes the key
    signed_size: int
    signed_at: datetime | None


def signing(conn: Connection, tenant: AnyRow, actor: Actor) -> Signing:
    require(actor, Action.READ_AUDIT)
    keys = audit_tree.signing_keys(conn, tenant.id)
    latest = audit_tree.latest_checkpoint(conn, tenant.id)
    key = note.verifier_key(keys[0].name, bytes.fromhex(keys[0].public_key)) if keys else None
    return Signing(key, latest.size if latest else 0, latest.signed_at if latest else None)


def verifiers(conn: Connection, tenant_id: int) -> list[Verifier]:
    return [Verifier.parse(note.verifier_key(k.name, bytes.fromhex(k.public_key))) for k in audit_tree.signing_keys(conn, tenant_id)]


@dataclass(frozen=True)
class TreeFinding:
    problem: str  # tree_changed | checkpoint_changed
    seq: int | None  # the first event under the changed node
    checkpoint: int | None  # the size of the checkpoint that does not verify


def check_tree(conn: Connection, tenant_id: int) -> tuple[int, int, TreeFinding | None]:
    """Every stored node against its children (level 1 against the events' hashes), every
    checkpoint's root against the tree, its note against its key. Returns the number of
    checkpoints, the latest signed size and the first finding. The chain is checked first, so
    the leaves are known good."""
    count, latest = 0, 0
    keys = {k.key_id: k for k in audit_tree.signing_keys(conn, tenant_id)}
    checked = 0  # the tree is checked up to this many leaves
    for signed in audit_tree.checkpoints(conn, tenant_id):
        count, latest = count + 1, signed.size
        if signed.size > checked:
            bad = _check_nodes(conn, tenant_id, checked, signed.size)
            if bad is not None:
                return count, latest, TreeFinding("tree_changed", bad, None)
            checked = signed.size
        root = merkle.range_hash(0, signed.size, audit_tree.read_nodes(conn, tenant_id, set(merkle.perfect(0, signed.size))))
        key = keys.get(signed.key_id)
        if root != signed.root or key is None or not _note_holds(signed, key, root):
            return count, latest, TreeFinding("checkpoint_changed", None, signed.size)
    return count, latest, None


def _note_holds(signed: StoredCheckpoint, key: AnyRow, root: bytes) -> bool:
    try:
        text, _ = note.open_note(signed.note, [Verifier.parse(note.verifier_key(key.name, bytes.fromhex(key.public_key)))])
        return Checkpoint.parse(text) == Checkpoint(key.name, signed.size, root)
    except NoteError:
        return False


def _check_nodes(conn: Connection, tenant_id: int, start: int, end: int) -> int | None:
    """The nodes completed between trees of `start` and `end` leaves, each against its two
    children, a level and a range of nodes per statement; the first event under the first bad one."""
    level = 1
    while (1 << level) <= end:
        first, last = start >> level, end >> level  # nodes first .. last-1 complete in this step
        for lo in range(first, last, audit_tree.CHUNK):
            hi = min(lo + audit_tree.CHUNK, last)
            parents = audit_tree.level_range(conn, tenant_id, level, lo, hi)
            children = audit_tree.level_range(conn, tenant_id, level - 1, 2 * lo, 2 * hi)
            for i in range(hi - lo):
                if i >= len(parents) or 2 * i + 1 >= len(children) or parents[i] != merkle.node_hash(children[2 * i], children[2 * i + 1]):
                    return ((lo + i) << level) + 1
        level += 1
    return None


def export_lines(conn: Connection, tenant: AnyRow, actor: Actor) -> Iterator[dict[str, Any]]:
    """The audit log as JSON Lines: a header with the verifier keys, every event (its core
    exactly as hashed, its hash, its details and the salts of its personal values), then every checkpoint's signed note. Checked
    offline by offboard.audit.offline with the public key alone."""
    require(actor, Action.READ_AUDIT)
    keys = [note.verifier_key(k.name, bytes.fromhex(k.public_key)) for k in audit_tree.signing_keys(conn, tenant.id)]
    yield {"format": FORMAT, "tenant": tenant.slug, "events": tenant.audit_seq, "verifier_keys": keys}
    for event in audit_log.stored_events(conn, tenant.id):
        line = {"seq": event.core.seq, "core": event.core.encode().decode(), "hash": event.hash, "details": event.side_details}
        if event.side_salts is not None:  # a member's personal values, committed (offboard.audit.personal)
            line["salts"] = event.side_salts
        yield line
    for signed in audit_tree.checkpoints(conn, tenant.id):
        yield {"checkpoint": signed.note}
