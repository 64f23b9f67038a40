"""`offboard bench scim`: an identity provider deprovisioning members by SCIM PATCH
(`active: false`, in Entra's shape) from several concurrent clients against the running
service, each request a full exit, beside the same requests against the reference SCIM server
(scim2-server, in memory, doing no exit work) in the same run.

Both servers are real HTTP on loopback, each its own process: `offboard serve` (one API process on
SQLite, `--workers` on PostgreSQL) and scim2-server. The clients are threads with one keep-alive
connection each; the figures are requests per second and the latency percentiles.
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from offboard.actions import scim as scim_actions
from offboard.actions.context import tenant_transaction
from offboard.actions.members import insert_member
from offboard.actions.tenants import create_tenant
from offboard.bench import bench_database, scratch_keys
from offboard.bootstrap import build
from offboard.store.tables import exits

SLUG = "scim-bench"
DEPROVISION = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}).encode()


@dataclass(frozen=True)
class ScimResult:
    target: str  # offboard | scim2-server (reference)
    database: str
    processes: int
    requests: int
    clients: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int  # answers other than 200 or 204
    exited: int | None  # members whose exit the requests started (trigger scim), counted in the database; None for the reference

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["per_s"] = round(self.requests / self.seconds, 1)
        return row


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _process(command: list[str], port: int, what: str) -> Iterator[None]:
    """A server process listening on `port` once this yields; stopped afterwards."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start") from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def _request(conn: http.client.HTTPConnection, method: str, path: str, token: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json", "Accept": "application/scim+json"})
    response = conn.getresponse()
    return response.status, response.read()


def _deprovision_all(port: int, prefix: str, token: str, ids: list[str], clients: int) -> tuple[float, list[float], int]:
    """PATCH active=false for every id, `clients` threads taking every clients-th id; returns the
    wall time, each request's latency and the number of failed answers."""
    latencies: list[float] = []
    failed = 0
    lock = threading.Lock()

    def client(share: list[str]) -> None:
        nonlocal failed
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, bad = [], 0
        for user_id in share:
            start = time.perf_counter()
            status, _body = _request(conn, "PATCH", f"{prefix}/Users/{user_id}", token, DEPROVISION)
            mine.append(time.perf_counter() - start)
            bad += status not in (200, 204)
        conn.close()
        with lock:
            latencies.extend(mine)
            failed += bad

    threads = [threading.Thread(target=client, args=(ids[i::clients],)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, failed


def _percentile(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 1) if len(values) > 1 else round(values[0] * 1000, 1)


def _offboard(database: str, pg_server: str, workdir: Path, members: int, clients: int, workers: int, progress: Callable[[str], None]) -> ScimResult:
    with bench_database(database, pg_server, workdir / "scim.db") as url:
        services = build(url)
        created = create_tenant(services, slug=SLUG, name="SCIM bench", admin_userid="boss", admin_name="Boss", profile="dingtalk")
        with tenant_transaction(services, tenant_id=created.id) as uow:
            ids = [str(insert_member(uow, userid=f"user{i:06d}", name=f"User {i}", department_ids=[created.root_department_id])) for i in range(members)]
        with tenant_transaction(services, SLUG, "boss") as uow:
            token = scim_actions.create_token(uow, "bench").token
        services.db.dispose()
        progress(f"{members:,} members on {database}; deprovisioning them by SCIM from {clients} clients")
        port = _port()
        serve = [str(Path(sys.executable).with_name("offboard")), "--db", url, "serve", "--port", str(port), "--no-worker", "--workers", str(workers)]
        with _process(serve, port, "offboard serve"):
            seconds, latencies, failed = _deprovision_all(port, "/scim/v2", token, ids, clients)
        counted = build(url)
        with counted.db.read() as conn:
            exited = conn.execute(select(func.count()).where(exits.c.tenant_id == created.id, exits.c.trigger == "scim")).scalar_one()
        counted.db.dispose()
    return ScimResult("offboard", database, workers, members, clients, round(seconds, 3), _percentile(latencies, 50), _percentile(latencies, 99), failed, exited)


def _scim2_server(members: int, clients: int, progress: Callable[[str], None]) -> ScimResult:
    port, token = _port(), "bench-token"
    reference = [sys.executable, "-c", "from scim2_server.testserver.cli import main; main()", "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token]
    with _process(reference, port, "scim2-server"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        ids = []
        for i in range(members):
            body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"user{i:06d}", "active": True}).encode()
            status, answer = _request(conn, "POST", "/Users", token, body)
            if status != 201:
                raise RuntimeError(f"scim2-server refused a user: {status} {answer[:200]!r}")
            ids.append(json.loads(answer)["id"])
        conn.close()
        progress(f"{members:,} users in scim2-server; deprovisioning them from {clients} clients")
        seconds, latencies, failed = _deprovision_all(port, "", token, ids, clients)
    return ScimResult("scim2-server (reference)", "memory", 1, members, clients, round(seconds, 3), _percentile(latencies, 50), _percentile(latencies, 99), failed, None)


def run(members: int, clients: int, databases: list[str], pg_server: str, workers: int = 1, progress: Callable[[str], None] = lambda _m: None) -> list[ScimResult]:
    """The reference first, then offboard on each database: one API process on SQLite (its
    writes are serialized anyway), `workers` on PostgreSQL."""
    results = [_scim2_server(members, clients, progress)]
    with tempfile.TemporaryDirectory(prefix="offboard-bench-scim-") as scratch, scratch_keys(Path(scratch)):
        for database in databases:
            results.append(_offboard(database, pg_server, Path(scratch), members, clients, workers if database == "postgresql" else 1, progress))
    return results
