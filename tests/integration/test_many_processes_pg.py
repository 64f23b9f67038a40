"""Many processes on one PostgreSQL (SPEC §10, R-EXIT-7): three `offboard worker` processes share
one bulk job while two API processes (`offboard serve --workers 2`) take single exits at the
same time, some of them of members the job is exiting too. Nothing is held in a process, so
every member is exited exactly once: either the API's exit wins and the job's line says the
member already has an exit, or the job's wins and the API answers 409."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from offboard.actions import bulk_exits
from offboard.actions import members as member_actions
from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.bootstrap import build
from offboard.domain import bulk_file
from offboard.domain.vocabulary import JobState
from offboard.queries.audit import verify_chain
from offboard.store.tables import bulk_exit_rows, exits, jobs, members, transfer_ledger
from tests.support.exits import TABLE_KINDS, give, make_company
from tests.integration.test_serve import _free_port, _wait_until_serving
from tests.support.invariants import all_problems

ROOT = Path(__file__).resolve().parents[2]
STAFF = 60
IN_JOB = range(0, 48)  # staff00..staff47 leave in the bulk job
BY_API = range(36, 60)  # staff36..staff59 are exited through the API: 36..47 by both

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _offboard(db: str, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "OFFBOARD_")) or k == "OFFBOARD_KEY_FILE"}
    return subprocess.Popen(
        [sys.executable, "-c", "from offboard.cli.main import main; main()", "--db", db, *args], env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _setup(db_url: str) -> tuple[str, int, str, dict[str, int]]:
    services = build(db_url)
    try:
        company = make_company(services, per_kind=1)
        userids = [f"staff{i:02d}" for i in range(STAFF)]
        with tenant_transaction(services, company.slug) as uow:
            for userid in userids:
                company.ids[userid] = member_actions.add_member(uow, userid=userid, name=userid.title(), department_ids=[company.departments["Legal"]], manager_userid="lone")
            token = token_actions.create_token(uow, name="hr system", service=True, scopes=["remove", "plan", "read_directory"]).token
        for userid in userids:
            give(company, userid, 5, kinds=TABLE_KINDS)
        departures = bulk_file.from_records([{"userid": userids[i]} for i in IN_JOB], "Asia/Shanghai")
        with tenant_transaction(services, company.slug, "hanna") as uow:
            job_id = bulk_exits.create(uow, departures, "reorg.csv", bulk_exits.Defaults(reason_category="dismissal", reason="reorganisation"), batch_size=4)
            bulk_exits.confirm(uow, job_id)
        return company.slug, job_id, token, {u: company[u] for u in userids}
    finally:
        services.db.dispose()


def test_spec_10_three_workers_and_two_api_processes_exit_every_member_exactly_once(db_url):
    slug, job_id, token, ids = _setup(db_url)
    port = _free_port()
    api = _offboard(db_url, "serve", "--no-worker", "--workers", "2", "--port", str(port))
    answers: dict[str, int] = {}
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url, api)

        def take_exits(indexes: range) -> None:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
                for i in indexes:
                    body = {"member_id": ids[f"staff{i:02d}"], "reason_category": "dismissal", "reason": "reorganisation"}
                    answers[f"staff{i:02d}"] = client.post("/api/v1/exits", json=body).status_code

        workers = [_offboard(db_url, "worker", "--once", "--json") for _ in range(3)]
        clients = [threading.Thread(target=take_exits, args=(r,)) for r in (BY_API[::2], BY_API[1::2])]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=300)
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err
    finally:
        api.terminate()
        api.wait(timeout=30)
    assert set(answers.values()) <= {201, 409}, answers
    services = build(db_url)
    try:
        with tenant_read(services, slug, "boss") as (conn, tenant, actor):
            tid = tenant.id
            per_member = dict(conn.execute(select(exits.c.member_id, func.count()).where(exits.c.tenant_id == tid).group_by(exits.c.member_id)).all())
            status = dict(conn.execute(select(members.c.id, members.c.status).where(members.c.tenant_id == tid)).all())
            lines = {r.member_id: r for r in conn.execute(select(bulk_exit_rows).where(bulk_exit_rows.c.tenant_id == tid, bulk_exit_rows.c.job_id == job_id))}
            for i in range(STAFF):
                userid, member_id = f"staff{i:02d}", ids[f"staff{i:02d}"]
                line = lines.get(member_id)
                assert per_member.get(member_id) == 1 and status[member_id] == "exited", (
                    f"{userid}: {per_member.get(member_id)} exit(s), {status[member_id]}, line {line and (line.status, line.issues)}"
                )
                moved = conn.execute(select(func.count()).where(transfer_ledger.c.tenant_id == tid, transfer_ledger.c.from_member_id == member_id)).scalar_one()
                assert moved == 5 * len(TABLE_KINDS), f"{userid}: {moved} ledger rows"
                if i in IN_JOB and i in BY_API:  # exactly one of the two paths did it
                    job_did = lines[member_id].status == "exited"
                    assert job_did == (answers[userid] == 409), (userid, lines[member_id].status, lines[member_id].issues, answers[userid])
                elif i in IN_JOB:
                    assert lines[member_id].status == "exited"
                else:
                    assert answers[userid] == 201
            assert conn.execute(select(jobs.c.state).where(jobs.c.tenant_id == tid, jobs.c.id == job_id)).scalar_one() == JobState.DONE
            assert all_problems(conn, tid) == {}
            assert verify_chain(conn, tenant, actor).ok
    finally:
        services.db.dispose()
