"""`offboard bench exit`: plan and exit of one member owning N resources, beside a floor.

The floor does the same row changes (ledger rows, resource updates, the member's access cut,
one audit row per kind) with hand-written SQL on a copy of the same database, so the ratio
engine/floor shows what the service layer costs on top of the database itself.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from offboard.actions import exits as exit_actions
from offboard.actions.context import Services, tenant_transaction
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


@dataclass
class Result:
    database: str
    resources: int
    plan_s: float
    exit_s: float
    floor_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "resources": self.resources,
            "plan_s": round(self.plan_s, 4),
            "exit_s": round(self.exit_s, 4),
            "floor_s": round(self.floor_s, 4),
            "exit_rows_per_s": int(self.resources / self.exit_s) if self.exit_s else None,
            "floor_rows_per_s": int(self.resources / self.floor_s) if self.floor_s else None,
            "engine_over_floor": round(self.exit_s / self.floor_s, 2) if self.floor_s else None,
        }


def _seed(services: Services, n: int) -> tuple[int, int]:
    """A tenant (dingtalk profile: every transfer at once) with a leaver owning n resources."""
    create_tenant(services, slug="bench", name="Bench", admin_userid="boss", admin_name="Boss", profile="dingtalk", policy_overrides={"customer_limit": 1_000_000})
    with tenant_transaction(services, "bench") as uow:
        leaver = add_member(uow, userid="leaver", name="Leaver")
        successor = add_member(uow, userid="successor", name="Successor")
    now = datetime.now(UTC)
    with services.db.write() as conn:
        tid = conn.execute(text("SELECT id FROM tenants WHERE slug = 'bench'")).scalar_one()
        for kind, share in MIX.items():
            table = RESOURCE_TABLES[kind]
            count = max(1, int(n * share))
            for start in range(0, count, 20_000):
                size = min(20_000, count - start)
                new_ids = ids.next_ids(conn, table, tid, size)
                rows = [_row(kind, tid, i, leaver, now) for i in new_ids]
                conn.execute(insert(table), rows)
    # A production database is analyzed (autovacuum); a freshly loaded one must be too, or the
    # planner believes every table is empty.
    with services.db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return leaver, successor


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


def _floor(url: str, leaver: int, successor: int) -> float:
    """The same row changes in hand-written SQL, one statement per kind, one transaction."""
    engine = create_engine(url)
    pg = engine.dialect.name == "postgresql"
    started = time.perf_counter()
    with engine.begin() as conn:
        if not pg:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        tid = conn.execute(text("SELECT id FROM tenants WHERE slug = 'bench'")).scalar_one()
        conn.execute(text("UPDATE members SET status='exited', version=version+1 WHERE tenant_id=:t AND id=:m"), {"t": tid, "m": leaver})
        conn.execute(text("UPDATE sessions SET revoked_at=CURRENT_TIMESTAMP WHERE tenant_id=:t AND member_id=:m AND revoked_at IS NULL"), {"t": tid, "m": leaver})
        conn.execute(text("UPDATE roles SET status='suspended' WHERE tenant_id=:t AND member_id=:m"), {"t": tid, "m": leaver})
        conn.execute(
            text(
                "INSERT INTO exits (tenant_id, id, member_id, state, type, reason_category, reason, trigger, requested_by, effective_at, acceptors, created_at, updated_at) "
                "VALUES (:t, 1, :m, 'open', 'removal', 'resignation', 'bench', 'admin', 'operator', CURRENT_TIMESTAMP, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"t": tid, "m": leaver},
        )
        conn.execute(text("INSERT INTO exit_steps (tenant_id, id, exit_id, kind, actor, counts, created_at) VALUES (:t, 1, 1, 'exit', 'operator', '{}', CURRENT_TIMESTAMP)"), {"t": tid})
        corr = "replace(cast(gen_random_uuid() as text), '-', '')" if pg else "lower(hex(randomblob(16)))"
        for kind, table in FLOOR_TABLES.items():
            ident = "nextval('transfer_ledger_id_seq')" if pg else "(SELECT coalesce(max(id), 0) FROM transfer_ledger WHERE tenant_id = :t) + row_number() OVER (ORDER BY r.id)"
            conn.execute(
                text(
                    f"INSERT INTO transfer_ledger (tenant_id, id, exit_id, kind, resource_id, from_member_id, to_member_id, state, correlation_id, version_after, created_at, updated_at, step_id) "
                    f"SELECT :t, {ident}, 1, :k, r.id, :m, :s, 'done', {corr}, r.version + 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1 FROM {table} r WHERE r.tenant_id = :t AND r.owner_id = :m"
                ),
                {"t": tid, "k": kind, "m": leaver, "s": successor},
            )
            conn.execute(text(f"UPDATE {table} SET owner_id = :s, version = version + 1 WHERE tenant_id = :t AND owner_id = :m"), {"t": tid, "m": leaver, "s": successor})
            conn.execute(text("UPDATE tenants SET audit_seq = audit_seq + 1 WHERE id = :t"), {"t": tid})
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def run_one(database: str, n: int, pg_server: str | None, workdir: Path) -> Result:
    if database == "sqlite":
        path = workdir / f"bench-{n}.db"
        url = str(path)
    else:
        name = f"offboard_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(_required(pg_server), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = _required(pg_server).rsplit("/", 1)[0] + "/" + name
    db = connect(url)
    schema.upgrade(db)
    db.dispose()
    services = build(url)
    leaver, successor = _seed(services, n)
    services.db.dispose()
    floor_url = _copy(database, url, workdir, n, pg_server)
    try:
        floor_s = _floor(floor_url, leaver, successor)
        services = build(url)
        started = time.perf_counter()
        with tenant_transaction(services, "bench") as uow:
            plan = exit_actions.plan(uow, "leaver", successor="successor")
        plan_s = time.perf_counter() - started
        started = time.perf_counter()
        with tenant_transaction(services, "bench") as uow:
            exit_actions.start_exit(uow, "leaver", type="removal", reason_category="resignation", reason="bench", plan_id=plan.plan_id)
        exit_s = time.perf_counter() - started
        services.db.dispose()
    finally:
        if database == "postgresql":
            admin = create_engine(_required(pg_server), isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                for target in (url, floor_url):
                    c.execute(text(f'DROP DATABASE IF EXISTS "{target.rsplit("/", 1)[1]}" WITH (FORCE)'))
            admin.dispose()
    return Result(database, n, plan_s, exit_s, floor_s)


def _copy(database: str, url: str, workdir: Path, n: int, pg_server: str | None) -> str:
    if database == "sqlite":
        target = workdir / f"floor-{n}.db"
        shutil.copy(url, target)
        return f"sqlite:///{target}"
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


def run(sizes: list[int], databases: list[str], pg_server: str | None) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="offboard-bench-") as tmp:
        for database in databases:
            for n in sizes:
                results.append(run_one(database, n, pg_server, Path(tmp)))
    return results
