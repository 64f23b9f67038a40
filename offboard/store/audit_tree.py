"""The stored Merkle tree of a tenant's audit events, its checkpoints and its signing keys
(SPEC §8; the hashing and the proofs are offboard.audit.merkle's).

The tree grows when a checkpoint is made: the events after the last checkpoint are read in
order, a chunk at a time, and folded into the perfect subtrees of the tree so far (its
"frontier", at most log2(n) nodes); each completed node of level 1 and up is inserted. Memory
stays flat whatever the log's size. A proof then reads the O(log n) nodes it needs in one
statement.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, text, union_all

from offboard.audit.merkle import Node, node_hash, perfect
from offboard.store.driver_rows import insert_rows
from offboard.store.rows import AnyRow
from offboard.store.tables import audit_checkpoints, audit_events, audit_signing_keys, audit_tree_nodes, tenants

T = audit_tree_nodes
C = audit_checkpoints
K = audit_signing_keys
CHUNK = 20_000


def head_size(conn: Connection, tenant_id: int) -> int:
    """How many events the tenant's chain holds (committed)."""
    return int(conn.execute(select(tenants.c.audit_seq).where(tenants.c.id == tenant_id)).scalar_one())


def try_lock(conn: Connection, tenant_id: int) -> bool:
    """The tenant's checkpoint lock for this transaction, if free: one checkpointer at a time
    grows a tree (on SQLite the write transaction already is that lock)."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(91620, :tenant)"), {"tenant": tenant_id}).scalar())


def read_nodes(conn: Connection, tenant_id: int, wanted: set[Node]) -> dict[Node, bytes]:
    """The hashes of the nodes asked for: leaves from the events, the others from the tree."""
    found: dict[Node, bytes] = {}
    leaves = sorted(i for level, i in wanted if level == 0)
    if leaves:
        rows = conn.execute(select(audit_events.c.seq, audit_events.c.hash).where(audit_events.c.tenant_id == tenant_id, audit_events.c.seq.in_([i + 1 for i in leaves])))
        found.update({(0, seq - 1): bytes.fromhex(h) for seq, h in rows})
    by_level: dict[int, list[int]] = {}
    for level, i in wanted:
        if level:
            by_level.setdefault(level, []).append(i)
    if by_level:
        # A SELECT per level joined by UNION ALL: each a primary-key lookup (an OR of the levels
        # sends SQLite through every node of the tenant).
        parts = [select(T.c.level, T.c.idx, T.c.hash).where(T.c.tenant_id == tenant_id, T.c.level == level, T.c.idx.in_(sorted(ids))) for level, ids in by_level.items()]
        for level, i, h in conn.execute(union_all(*parts) if len(parts) > 1 else parts[0]):
            found[(level, i)] = bytes.fromhex(h)
    missing = wanted - found.keys()
    if missing:
        raise LookupError(f"the audit tree lacks nodes {sorted(missing)[:5]}")
    return found


def level_range(conn: Connection, tenant_id: int, level: int, lo: int, hi: int) -> list[bytes]:
    """The hashes of the nodes lo .. hi-1 of a level, in order (level 0: the events'); fewer
    when some are missing."""
    if level == 0:
        query = select(audit_events.c.hash).where(audit_events.c.tenant_id == tenant_id, audit_events.c.seq > lo, audit_events.c.seq <= hi).order_by(audit_events.c.seq)
    else:
        query = select(T.c.hash).where(T.c.tenant_id == tenant_id, T.c.level == level, T.c.idx >= lo, T.c.idx < hi).order_by(T.c.idx)
    return [bytes.fromhex(h) for h in conn.execute(query).scalars()]


def _leaves(conn: Connection, tenant_id: int, start: int, end: int) -> Iterator[bytes]:
    """The leaf hashes of events start+1 .. end, in order, a chunk per statement."""
    for lo in range(start, end, CHUNK):
        hi = min(lo + CHUNK, end)
        hashes = level_range(conn, tenant_id, 0, lo, hi)
        if len(hashes) != hi - lo:
            raise LookupError(f"events {lo + 1}..{hi} are not all there")
        yield from hashes


def grow(conn: Connection, tenant_id: int, start: int, end: int) -> bytes:
    """Add the events start+1 .. end to the tree of the first `start` (whose nodes are stored);
    returns the root of the first `end`."""
    frontier = perfect(0, start)
    known = read_nodes(conn, tenant_id, set(frontier))
    stack: list[tuple[int, bytes]] = [(level, known[(level, i)]) for level, i in frontier]
    size = start
    pending: list[dict] = []
    for leaf in _leaves(conn, tenant_id, start, end):
        stack.append((0, leaf))
        size += 1
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            level, right = stack.pop()
            _, left = stack.pop()
            merged = node_hash(left, right)
            stack.append((level + 1, merged))
            pending.append({"tenant_id": tenant_id, "level": level + 1, "idx": (size >> (level + 1)) - 1, "hash": merged.hex()})
        if len(pending) >= CHUNK:
            insert_rows(conn, T, pending)
            pending = []
    insert_rows(conn, T, pending)
    if not stack:
        raise LookupError("an empty tree has no checkpoint")
    root = stack[-1][1]
    for _, part in reversed(stack[:-1]):
        root = node_hash(part, root)
    return root


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    key_id: str
    note: str
    reason: str
    signed_at: datetime


def _checkpoint(row: AnyRow) -> StoredCheckpoint:
    return StoredCheckpoint(row.size, bytes.fromhex(row.root), row.key_id, row.note, row.reason, row.signed_at)


def latest_checkpoint(conn: Connection, tenant_id: int) -> StoredCheckpoint | None:
    row = conn.execute(select(C).where(C.c.tenant_id == tenant_id).order_by(C.c.size.desc()).limit(1)).first()
    return _checkpoint(row) if row is not None else None


def checkpoint_covering(conn: Connection, tenant_id: int, size: int) -> StoredCheckpoint | None:
    """The oldest checkpoint of at least `size` events."""
    row = conn.execute(select(C).where(C.c.tenant_id == tenant_id, C.c.size >= size).order_by(C.c.size).limit(1)).first()
    return _checkpoint(row) if row is not None else None


def checkpoint_of_size(conn: Connection, tenant_id: int, size: int) -> StoredCheckpoint | None:
    row = conn.execute(select(C).where(C.c.tenant_id == tenant_id, C.c.size == size)).first()
    return _checkpoint(row) if row is not None else None


def checkpoints(conn: Connection, tenant_id: int) -> Iterator[StoredCheckpoint]:
    for row in conn.execute(select(C).where(C.c.tenant_id == tenant_id).order_by(C.c.size)):
        yield _checkpoint(row)


def add_checkpoint(conn: Connection, tenant_id: int, size: int, root: bytes, key_id: str, note: str, reason: str, at: datetime) -> None:
    conn.execute(insert(C).values(tenant_id=tenant_id, size=size, root=root.hex(), key_id=key_id, note=note, reason=reason, signed_at=at))


def signing_keys(conn: Connection, tenant_id: int) -> list[AnyRow]:
    """The tenant's audit keys, newest first."""
    return list(conn.execute(select(K).where(K.c.tenant_id == tenant_id).order_by(K.c.created_at.desc(), K.c.key_id)))


def add_signing_key(conn: Connection, values: Mapping[str, object]) -> None:
    conn.execute(insert(K).values(**values))


def stored_nodes(conn: Connection, tenant_id: int) -> Iterator[tuple[int, int, str]]:
    """Every stored node, for `audit verify` to compare with the tree it recomputes."""
    yield from conn.execute(select(T.c.level, T.c.idx, T.c.hash).where(T.c.tenant_id == tenant_id).order_by(T.c.level, T.c.idx)).tuples()


def node_count(conn: Connection, tenant_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(T).where(T.c.tenant_id == tenant_id)).scalar_one())
