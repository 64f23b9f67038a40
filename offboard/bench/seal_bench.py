"""`offboard bench seal`: sealing at finalization end to end (R-LAW-3) — a departed member's
messages read, encrypted with AES-256-GCM under their data key and written back — beside two
floors measured in the same run: a bare AES-GCM loop over the same plaintexts, and a bare insert
of the same number of sealed-sized values into a table of their own.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, text

from offboard.actions.context import tenant_transaction
from offboard.actions.members import add_member
from offboard.actions.sealing import seal_members
from offboard.actions.tenants import create_tenant
from offboard.bench import bench_database, scratch_keys
from offboard.bootstrap import build
from offboard.store import ids
from offboard.store.tables import messages

SIZE = 200
CHUNK = 20_000


@dataclass(frozen=True)
class SealResult:
    database: str
    messages: int
    seal_s: float  # the engine: read, encrypt, write back, in one transaction
    aes_s: float  # the AES-GCM floor: the same plaintexts encrypted in a tight loop
    insert_s: float  # the write floor: as many 228-byte values inserted into a table of their own

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["seal_per_s"] = round(self.messages / self.seal_s)
        row["aes_per_s"] = round(self.messages / self.aes_s)
        row["insert_per_s"] = round(self.messages / self.insert_s)
        row["seal_over_aes"] = round(self.seal_s / self.aes_s, 2)
        return row


def _messages(services: Any, slug: str, count: int) -> tuple[int, list[bytes]]:
    created = create_tenant(services, slug=slug, name="Seal bench", admin_userid="boss", admin_name="Boss")
    with tenant_transaction(services, tenant_id=created.id) as uow:
        author = add_member(uow, userid="leaver", name="Leaver", department_ids=[created.root_department_id])
    bodies = [secrets.token_hex(SIZE // 2).encode() for _ in range(count)]
    now = datetime.now(UTC)
    with services.db.write() as conn:
        first = ids.next_id(conn, messages, created.id)
        for lo in range(0, count, CHUNK):
            conn.execute(
                insert(messages),
                [
                    {"tenant_id": created.id, "id": first + i, "author_id": author, "conversation": "group:1", "body": bodies[i].decode(), "region": "cn", "sent_at": now}
                    for i in range(lo, min(lo + CHUNK, count))
                ],
            )
    with services.db.write() as conn:  # statistics, as autovacuum would have gathered them by the time someone leaves
        conn.execute(text("ANALYZE messages" if conn.dialect.name == "postgresql" else "ANALYZE"))
    return author, bodies


def run_one(database: str, count: int, pg_server: str, workdir: Path, progress: Callable[[str], None]) -> SealResult:
    with bench_database(database, pg_server, workdir / f"seal-{count}.db") as url:
        services = build(url)
        author, bodies = _messages(services, "seal-bench", count)
        progress(f"{count:,} messages of {SIZE} bytes written; sealing")
        start = time.perf_counter()
        with tenant_transaction(services, "seal-bench") as uow:
            sealed = seal_members(uow, [author])[author]
        seal_s = time.perf_counter() - start
        if sealed != count:
            raise RuntimeError(f"sealed {sealed} of {count} messages")
        aead, prefix = AESGCM(AESGCM.generate_key(bit_length=256)), b"offboard sealed|tenant:1|member:2|message:"
        start = time.perf_counter()
        for i, body in enumerate(bodies):
            nonce = secrets.token_bytes(12)
            aead.encrypt(nonce, body, prefix + str(i).encode())
        aes_s = time.perf_counter() - start
        blob = secrets.token_bytes(SIZE + 28)
        with services.db.write() as conn:
            conn.execute(text("CREATE TABLE seal_floor (id BIGINT PRIMARY KEY, sealed BYTEA)" if database == "postgresql" else "CREATE TABLE seal_floor (id INTEGER PRIMARY KEY, sealed BLOB)"))
        start = time.perf_counter()
        with services.db.write() as conn:
            for lo in range(0, count, CHUNK):
                conn.execute(text("INSERT INTO seal_floor (id, sealed) VALUES (:i, :s)"), [{"i": i, "s": blob} for i in range(lo, min(lo + CHUNK, count))])
        insert_s = time.perf_counter() - start
        services.db.dispose()
        return SealResult(database, count, round(seal_s, 3), round(aes_s, 3), round(insert_s, 3))


def run(counts: list[int], databases: list[str], pg_server: str, progress: Callable[[str], None] = lambda _s: None) -> list[SealResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="offboard-bench-") as tmp, scratch_keys(Path(tmp)):
        for database in databases:
            for n in counts:
                results.append(run_one(database, n, pg_server, Path(tmp), progress))
    return results
