"""`offboard bench layoff`: a synthetic enterprise (offboard.bench.synthetic), then the bulk exit
of some of its members timed phase by phase, each beside a floor.

Phases: plan (the combined plan of the file), execute (the job's batches: exits, access cut,
ledger rows, resource updates, audit events) and finalize (once the restore window is over and
HR and IT have signed, every exit of the job is finalized by the due-work sweep). The floor of a
phase makes the same row changes with hand-written SQL, a statement per table and resource
kind for all leavers at once, on a copy of the same database taken right after the load (same
schema, indexes and statistics); engine/floor is what the service layer costs on top. Rows
changed are counted from the database itself, the same way for both.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, insert, select, text

from offboard.actions import bulk_exits
from offboard.bench import scratch_keys
from offboard.actions.context import tenant_transaction
from offboard.bench.synthetic import seed_tenant
from offboard.bootstrap import build
from offboard.clock import SystemClock
from offboard.domain import bulk_file
from offboard.domain.vocabulary import Role
from offboard.jobs.bulk import run_jobs
from offboard.jobs.reconciler import reconcile
from offboard.store import schema
from offboard.store.db import connect
from offboard.store.tables import exit_signoffs, exits, members, metadata, roles

PHASES = ("plan", "execute", "finalize")
COUNTED = [t for t in metadata.sorted_tables if "tenant_id" in t.c]


class MovableClock:
    """The system clock plus an offset the benchmark moves past the restore window."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self._system = SystemClock()

    def now(self) -> datetime:
        return self._system.now() + self.offset


@dataclass
class Phase:
    database: str
    members: int
    leavers: int
    phase: str
    rows: int  # rows written (inserted or updated) by the engine, counted by the database
    floor_rows: int  # rows the floor's statements wrote (their row counts)
    engine_s: float
    floor_s: float
    peak_rss_mb: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "members": self.members,
            "leavers": self.leavers,
            "phase": self.phase,
            "rows": self.rows,
            "floor_rows": self.floor_rows,
            "engine_s": round(self.engine_s, 3),
            "engine_rows_per_s": int(self.rows / self.engine_s) if self.engine_s else None,
            "floor_s": round(self.floor_s, 3),
            "floor_rows_per_s": int(self.rows / self.floor_s) if self.floor_s else None,
            "engine_over_floor": round(self.engine_s / self.floor_s, 2) if self.floor_s else None,
            "peak_rss_mb": self.peak_rss_mb,
        }


def _rss_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _counts(engine: Engine, tenant_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t).where(t.c.tenant_id == tenant_id)).scalar_one() for t in COUNTED}


def _written(before: dict[str, int], after: dict[str, int], updated: int) -> int:
    return sum(abs(after[k] - before[k]) for k in after) + updated


@contextmanager
def _database(database: str, pg_server: str | None, workdir: Path, tag: str) -> Iterator[str]:
    if database == "sqlite":
        yield str(workdir / f"layoff-{tag}.db")
        return
    if pg_server is None:
        raise ValueError("a PostgreSQL run needs the server's URL")
    name = f"offboard_layoff_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_server.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}_floor" WITH (FORCE)'))
        admin.dispose()


def _copy(database: str, url: str, pg_server: str | None) -> str:
    if database == "sqlite":
        target = url.replace(".db", "-floor.db")
        shutil.copy(url, target)
        return f"sqlite:///{target}"
    name = url.rsplit("/", 1)[1]
    admin = create_engine(pg_server or "", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}_floor" TEMPLATE "{name}"'))
    admin.dispose()
    return url + "_floor"


