"""Concurrent conflicting requests on PostgreSQL (SPEC §10): INV-1 under parallel demotions,
and a gapless audit chain under parallel additions (INV-5).

Committed data in a throwaway database, one Services (engine) per thread, lined up with a barrier.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from offboard.queries import audit as audit_q
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.bootstrap import build
from offboard.domain.authz import OPERATOR
from offboard.domain.errors import OffboardError
from offboard.store import repo, schema
from offboard.store.db import connect
from offboard.store.tables import audit_events, members, roles
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.db import tree_problems
from tests.support.factories import add_department, add_member, make_tenant

THREADS = 4
ROUNDS = 10
BARRIER_TIMEOUT = 60  # only so that a broken run fails instead of hanging; nothing is timed


@pytest.fixture(scope="module")
def pg_db(pg_server_url):
    url = create_pg_database(pg_server_url)
    db = connect(url)
    schema.upgrade(db)
    db.dispose()
    yield url
    drop_pg_database(pg_server_url, url)


@pytest.fixture(scope="module")
def thread_services(pg_db):
    """One Services per thread, each with its own engine and connections."""
    pool = [build(pg_db) for _ in range(THREADS)]
    yield pool
    for svc in pool:
        svc.db.dispose()


def _verify(services, slug):
    with tenant_read(services, slug) as (conn, tenant, _):
        return audit_q.verify_chain(conn, tenant, OPERATOR)


def _run_together(services_pool, work):
    """Run work(i, services, barrier) in THREADS threads at once; return their results in order."""
    barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)
    with ThreadPoolExecutor(THREADS) as executor:
        futures = [executor.submit(work, i, services_pool[i], barrier) for i in range(THREADS)]
        return [f.result() for f in futures]


def test_inv_1_parallel_demotions_keep_one_super_admin(thread_services):
    setup = thread_services[0]
    for round_no in range(ROUNDS):
        slug = f"inv1-r{round_no}"
        make_tenant(setup, slug=slug, admin="sa0")
        admins = ["sa0"]
        for i in range(1, THREADS):
            add_member(setup, f"sa{i}", slug=slug)
            with tenant_transaction(setup, slug) as uow:
                role_actions.grant_role(uow, f"sa{i}", "super_admin")
            admins.append(f"sa{i}")
        with tenant_read(setup, slug) as (conn, tenant, _):
            assert repo.active_super_admin_count(conn, tenant.id) == THREADS

        def demote(i, services, barrier, slug=slug):
            try:
                with tenant_transaction(services, slug) as uow:
                    # Everyone is inside an open transaction before anyone counts: without the
                    # tenant lock each would see THREADS super admins and all would succeed.
                    barrier.wait()
                    role_actions.remove_role(uow, admins[i], "super_admin")
                return "removed"
            except OffboardError as exc:
                return exc.code

        outcomes = _run_together(thread_services, demote)
        assert Counter(outcomes) == Counter({"removed": THREADS - 1, "last_super_admin": 1}), outcomes
        with tenant_read(setup, slug) as (conn, tenant, _):
            assert repo.active_super_admin_count(conn, tenant.id) == 1
            survivor = conn.execute(
                select(members.c.userid)
                .join(roles, (roles.c.tenant_id == members.c.tenant_id) & (roles.c.member_id == members.c.id))
                .where(roles.c.tenant_id == tenant.id, roles.c.role == "super_admin")
            ).scalar_one()
        # Only the one who would have left none was refused.
        assert outcomes[admins.index(survivor)] == "last_super_admin"
        verdict = _verify(setup, slug)
        assert verdict.ok, verdict
        # creation (tenant, root department, member, role) + per extra admin (member, role) + the removals
        assert verdict.events == 4 + 2 * (THREADS - 1) + (THREADS - 1)


def test_inv_5_parallel_member_additions_make_a_gapless_verifying_chain(thread_services):
    setup = thread_services[0]
    slug = "inv5-adds"
    make_tenant(setup, slug=slug)
    top = [add_department(setup, f"D{i}", slug=slug) for i in range(3)]
    depts = top + [add_department(setup, f"E{i}", d, slug=slug) for i, d in enumerate(top)]
    per_thread = 15
    with tenant_read(setup, slug) as (conn, tenant, _):
        start_seq = tenant.audit_seq

    def add_and_move(i, services, barrier):
        # Members join 2-4 overlapping departments, then change them: every transaction updates
        # several shared department rows (headcounts) before it appends to the chain.
        rnd = random.Random(i)
        barrier.wait()
        ids, events = [], 0
        for n in range(per_thread):
            with tenant_transaction(services, slug) as uow:
                chosen = rnd.sample(depts, rnd.randint(2, 4))
                if n % 3 == 0:
                    ids.append(member_actions.add_member(uow, userid=f"t{i}-m{n}", name=f"T{i} M{n}", department_ids=chosen))
                    events += 1
                elif member_actions.update_member(uow, f"t{i}-m{n - n % 3}", changes={}, department_ids=chosen)["changed"]:
                    events += 1  # an update that changes nothing writes no event
        return ids, events

    results = _run_together(thread_services, add_and_move)
    added = [m for ids, _ in results for m in ids]
    assert len(set(added)) == THREADS * per_thread // 3
    written = sum(events for _, events in results)
    assert written > THREADS * per_thread // 2
    with tenant_read(setup, slug) as (conn, tenant, _):
        seqs = list(conn.execute(select(audit_events.c.seq).where(audit_events.c.tenant_id == tenant.id).order_by(audit_events.c.seq)).scalars())
        assert seqs == list(range(1, start_seq + written + 1))  # gapless, no duplicates
        assert tenant.audit_seq == seqs[-1]
        assert tree_problems(conn, tenant.id) == []  # no lost headcount update either
    verdict = _verify(setup, slug)
    assert verdict.ok, verdict
    assert verdict.events == start_seq + written
