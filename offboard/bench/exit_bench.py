"""`offboard bench exit`: plan and exit of members owning N resources each, beside a floor.

The floor does the same row changes (ledger rows, resource updates, the member's access cut,
one audit row per kind) with hand-written SQL on a copy of the same database, through an
engine configured as the service's (offboard.store.db.connect), so the ratio engine/floor shows
what the service layer costs on top of the database itself.

Cold: the first exit in a fresh process, and the first floor exit in another (nothing cached:
a CLI run, or the first exit after a deploy). Warm: the median over the other members, each
exit followed by its floor exit in the same process (a running service, engine and
compiled-statement caches warm; the floor over its own connection).
"""

from __future__ import annotations

import multiprocessing
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text

from offboard.actions.context import Services, tenant_transaction
from offboard.bench import scratch_keys
from offboard.actions.members import add_member
from offboard.actions.tenants import create_tenant
from offboard.bootstrap import build
from offboard.store import ids, schema
from offboard.store.db import connect
from offboard.store.tables import RESOURCE_TABLES

# Share of the N resources per kind (direct reports and leadership are few in any company).
MIX = {
    "external_contact": 0.40,
    "customer_group": 0.05,
    "internal_group": 0.05,
    "document": 0.25,
    "calendar": 0.03,
    "approval_template": 0.04,
    "approval_task": 0.12,
    "self_built_app": 0.06,
}
FLOOR_TABLES = {kind: RESOURCE_TABLES[kind].name for kind in MIX}
WARM_ROWS = 100_000  # resources seeded for the warm exits: 25 members of 100, 10 of 10,000, ...


