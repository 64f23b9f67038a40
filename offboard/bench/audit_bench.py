"""`offboard bench audit`: the signed audit log at scale (SPEC §8). A throwaway database gets an
enterprise with N events appended through the engine's own commit path, then:

- **sign**: the first checkpoint grows the Merkle tree over all N events and signs its root;
- **verify**: `audit verify` checks the chain, every stored tree node and the checkpoint;
- **prove**: inclusion proofs of random events and consistency proofs from random sizes, with
  the statements each sends and the nodes it reads (O(log n)).

Beside sign and verify stands a floor: the bare SHA-256 work of the same hashes (a leaf hash per
event, a node hash per stored node) in a tight loop over bytes already in memory.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from offboard.actions import audit_checkpoints
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.actions.tenants import create_tenant
from offboard.bootstrap import build
from offboard.queries import audit as audit_q
from offboard.queries import audit_proofs
from offboard.bench import bench_database, scratch_keys

BATCH = 10_000
PROOFS = 200


@dataclass(frozen=True)
class AuditResult:
    database: str
    events: int
    load_s: float  # appending the events (chain hashing included)
    sign_s: float  # the first checkpoint: the whole tree grown and signed
    sign_floor_s: float  # SHA-256 of every tree node, bare
    verify_s: float  # audit verify: chain, tree nodes, checkpoint
    verify_floor_s: float  # SHA-256 of every leaf and node, bare
    inclusion_ms: float  # median per proof
    consistency_ms: float
    statements_per_proof: float  # median statements an inclusion proof sends
    hashes_per_proof: float  # median hashes in an inclusion proof (log2 n)

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["verify_events_per_s"] = round(self.events / self.verify_s) if self.verify_s else None
        row["sign_over_floor"] = round(self.sign_s / self.sign_floor_s, 2) if self.sign_floor_s else None
        row["verify_over_floor"] = round(self.verify_s / self.verify_floor_s, 2) if self.verify_floor_s else None
        return row


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _load(services: Any, slug: str, events: int, progress: Callable[[str], None]) -> None:
    created = create_tenant(services, slug=slug, name="Audit bench", admin_userid="boss", admin_name="Boss")
    tid = created.id
    done = 1
    while done < events:
        n = min(BATCH, events - done)
        with tenant_transaction(services, tenant_id=tid) as uow:
            for i in range(n):
                uow.audit("synthetic.seeded", [f"member:{done + i}"], {"i": done + i})
        done += n
        if done % 200_000 < BATCH:
            progress(f"{done:,} events appended")


def _floor(leaves: list[bytes]) -> tuple[float, float]:
    """Bare SHA-256: the tree's nodes (sign), and the leaves' hashes plus the nodes (verify)."""
    cores = [b"\x00" + leaf * 6 for leaf in leaves]  # about a core's length
    start = time.perf_counter()
    for core in cores:
        hashlib.sha256(core).digest()
    leaf_s = time.perf_counter() - start
    start = time.perf_counter()
    level = leaves
    while len(level) > 1:
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
    node_s = time.perf_counter() - start
    return node_s, leaf_s + node_s


def run_one(database: str, events: int, pg_server: str, workdir: Path, progress: Callable[[str], None]) -> AuditResult:
    with bench_database(database, pg_server, workdir / f"audit-{events}.db") as url:
        services = build(url)
        slug = "audit-bench"
        load_s, _ = _timed(lambda: _load(services, slug, events, progress))
        progress("signing the first checkpoint")

        def sign() -> Any:
            with tenant_transaction(services, slug) as uow:
                return audit_checkpoints.checkpoint(uow, services.vault, "requested")

        sign_s, signed = _timed(sign)
        progress("verifying")

        def verify() -> Any:
            with tenant_read(services, slug) as (conn, tenant, actor):
                return audit_q.verify_chain(conn, tenant, actor)

        verify_s, verdict = _timed(verify)
        if not verdict.ok:
            raise RuntimeError(f"the bench's log does not verify: {verdict}")
        with services.db.read() as conn:
            tid = conn.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug}).scalar_one()
            leaves = [bytes.fromhex(h) for h in conn.execute(text("SELECT hash FROM audit_events WHERE tenant_id = :t ORDER BY seq"), {"t": tid}).scalars()]
        sign_floor_s, verify_floor_s = _floor(leaves)
        progress("proving")
        statements: list[int] = []
        counter = {"n": 0}

        def count(*_args: Any) -> None:
            counter["n"] += 1

        event.listen(services.db.engine, "before_cursor_execute", count)
        rng = random.Random(7)
        inclusion: list[float] = []
        consistency: list[float] = []
        sizes: list[int] = []
        with tenant_read(services, slug) as (conn, tenant, actor):
            for _ in range(PROOFS):
                seq = rng.randint(1, signed.size)
                counter["n"] = 0
                start = time.perf_counter()
                proof = audit_proofs.inclusion(conn, tenant, actor, seq, signed)
                inclusion.append(time.perf_counter() - start)
                statements.append(counter["n"])
                sizes.append(len(proof.proof))
                start = time.perf_counter()
                audit_proofs.consistency(conn, tenant, actor, rng.randint(1, signed.size), signed)
                consistency.append(time.perf_counter() - start)
        event.remove(services.db.engine, "before_cursor_execute", count)
        services.db.dispose()
        return AuditResult(
            database,
            events,
            round(load_s, 3),
            round(sign_s, 3),
            round(sign_floor_s, 3),
            round(verify_s, 3),
            round(verify_floor_s, 3),
            round(statistics.median(inclusion) * 1000, 3),
            round(statistics.median(consistency) * 1000, 3),
            statistics.median(statements),
            statistics.median(sizes),
        )


def run(events: list[int], databases: list[str], pg_server: str, progress: Callable[[str], None] = lambda _s: None) -> list[AuditResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="offboard-bench-") as tmp, scratch_keys(Path(tmp)):
        for database in databases:
            for n in events:
                results.append(run_one(database, n, pg_server, Path(tmp), progress))
    return results
