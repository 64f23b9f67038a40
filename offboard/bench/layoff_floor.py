"""The floor of `offboard bench layoff`: the row changes of each phase made by hand-written SQL,
a statement per table (and per resource kind) for all leavers at once, on a copy of the
benchmark's database. No rule is checked and nothing is hashed: what is left is the database's
own cost of writing those rows, which the engine is measured against."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import text

from offboard.store import statistics
from offboard.store.db import connect

from offboard.store.transfers import SPECS

JOB = 1_000_000_001  # ids of the floor's own rows, far above the engine's


class Floor:
    def __init__(self, url: str, tenant_id: int, leavers: Sequence[int]) -> None:
        self.db = connect(url)
        self.engine = self.db.engine
        self.pg = self.engine.dialect.name == "postgresql"
        self.tid = tenant_id
        self.leavers = list(leavers)

    def dispose(self) -> None:
        self.db.dispose()

    def _run(self, statements: Sequence[str]) -> tuple[int, float]:
        started = time.perf_counter()
        rows = 0
        with self.engine.begin() as conn:
            if not self.pg:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            for statement in statements:
                result = conn.execute(text(statement), {"t": self.tid, "job": JOB})
                rows += max(result.rowcount, 0)
        return rows, time.perf_counter() - started

    def _id(self, table: str, order: str) -> str:
        if self.pg:
            return f"nextval('{table}_id_seq')"
        return f"(SELECT coalesce(max(id), 0) FROM {table} WHERE tenant_id = :t) + row_number() OVER (ORDER BY {order})"

    def _now(self) -> str:
        return "CURRENT_TIMESTAMP"

    def _leavers(self) -> str:
        return "SELECT member_id FROM bulk_exit_rows WHERE tenant_id = :t AND job_id = :job"

    def _audit(self, source: str, order: str, count_sql: str) -> list[str]:
        """One audit row and its side record per row of `source` (SELECT ... AS k)."""
        base = "(SELECT audit_seq FROM tenants WHERE id = :t)"
        return [
            f"INSERT INTO audit_events (tenant_id, seq, at, actor, action, targets, side_digest, prev_hash, hash) "
            f"SELECT :t, {base} + row_number() OVER (ORDER BY {order}), 'now', 'operator', 'floor', '[]', 'x', 'x', 'x' FROM ({source}) s",
            f"INSERT INTO audit_side (tenant_id, seq, details) SELECT :t, seq, '{{}}' FROM audit_events WHERE tenant_id = :t AND seq > {base}",
            f"UPDATE tenants SET audit_seq = audit_seq + ({count_sql}) WHERE id = :t",
        ]

    def _outbox(self, source: str, order: str) -> str:
        return (
            f"INSERT INTO outbox (tenant_id, id, topic, key, payload, state, delivered_to, attempts, next_attempt_at, created_at) "
            f"SELECT :t, {self._id('outbox', order)}, 'floor', 'floor/' || s.k || '/' || {'gen_random_uuid()' if self.pg else 'lower(hex(randomblob(8)))'}, '{{}}', 'pending', '[]', 0, {self._now()}, {self._now()} FROM ({source}) s"
        )

    def plan(self) -> tuple[int, float]:
        ids = ", ".join(str(m) for m in self.leavers)
        statements = [
            f"INSERT INTO jobs (tenant_id, id, kind, state, source, actor, total, counts, batch_size, created_at, updated_at) VALUES (:t, :job, 'bulk_exit', 'planned', 'floor', 'operator', {len(self.leavers)}, '{{}}', 500, {self._now()}, {self._now()})",
            f"INSERT INTO bulk_exit_rows (tenant_id, job_id, row_no, userid, member_id, type, reason_category, reason, acceptors, batch_no, status, issues, warnings) "
            f"SELECT :t, :job, row_number() OVER (ORDER BY id) + 1, userid, id, 'removal', 'dismissal', 'layoff', '{{}}', (row_number() OVER (ORDER BY id) - 1) / 500, 'ready', '[]', '[]' FROM members WHERE tenant_id = :t AND id IN ({ids})",
        ]
        for kind, spec in SPECS.items():
            t, owner = spec.table.name, spec.owner
            statements.append(
                f"INSERT INTO bulk_exit_routes (tenant_id, job_id, member_id, kind, batch_no, destination, acceptor_id, state, reason, count) "
                f"SELECT :t, :job, m.id, '{kind.value}', 0, CASE WHEN m.manager_id IS NULL THEN 'unassigned' ELSE 'member' END, m.manager_id, CASE WHEN m.manager_id IS NULL THEN 'unassigned' ELSE 'done' END, 'manager', "
                f"(SELECT count(*) FROM {t} r WHERE r.tenant_id = :t AND r.{owner} = m.id) FROM members m WHERE m.tenant_id = :t AND m.id IN ({ids})"
            )
        batches = (len(self.leavers) + 499) // 500
        statements.append("INSERT INTO job_batches (tenant_id, job_id, batch_no, state, rows) VALUES " + ", ".join(f"(:t, :job, {n}, 'pending', 500)" for n in range(batches)))
        statements += self._audit("SELECT 1 AS k", "k", "1")
        return self._run(statements)

    def execute(self) -> tuple[int, float]:
        leavers = self._leavers()
        statements = [
            f"INSERT INTO exits (tenant_id, id, member_id, state, type, reason_category, reason, trigger, requested_by, effective_at, acceptors, restore_until, created_at, updated_at) "
            f"SELECT :t, {self._id('exits', 'member_id')}, member_id, 'open', 'removal', 'dismissal', 'layoff', 'admin', 'operator', {self._now()}, '{{}}', {self._now()}, {self._now()}, {self._now()} FROM ({leavers}) l",
            f"INSERT INTO exit_steps (tenant_id, id, exit_id, kind, actor, counts, created_at) SELECT :t, {self._id('exit_steps', 'id')}, id, 'exit', 'operator', '{{}}', {self._now()} FROM exits WHERE tenant_id = :t AND member_id IN ({leavers})",
            f"UPDATE members SET status = 'exited', exited_at = {self._now()}, version = version + 1 WHERE tenant_id = :t AND id IN ({leavers})",
            f"UPDATE sessions SET revoked_at = {self._now()} WHERE tenant_id = :t AND member_id IN ({leavers}) AND revoked_at IS NULL",
            f"UPDATE api_tokens SET revoked_at = {self._now()} WHERE tenant_id = :t AND member_id IN ({leavers}) AND revoked_at IS NULL",
            f"UPDATE roles SET status = 'suspended' WHERE tenant_id = :t AND member_id IN ({leavers}) AND status = 'active'",
            f"UPDATE devices SET status = 'wipe_pending' WHERE tenant_id = :t AND member_id IN ({leavers}) AND status = 'active'",
            f"UPDATE app_grants SET status = 'reauth_required', revoked_at = {self._now()} WHERE tenant_id = :t AND member_id IN ({leavers}) AND status = 'active'",
            f"UPDATE attendance_records SET archived_at = {self._now()} WHERE tenant_id = :t AND member_id IN ({leavers}) AND archived_at IS NULL",
        ]
        # The exits and steps are in before the ledger rows that name them, and analyzed, as the
        # engine's are after its first batch (offboard.store.statistics): both are then planned
        # for what is there.
        written, seconds = self._run(statements)
        started = time.perf_counter()
        statistics.refresh(self.db)
        seconds += time.perf_counter() - started
        statements = []
        corr = "replace(cast(gen_random_uuid() as text), '-', '')" if self.pg else "lower(hex(randomblob(16)))"
        for kind, spec in SPECS.items():
            t, owner = spec.table.name, spec.owner
            live = {"document": " AND r.deleted_at IS NULL", "calendar": " AND r.deleted_at IS NULL", "approval_task": " AND r.status = 'pending'"}.get(kind.value, "")
            if kind.value == "direct_report":
                live = " AND r.status IN ('active', 'frozen')"
            if kind.value == "department_leader":
                live = " AND r.status <> 'dissolved'"
            statements.append(
                f"INSERT INTO transfer_ledger (tenant_id, id, exit_id, kind, resource_id, from_member_id, to_member_id, state, correlation_id, version_after, created_at, updated_at, step_id) "
                f"SELECT :t, {self._id('transfer_ledger', 'r.id')}, e.id, '{kind.value}', r.id, e.member_id, rt.acceptor_id, rt.state, {corr}, r.version + 1, {self._now()}, {self._now()}, s.id "
                f"FROM {t} r JOIN bulk_exit_routes rt ON rt.tenant_id = r.tenant_id AND rt.member_id = r.{owner} AND rt.job_id = :job AND rt.kind = '{kind.value}' "
                f"JOIN exits e ON e.tenant_id = r.tenant_id AND e.member_id = rt.member_id AND e.state = 'open' JOIN exit_steps s ON s.tenant_id = e.tenant_id AND s.exit_id = e.id "
                f"WHERE r.tenant_id = :t{live}"
            )
            statements.append(
                f"UPDATE {t} SET {owner} = l.to_member_id, version = l.version_after FROM transfer_ledger l "
                f"WHERE l.tenant_id = {t}.tenant_id AND l.resource_id = {t}.id AND l.kind = '{kind.value}' AND l.tenant_id = :t AND l.from_member_id IN ({leavers})"
            )
        moved = f"SELECT DISTINCT exit_id || ':' || kind AS k FROM transfer_ledger WHERE tenant_id = :t AND from_member_id IN ({leavers})"
        per_exit = f"SELECT e.id || ':' || n.n AS k FROM exits e CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) n WHERE e.tenant_id = :t AND e.member_id IN ({leavers})"
        events = f"{moved} UNION ALL {per_exit} UNION ALL SELECT 'job:1' UNION ALL SELECT 'job:2'"
        statements += self._audit(events, "k", f"SELECT count(*) FROM ({events}) c")
        statements.append(self._outbox(f"SELECT id AS k FROM exits WHERE tenant_id = :t AND member_id IN ({leavers})", "k"))
        rows, more = self._run(statements)
        return written + rows, seconds + more

    def finalize(self) -> tuple[int, float]:
        leavers = self._leavers()
        exits_of = f"SELECT id AS k FROM exits WHERE tenant_id = :t AND member_id IN ({leavers})"
        statements = [
            f"UPDATE members SET status = 'finalized', version = version + 1 WHERE tenant_id = :t AND id IN ({leavers})",
            f"UPDATE messages SET retained_until = {self._now()} WHERE tenant_id = :t AND author_id IN ({leavers}) AND retained_until IS NULL",
            f"UPDATE exits SET state = 'finalized', finalized_at = {self._now()}, version = version + 1 WHERE tenant_id = :t AND member_id IN ({leavers})",
            f"INSERT INTO exit_steps (tenant_id, id, exit_id, kind, actor, counts, created_at) SELECT :t, {self._id('exit_steps', 'k')}, k, 'finalize', 'system', '{{}}', {self._now()} FROM ({exits_of}) s",
        ]
        statements += self._audit(exits_of, "k", f"SELECT count(*) FROM ({exits_of}) c")
        statements.append(self._outbox(exits_of, "k"))
        return self._run(statements)