def members_for(n: int) -> int:
    """How many members leave in a run: one cold exit, then enough warm ones for a median."""
    return max(3, min(25, WARM_ROWS // max(n, 1)))


@dataclass
class Side:
    """One figure of a run: the cold exit and the median of the warm ones (seconds)."""

    plan_s: float | None
    exit_s: float
    floor_s: float

    def as_dict(self, resources: int) -> dict[str, Any]:
        return {
            "plan_s": None if self.plan_s is None else round(self.plan_s, 4),
            "exit_s": round(self.exit_s, 4),
            "floor_s": round(self.floor_s, 4),
            "exit_rows_per_s": int(resources / self.exit_s) if self.exit_s else None,
            "engine_over_floor": round(self.exit_s / self.floor_s, 2) if self.floor_s else None,
        }


@dataclass
class Result:
    database: str
    resources: int
    members: int
    cold: Side
    warm: Side

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "resources": self.resources,
            "members": self.members,
            "cold": self.cold.as_dict(self.resources),
            "warm": self.warm.as_dict(self.resources),
        }


def _seed(services: Services, n: int, count: int) -> tuple[list[int], int]:
    """A tenant (dingtalk profile: every transfer at once) with `count` leavers owning n resources each."""
    create_tenant(services, slug="bench", name="Bench", admin_userid="boss", admin_name="Boss", profile="dingtalk", policy_overrides={"customer_limit": 1_000_000})
    with tenant_transaction(services, "bench") as uow:
        leavers = [add_member(uow, userid=f"leaver{j}", name=f"Leaver {j}") for j in range(1, count + 1)]
        successor = add_member(uow, userid="successor", name="Successor")
    now = datetime.now(UTC)
    with services.db.write() as conn:
        tid = conn.execute(text("SELECT id FROM tenants WHERE slug = 'bench'")).scalar_one()
        for leaver in leavers:
            for kind, share in MIX.items():
                table = RESOURCE_TABLES[kind]
                total = max(1, int(n * share))
                for start in range(0, total, 20_000):
                    size = min(20_000, total - start)
                    new_ids = ids.next_ids(conn, table, tid, size)
                    conn.execute(insert(table), [_row(kind, tid, i, leaver, now) for i in new_ids])
    # A production database is analyzed (autovacuum); a freshly loaded one must be too, or the
    # planner believes every table is empty.
    with services.db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return leavers, successor


def _row(kind: str, tid: int, rid: int, owner: int, now: datetime) -> dict[str, Any]:
    base = {"tenant_id": tid, "id": rid, "owner_id": owner, "version": 1, "created_at": now}
    extras: dict[str, dict[str, Any]] = {
        "external_contact": {"name": f"客户{rid}", "company": "某公司"},
        "customer_group": {"name": f"客户群{rid}", "member_count": 10},
        "internal_group": {"name": f"项目群{rid}"},
        "document": {"title": f"文档{rid}", "size_bytes": 1024},
        "calendar": {"name": f"日历{rid}"},
        "approval_template": {"name": f"审批模板{rid}"},
        "approval_task": {"title": f"待审批{rid}", "status": "pending", "template_id": None},
        "self_built_app": {"name": f"应用{rid}", "agent_id": str(rid)},
    }
    return {**base, **extras[kind]}


def exits(url: str, floor_url: str, userids: list[str], leavers: list[int], successor: int) -> list[tuple[float, float, float | None]]:
    """(plan s, exit s, floor s) of each member in turn, in this process: the exit through the
    service, then the same member's floor exit over its own connection, so that both see the
    same load on a shared machine. The first member's floor exit is not run here: it is the
    cold floor, run in a process of its own (floor_exit)."""
    from offboard.actions import exits as exit_actions

    services = build(url)
    floor = connect(floor_url)
    times = []
    for number, (userid, leaver) in enumerate(zip(userids, leavers), 1):
        started = time.perf_counter()
        with tenant_transaction(services, "bench") as uow:
            plan = exit_actions.plan(uow, userid, successor="successor")
        planned = time.perf_counter()
        with tenant_transaction(services, "bench") as uow:
            exit_actions.start_exit(uow, userid, type="removal", reason_category="resignation", reason="bench", plan_id=plan.plan_id)
        exited = time.perf_counter()
        floor_s = None
        if number > 1:
            _floor(floor.engine, number, leaver, successor)
            floor_s = time.perf_counter() - exited
        times.append((planned - started, exited - planned, floor_s))
    services.db.dispose()
    floor.dispose()
    return times


def floor_exit(url: str, number: int, leaver: int, successor: int) -> float:
    """Seconds of one member's floor exit, over a new engine configured as the service's."""
    db = connect(url)
    started = time.perf_counter()
    _floor(db.engine, number, leaver, successor)
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed


def _floor(engine: Engine, number: int, leaver: int, successor: int) -> None:
    """The same row changes in hand-written SQL, one statement per kind, one transaction."""
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        tid = conn.execute(text("SELECT id FROM tenants WHERE slug = 'bench'")).scalar_one()
        at = {"t": tid, "m": leaver, "x": number}
        conn.execute(text("UPDATE members SET status='exited', version=version+1 WHERE tenant_id=:t AND id=:m"), at)
        conn.execute(text("UPDATE sessions SET revoked_at=CURRENT_TIMESTAMP WHERE tenant_id=:t AND member_id=:m AND revoked_at IS NULL"), at)
        conn.execute(text("UPDATE roles SET status='suspended' WHERE tenant_id=:t AND member_id=:m"), at)
        conn.execute(
            text(
                "INSERT INTO exits (tenant_id, id, member_id, state, type, reason_category, reason, trigger, requested_by, effective_at, acceptors, created_at, updated_at) "
                "VALUES (:t, :x, :m, 'open', 'removal', 'resignation', 'bench', 'admin', 'operator', CURRENT_TIMESTAMP, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            at,
        )
        conn.execute(text("INSERT INTO exit_steps (tenant_id, id, exit_id, kind, actor, counts, created_at) VALUES (:t, :x, :x, 'exit', 'operator', '{}', CURRENT_TIMESTAMP)"), at)
        corr = "replace(cast(gen_random_uuid() as text), '-', '')" if pg else "lower(hex(randomblob(16)))"
        ident = "nextval('transfer_ledger_id_seq')" if pg else "(SELECT coalesce(max(id), 0) FROM transfer_ledger WHERE tenant_id = :t) + row_number() OVER (ORDER BY r.id)"
        for kind, table in FLOOR_TABLES.items():
            conn.execute(
                text(
                    "INSERT INTO transfer_ledger (tenant_id, id, exit_id, kind, resource_id, from_member_id, to_member_id, state, correlation_id, version_after, created_at, updated_at, step_id) "
                    f"SELECT :t, {ident}, :x, :k, r.id, :m, :s, 'done', {corr}, r.version + 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :x "
                    f"FROM {table} r WHERE r.tenant_id = :t AND r.owner_id = :m"
                ),
                {**at, "k": kind, "s": successor},
            )
            conn.execute(text(f"UPDATE {table} SET owner_id = :s, version = version + 1 WHERE tenant_id = :t AND owner_id = :m"), {**at, "s": successor})
            conn.execute(text("UPDATE tenants SET audit_seq = audit_seq + 1 WHERE id = :t"), at)


def _in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a new interpreter (spawn, not fork): nothing imported or cached is shared."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def run_one(database: str, n: int, pg_server: str | None, workdir: Path, members: int | None = None) -> Result:
    count = members or members_for(n)
    if database == "sqlite":
        url = str(workdir / f"bench-{n}.db")
    else:
        name = f"offboard_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(_required(pg_server), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = _required(pg_server).rsplit("/", 1)[0] + "/" + name
    db = connect(url)
    schema.upgrade(db)
    db.dispose()
    services = build(url)
    leavers, successor = _seed(services, n, count)
    services.db.dispose()
    floor_url = _copy(database, url, workdir, n, pg_server)
    try:
        floor_cold = _in_fresh_process(floor_exit, floor_url, 1, leavers[0], successor)
        # The first member's exit is cold: nothing of this process has run an exit yet.
        engine = _in_fresh_process(exits, url, floor_url, [f"leaver{j}" for j in range(1, count + 1)], leavers, successor)
    finally:
        if database == "postgresql":
            admin = create_engine(_required(pg_server), isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                for target in (url, floor_url):
                    c.execute(text(f'DROP DATABASE IF EXISTS "{target.rsplit("/", 1)[1]}" WITH (FORCE)'))
            admin.dispose()
    warm = engine[1:]
    cold = Side(engine[0][0], engine[0][1], floor_cold)
    return Result(
        database,
        n,
        count,
        cold,
        Side(statistics.median(p for p, _, _ in warm), statistics.median(e for _, e, _ in warm), statistics.median(f for _, _, f in warm if f is not None)),
    )


def _copy(database: str, url: str, workdir: Path, n: int, pg_server: str | None) -> str:
    if database == "sqlite":
        target = workdir / f"floor-{n}.db"
        shutil.copy(url, target)
        return str(target)
    name = url.rsplit("/", 1)[1]
    copy = f"{name}_floor"
    admin = create_engine(_required(pg_server), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + copy


def _required(pg_server: str | None) -> str:
    if pg_server is None:
        raise ValueError("a PostgreSQL run needs the server's URL")
    return pg_server


def run(sizes: list[int], databases: list[str], pg_server: str | None, members: int | None = None) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="offboard-bench-") as tmp, scratch_keys(Path(tmp)):
        for database in databases:
            for n in sizes:
                results.append(run_one(database, n, pg_server, Path(tmp), members))
    return results
