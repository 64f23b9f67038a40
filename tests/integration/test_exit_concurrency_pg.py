"""Concurrent exits on PostgreSQL (SPEC §10): "one open exit per member" under racing requests
(the member's row lock plus the partial unique index), exits of different members that run
in parallel without blocking each other into failure, leaving a verifying audit chain (INV-5),
and racing inheritances of one exit and kind, which the exit's row lock serialises (R-ORG-5).

Committed data in a throwaway database, one Services (engine) per thread, lined up with a barrier
inside their open transactions, so every thread has read the member before any of them writes.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from offboard.queries import audit as audit_q
from offboard.actions import exits as exit_actions
from offboard.actions import inheritance
from offboard.actions import members as member_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.bootstrap import build
from offboard.domain.authz import OPERATOR
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import ResourceKind as K
from offboard.store import repo, schema
from offboard.store.db import connect
from offboard.store.tables import departments, exit_steps, exits, transfer_ledger
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.clock import FakeClock
from tests.support.exits import give, make_company
from tests.support.invariants import all_problems, open_exits_per_member

THREADS = 6
ROUNDS = 3
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
    clock = FakeClock()
    pool = [build(pg_db, clock=clock) for _ in range(THREADS)]
    yield pool
    for svc in pool:
        svc.db.dispose()


def _run_together(services_pool, work):
    barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)
    with ThreadPoolExecutor(THREADS) as executor:
        futures = [executor.submit(work, i, services_pool[i], barrier) for i in range(THREADS)]
        return [f.result() for f in futures]


def _exit_in_lockstep(slug, userid, successor):
    def work(i, services, barrier):
        try:
            with tenant_transaction(services, slug, "hanna") as uow:
                barrier.wait()  # everyone is inside a transaction before anyone starts the exit
                result = exit_actions.start_exit(uow, userid(i), type="removal", reason_category="resignation", reason=f"thread {i}", successor=successor)
            return ("ok", result.id)
        except OffboardError as exc:
            return (exc.code, str(exc))

    return work


def _check_tenant(services, slug) -> dict:
    with tenant_read(services, slug) as (conn, tenant, _):
        assert all_problems(conn, tenant.id) == {}
        assert set(open_exits_per_member(conn, tenant.id).values()) <= {1}
        verdict = audit_q.verify_chain(conn, tenant, OPERATOR)
        assert verdict.ok, verdict
        return verdict


def test_r_exit_4_racing_exits_of_the_same_member_give_one_exit_and_exit_exists_for_the_rest(thread_services):
    setup = thread_services[0]
    for round_no in range(ROUNDS):
        slug = f"race-same-{round_no}"
        company = make_company(setup, slug, profile="wecom" if round_no % 2 else "dingtalk", per_kind=3)
        outcomes = _run_together(thread_services, _exit_in_lockstep(slug, lambda i: "leo", "sam"))
        codes = Counter(code for code, _ in outcomes)
        assert codes == Counter({"ok": 1, "exit_exists": THREADS - 1}), outcomes
        (winner,) = [detail for code, detail in outcomes if code == "ok"]
        # Every loser names the exit that won.
        assert all(f"id {winner}" in detail for code, detail in outcomes if code == "exit_exists")
        with tenant_read(setup, slug) as (conn, tenant, _):
            assert conn.execute(select(func.count()).where(exits.c.tenant_id == tenant.id, exits.c.member_id == company["leo"])).scalar_one() == 1
            per_resource = conn.execute(
                select(transfer_ledger.c.kind, transfer_ledger.c.resource_id, func.count())
                .where(transfer_ledger.c.tenant_id == tenant.id)
                .group_by(transfer_ledger.c.kind, transfer_ledger.c.resource_id)
            ).all()
        assert per_resource and {n for _, _, n in per_resource} == {1}  # moved once, by the one exit
        assert len(per_resource) == 8 * 3 + 2 + 1
        _check_tenant(setup, slug)


def test_exits_of_different_members_run_in_parallel_and_the_audit_chain_verifies(thread_services):
    setup = thread_services[0]
    slug = "race-many"
    company = make_company(setup, slug, profile="wecom", per_kind=2)
    east = company.departments["East"]
    with tenant_transaction(setup, slug) as uow:
        for i in range(THREADS):
            member_actions.add_member(uow, userid=f"p{i}", name=f"P{i}", department_ids=[east], manager_userid="mona")
    with tenant_read(setup, slug) as (conn, tenant, _):
        company.ids.update({f"p{i}": repo.member_by_userid(conn, tenant.id, f"p{i}").id for i in range(THREADS)})
        start_seq = tenant.audit_seq
    for i in range(THREADS):
        give(company, f"p{i}", 3, group_members=["rita"])
    outcomes = _run_together(thread_services, _exit_in_lockstep(slug, lambda i: f"p{i}", "tina"))
    assert [code for code, _ in outcomes] == ["ok"] * THREADS, outcomes
    verdict = _check_tenant(setup, slug)
    assert verdict.events > start_seq
    with tenant_read(setup, slug) as (conn, tenant, _):
        moved = conn.execute(select(func.count()).where(transfer_ledger.c.tenant_id == tenant.id)).scalar_one()
        states = dict(conn.execute(select(exits.c.state, func.count()).where(exits.c.tenant_id == tenant.id).group_by(exits.c.state)).all())
        east_headcount = conn.execute(select(departments.c.headcount).where(departments.c.tenant_id == tenant.id, departments.c.id == east)).scalar_one()
    assert moved == THREADS * 8 * 3  # every resource of every leaver moved once
    assert states == {"open": THREADS}
    assert east_headcount == 3  # leo, sam, rita: no lost headcount update


ACCEPTORS = ("tina", "mona", "sam", "rita", "lone", "deputy")


def _inherit_in_lockstep(slug, exit_id, kind, resource_ids):
    def work(i, services, barrier):
        try:
            with tenant_transaction(services, slug, "hanna") as uow:
                barrier.wait()  # everyone is inside a transaction before anyone chooses resources
                result = inheritance.inherit(uow, exit_id, kind, ACCEPTORS[i], resource_ids=resource_ids(i))
            return ("ok", result.count)
        except OffboardError as exc:
            return (exc.code, 0)

    return work


def _inherited(services, slug, exit_id, kind) -> list:
    """(resource id, acceptor, step id) of every row the inheritances wrote."""
    with tenant_read(services, slug) as (conn, tenant, _):
        L = transfer_ledger
        return conn.execute(
            select(L.c.resource_id, L.c.to_member_id, L.c.step_id)
            .join(exit_steps, (exit_steps.c.tenant_id == L.c.tenant_id) & (exit_steps.c.id == L.c.step_id))
            .where(L.c.tenant_id == tenant.id, L.c.exit_id == exit_id, L.c.kind == kind, exit_steps.c.kind == "inherit")
            .order_by(L.c.resource_id)
        ).all()


def test_r_org_5_racing_inheritances_of_one_exit_and_kind_assign_each_unassigned_resource_once(thread_services):
    assert len(ACCEPTORS) == THREADS
    setup = thread_services[0]
    slug = "race-inherit"
    company = make_company(setup, slug, profile="dingtalk", per_kind=THREADS)
    with tenant_transaction(setup, slug) as uow:
        member_actions.update_member(uow, "leo", changes={}, clear_manager=True)
    with tenant_transaction(setup, slug, "hanna") as uow:  # nobody named: customers and approval templates are unassigned
        exit_id = exit_actions.start_exit(uow, "leo", type="removal", reason_category="resignation", reason="race").id

    # Everyone asks for all of them: one inheritance takes them, the others find nothing left.
    outcomes = _run_together(thread_services, _inherit_in_lockstep(slug, exit_id, "external_contact", lambda i: None))
    assert sorted(outcomes) == sorted([("ok", THREADS)] + [("nothing_to_inherit", 0)] * (THREADS - 1)), outcomes
    rows = _inherited(setup, slug, exit_id, "external_contact")
    assert [r.resource_id for r in rows] == sorted(company.resources[K.EXTERNAL_CONTACT])  # each once
    assert len({(r.to_member_id, r.step_id) for r in rows}) == 1  # by one step, to one acceptor

    # Overlapping choices (thread i asks for templates i and i+1): all or nothing each, so the
    # winners' choices are disjoint and every template is assigned at most once.
    templates = sorted(company.resources[K.APPROVAL_TEMPLATE])
    chosen = [[templates[i], templates[(i + 1) % THREADS]] for i in range(THREADS)]
    outcomes = _run_together(thread_services, _inherit_in_lockstep(slug, exit_id, "approval_template", lambda i: chosen[i]))
    assert {code for code, _ in outcomes} <= {"ok", "not_unassigned"} and ("ok", 2) in outcomes, outcomes
    winners = [set(chosen[i]) for i, (code, _) in enumerate(outcomes) if code == "ok"]
    assert sum(len(w) for w in winners) == len(set().union(*winners))  # disjoint
    rows = _inherited(setup, slug, exit_id, "approval_template")
    assert [r.resource_id for r in rows] == sorted(set().union(*winners))
    assert len({r.step_id for r in rows}) == len(winners)
    _check_tenant(setup, slug)
