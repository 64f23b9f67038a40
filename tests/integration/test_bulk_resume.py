"""A bulk exit survives `kill -9` (R-EXIT-7, SPEC §10 reliability, INV-3): a real worker process
is killed at random moments while it runs a job's batches; after each kill the database holds
whole batches only (every line of a batch done, or none), one ledger row per moved resource,
the invariants and a verifying audit chain; a restarted worker finishes the job."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from offboard.actions import bulk_exits
from offboard.actions import members as member_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.bootstrap import build
from offboard.store.db import Database, connect
from offboard.domain import bulk_file
from offboard.domain.vocabulary import JobState, RowStatus
from offboard.queries.audit import verify_chain
from offboard.store.tables import bulk_exit_rows, exits, job_batches, jobs, members, transfer_ledger
from tests.support.exits import TABLE_KINDS, give, make_company
from tests.support.invariants import all_problems

ROOT = Path(__file__).resolve().parents[2]
LEAVERS = 32
OWNED = 15  # of each of the 8 table kinds: 120 resources per leaver, 480 per batch
BATCH = 4
SEED = 20261202


def _worker(db: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "OFFBOARD_")) or k == "OFFBOARD_KEY_FILE"}
    return subprocess.Popen(
        [sys.executable, "-c", "from offboard.cli.main import main; main()", "--db", db, "worker", "--once", "--json"],
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _layoff(db_url: str) -> tuple[str, int, dict[int, int]]:
    """A company with LEAVERS members of a department to close, each owning OWNED of every
    kind, and a confirmed bulk exit of them all; returns the slug, the job and what each owns."""
    services = build(db_url)  # the real clock: the worker processes read it too
    try:
        company = make_company(services, per_kind=1)
        userids = [f"staff{i:02d}" for i in range(LEAVERS)]
        with tenant_transaction(services, company.slug) as uow:
            for userid in userids:
                company.ids[userid] = member_actions.add_member(uow, userid=userid, name=userid.title(), department_ids=[company.departments["Legal"]], manager_userid="lone")
        for userid in userids:
            give(company, userid, OWNED, kinds=TABLE_KINDS)
        departures = bulk_file.from_records([{"userid": u, "successor": "tina"} for u in userids], "Asia/Shanghai")
        with tenant_transaction(services, company.slug, "hanna") as uow:
            job_id = bulk_exits.create(uow, departures, "layoff.csv", bulk_exits.Defaults(reason_category="dismissal", reason="department closed"), batch_size=BATCH)
            bulk_exits.confirm(uow, job_id)
        return company.slug, job_id, {company[u]: OWNED * len(TABLE_KINDS) for u in userids}
    finally:
        services.db.dispose()


def _check(db_url: str, slug: str, job_id: int, owned: dict[int, int]) -> int:
    """Every invariant after a kill; returns how many lines are done."""
    services = build(db_url)
    try:
        with tenant_read(services, slug, "boss") as (conn, tenant, actor):
            tid = tenant.id
            assert all_problems(conn, tid) == {}
            assert verify_chain(conn, tenant, actor).ok
            rows = {r.member_id: r for r in conn.execute(select(bulk_exit_rows).where(bulk_exit_rows.c.tenant_id == tid, bulk_exit_rows.c.job_id == job_id))}
            status = dict(conn.execute(select(members.c.id, members.c.status).where(members.c.tenant_id == tid, members.c.id.in_(list(owned)))).all())
            open_exits = dict(
                conn.execute(select(exits.c.member_id, func.count()).where(exits.c.tenant_id == tid, exits.c.member_id.in_(list(owned)), exits.c.state == "open").group_by(exits.c.member_id)).all()
            )
            moved = dict(
                conn.execute(
                    select(transfer_ledger.c.from_member_id, func.count())
                    .where(transfer_ledger.c.tenant_id == tid, transfer_ledger.c.from_member_id.in_(list(owned)))
                    .group_by(transfer_ledger.c.from_member_id)
                ).all()
            )
            for member_id, row in rows.items():
                if row.status == RowStatus.EXITED:
                    assert status[member_id] == "exited" and open_exits.get(member_id) == 1 and row.exit_id is not None
                    assert moved.get(member_id) == owned[member_id], f"member {member_id}: {moved.get(member_id)} ledger rows for {owned[member_id]} resources"
                else:
                    assert row.status == RowStatus.READY, row.issues
                    assert status[member_id] == "active" and member_id not in open_exits and member_id not in moved
            for batch_no, state in conn.execute(select(job_batches.c.batch_no, job_batches.c.state).where(job_batches.c.tenant_id == tid, job_batches.c.job_id == job_id)):
                lines = {r.status for r in rows.values() if r.batch_no == batch_no}
                assert lines == ({RowStatus.EXITED} if state == "done" else {RowStatus.READY}), f"batch {batch_no} is {state} with lines {lines}"
            return sum(r.status == RowStatus.EXITED for r in rows.values())
    finally:
        services.db.dispose()


def _batches_done(db: Database, job_id: int) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).where(job_batches.c.job_id == job_id, job_batches.c.state == "done")).scalar_one()


def _kill_after_progress(db_url: str, job_id: int, worker: subprocess.Popen, rng: random.Random) -> bool:
    """Wait until the worker has finished one more batch, then kill it at a random moment of
    the next one; True if it was killed (not already done)."""
    db = connect(db_url)
    try:
        before = _batches_done(db, job_id)
        deadline = time.monotonic() + 120
        while worker.poll() is None and _batches_done(db, job_id) == before and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        db.dispose()
    time.sleep(rng.uniform(0, 0.05))
    if worker.poll() is not None:
        return False
    worker.send_signal(signal.SIGKILL)
    return True


def _job_state(db_url: str, job_id: int) -> str:
    services = build(db_url)
    try:
        with services.db.read() as conn:
            return conn.execute(select(jobs.c.state).where(jobs.c.id == job_id)).scalar_one()
    finally:
        services.db.dispose()


def test_r_exit_7_a_worker_killed_at_random_moments_leaves_whole_batches_and_a_restart_finishes(db_url):
    slug, job_id, owned = _layoff(db_url)
    rng = random.Random(SEED)
    seen_halfway, kills = False, 0
    for attempt in range(8):
        worker = _worker(db_url)
        if attempt == 0:  # once before it can have done anything
            time.sleep(rng.uniform(0.05, 0.3))
            worker.send_signal(signal.SIGKILL)
            kills += 1
        else:
            kills += _kill_after_progress(db_url, job_id, worker, rng)
        worker.wait(timeout=30)
        done = _check(db_url, slug, job_id, owned)
        seen_halfway |= 0 < done < LEAVERS
        if done == LEAVERS:
            break
    final = _worker(db_url)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert _check(db_url, slug, job_id, owned) == LEAVERS
    assert _job_state(db_url, job_id) == JobState.DONE
    assert kills and seen_halfway, f"{kills} kill(s); no kill left the job half done (seed {SEED}): the test proved nothing"