def _leavers(conn: Connection, tenant_id: int, n: int) -> list[tuple[int, str]]:
    """n members who hold no role, spread evenly over the tenant (every k-th by id): the same
    mix of departments, lines and key accounts at every tenant size, so that the leavers own
    about as much at 10,000 members as at 1,000,000 (the first n by id would be one division
    of a large tenant but half of a small one)."""
    holders = select(roles.c.member_id).where(roles.c.tenant_id == tenant_id, roles.c.role.in_([r.value for r in Role]))
    eligible = (members.c.tenant_id == tenant_id, members.c.status == "active", members.c.id.notin_(holders))
    total = conn.execute(select(func.count()).select_from(members).where(*eligible)).scalar_one()
    step = max(1, total // max(n, 1))
    ranked = select(members.c.id, members.c.userid, (func.row_number().over(order_by=members.c.id) - 1).label("rank")).where(*eligible).subquery()
    rows = conn.execute(select(ranked.c.id, ranked.c.userid).where(ranked.c.rank % step == 0).order_by(ranked.c.id).limit(n))
    return [(r.id, r.userid) for r in rows]


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_one(database: str, n_members: int, n_leavers: int, pg_server: str | None, workdir: Path, progress: Callable[[str], None] = lambda s: None) -> list[Phase]:
    from offboard.bench import layoff_floor

    with _database(database, pg_server, workdir, f"{n_members}") as url:
        db = connect(url)
        schema.upgrade(db)
        db.dispose()
        clock = MovableClock()
        services = build(url, clock=clock)
        progress(f"seed {n_members:,} members on {database}")
        # Every transfer at once (the dingtalk profile), so finalization waits for no 24 h takeover.
        seeded = seed_tenant(services, members=n_members, slug="layoff", profile="dingtalk")
        tid = seeded.tenant_id
        with services.db.read() as conn:
            leavers = _leavers(conn, tid, n_leavers)
        services.db.dispose()
        floor_url = _copy(database, url, pg_server)
        services = build(url, clock=clock)
        engine = services.db.engine
        departures = bulk_file.from_records([{"userid": u} for _, u in leavers], "Asia/Shanghai")
        results: list[Phase] = []

        def phase(name: str, fn: Callable[[], Any], updated: Callable[[], int], floor: Callable[[], tuple[int, float]]) -> None:
            progress(f"{name} on {database}")
            before = _counts(engine, tid)
            seconds = _timed(fn)
            rows = _written(before, _counts(engine, tid), updated())
            floor_rows, floor_s = floor()
            results.append(Phase(database, n_members, len(leavers), name, rows, floor_rows, seconds, floor_s, _rss_mb()))

        job: dict[str, int] = {}

        def plan() -> None:
            with tenant_transaction(services, tenant_id=tid) as uow:
                job["id"] = bulk_exits.create(uow, departures, "layoff.csv", bulk_exits.Defaults(reason_category="dismissal", reason="layoff"))

        def execute() -> None:
            with tenant_transaction(services, tenant_id=tid) as uow:
                bulk_exits.confirm(uow, job["id"])
            run_jobs(services, job_id=job["id"], tenant_id=tid)

        def finalize() -> None:
            reconcile(services, limit=len(leavers) + 1, sign=False)

        floor = layoff_floor.Floor(floor_url, tid, [m for m, _ in leavers])
        phase("plan", plan, lambda: 0, floor.plan)
        moved = {"before": _ledger_rows(engine, tid)}
        phase("execute", execute, lambda: _ledger_rows(engine, tid) - moved["before"] + len(leavers) + _cut_rows(engine, tid), floor.execute)
        clock.offset = timedelta(days=31)  # past any restore window (at most 30 days)
        _sign_off(services, tid)
        phase("finalize", finalize, lambda: _finalized(engine, tid) + _retained(engine, tid), floor.finalize)
        floor.dispose()
        services.db.dispose()
        return results


def _ledger_rows(engine: Engine, tenant_id: int) -> int:
    from offboard.store.tables import transfer_ledger

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(transfer_ledger).where(transfer_ledger.c.tenant_id == tenant_id)).scalar_one()


def _cut_rows(engine: Engine, tenant_id: int) -> int:
    """Rows the access cut changed: sessions and tokens revoked, roles suspended, devices and
    grants flagged, attendance archived (offboard.store.access_cut)."""
    from offboard.store.access_cut import STEPS

    with engine.connect() as conn:
        left = select(members.c.id).where(members.c.tenant_id == tenant_id, members.c.status == "exited")
        return sum(
            conn.execute(
                select(func.count()).select_from(s.table).where(s.table.c.tenant_id == tenant_id, s.table.c.member_id.in_(left), s.cut_rows(s.table, datetime(2000, 1, 1, tzinfo=UTC)))
            ).scalar_one()
            for s in STEPS
        )


def _finalized(engine: Engine, tenant_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(members).where(members.c.tenant_id == tenant_id, members.c.status == "finalized")).scalar_one()


def _retained(engine: Engine, tenant_id: int) -> int:
    from offboard.store.tables import messages

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(messages).where(messages.c.tenant_id == tenant_id, messages.c.retained_until.is_not(None))).scalar_one()


def _sign_off(services: Any, tenant_id: int) -> None:
    """HR and IT sign every open exit (a person's act, not part of a phase)."""
    with services.db.write() as conn:
        open_exits = [r.id for r in conn.execute(select(exits.c.id).where(exits.c.tenant_id == tenant_id, exits.c.state == "open"))]
        hr = conn.execute(select(members.c.id).where(members.c.tenant_id == tenant_id).order_by(members.c.id).limit(1)).scalar_one()
        now = services.clock.now()
        for start in range(0, len(open_exits), 5000):
            conn.execute(
                insert(exit_signoffs), [{"tenant_id": tenant_id, "exit_id": e, "role": role, "member_id": hr, "signed_at": now} for e in open_exits[start : start + 5000] for role in ("hr", "it")]
            )


def run(member_counts: list[int], leavers: int, databases: list[str], pg_server: str | None, progress: Callable[[str], None] = lambda s: None) -> list[Phase]:
    results: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="offboard-layoff-") as tmp, scratch_keys(Path(tmp)):
        for database in databases:
            for n in member_counts:
                results.extend(run_one(database, n, min(leavers, n // 2), pg_server, Path(tmp), progress))
    return results
