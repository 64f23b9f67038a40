"""Issue 8 item 3, R-EXIT-8, SPEC §10: due work as a registry of kinds, each item claimed and
done on its own, shared by several workers on PostgreSQL without doing anything twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from offboard.actions import exits as exit_actions
from offboard.actions import members as member_actions
from offboard.actions.context import tenant_transaction
from offboard.bootstrap import build
from offboard.jobs import reconciler
from offboard.store import schema
from offboard.store.db import connect
from offboard.store.tables import audit_events, exits
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.clock import FakeClock
from tests.support.exits import give, make_company, start
from tests.support.invariants import all_problems

WORKERS = 2


def test_r_exit_8_every_kind_is_a_registry_entry_found_by_due_at_or_before_now():
    assert [k.name for k in reconciler.KINDS] == ["took_effect", "taken_over", "finalized"]


def test_r_exit_8_one_failing_item_stops_nothing_else_in_the_pass(services, clock, monkeypatch):
    """A scheduled exit whose successor left meanwhile fails (blocked), another one raises a bug:
    both are reported; a third, due at the same time, takes effect in the same pass."""
    company = make_company(services, profile="wecom")
    due = clock.now() + timedelta(hours=1)
    blocked = start(company, "leo", successor="sam", effective_at=due)
    start(company, "sam", successor="rita")
    buggy = start(company, "tina", effective_at=due)
    fine = start(company, "lone", effective_at=due)
    real = exit_actions.take_effect

    def take_effect(uow, exit_id, current=None):
        if exit_id == buggy.id:
            raise RuntimeError("a bug in one item")
        return real(uow, exit_id, current)

    monkeypatch.setattr(reconciler, "take_effect", take_effect)
    clock.advance(hours=2)
    report = reconciler.reconcile(services)
    assert report.took_effect == 1
    assert sorted((f["exit_id"], f["error"]) for f in report.failed) == sorted([(blocked.id, "exit_blocked"), (buggy.id, "internal_error")])
    with services.db.read() as conn:
        states = dict(conn.execute(select(exits.c.id, exits.c.state).where(exits.c.id.in_([blocked.id, buggy.id, fine.id]))).all())
    assert states == {blocked.id: "scheduled", buggy.id: "scheduled", fine.id: "open"}
    monkeypatch.undo()
    again = reconciler.reconcile(services)  # the buggy one is retried and now succeeds; nothing is done twice
    assert again.took_effect == 1 and [f["exit_id"] for f in again.failed] == [blocked.id]


@pytest.fixture
def pg_db(pg_server_url):
    url = create_pg_database(pg_server_url)
    db = connect(url)
    schema.upgrade(db)
    db.dispose()
    yield url
    drop_pg_database(pg_server_url, url)


def test_r_exit_8_two_workers_racing_over_the_same_due_items_do_each_exactly_once(pg_db):
    """Twelve scheduled exits fall due at once, then their customers' 24 h takeovers; two
    workers (each with its own engine, as two processes would be) run their passes at the same
    moment. Each exit takes effect once, each takeover happens once, the invariants hold."""
    clock = FakeClock()
    setup = build(pg_db, clock=clock)
    company = make_company(setup, profile="wecom")
    with tenant_transaction(setup, company.slug) as uow:
        for i in range(12):
            company.ids[f"w{i}"] = member_actions.add_member(uow, userid=f"w{i}", name=f"Worker {i}", department_ids=[company.departments["Sales"]])
    for i in range(12):
        give(company, f"w{i}", 2)
    scheduled = {start(company, f"w{i}", successor="mona", effective_at=clock.now() + timedelta(hours=1)).id for i in range(12)}
    tenant_id = company.tenant_id
    setup.db.dispose()
    clock.advance(hours=2)
    pool = [build(pg_db, clock=clock) for _ in range(WORKERS)]
    try:
        first = _race(pool)
        assert sum(r.took_effect for r in first) == len(scheduled) and not any(r.failed for r in first), [r.as_dict() for r in first]
        clock.advance(hours=25)
        second = _race(pool)
        assert sum(r.taken_over for r in second) > 0 and not any(r.failed for r in second), [r.as_dict() for r in second]
        with pool[0].db.read() as conn:
            events = conn.execute(
                select(audit_events.c.action, audit_events.c.targets).where(audit_events.c.tenant_id == tenant_id, audit_events.c.action.in_(["exit.took_effect", "transfer.taken_over"]))
            ).all()
            problems = all_problems(conn, tenant_id)
        took = Counter(next(t for t in targets if t.startswith("exit:")) for action, targets in events if action == "exit.took_effect")
        assert took == Counter({f"exit:{i}": 1 for i in scheduled})
        taken = Counter(targets[0] for action, targets in events if action == "transfer.taken_over")
        # each leaver's two waiting kinds (external contacts, customer groups) were taken over once each
        assert taken == Counter({f"exit:{i}": 2 for i in scheduled})
        assert problems == {}
    finally:
        for svc in pool:
            svc.db.dispose()


def _race(pool):
    barrier = threading.Barrier(len(pool), timeout=60)
    reports: list = [None] * len(pool)

    def work(i):
        barrier.wait()
        reports[i] = reconciler.reconcile(pool[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(pool))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return reports


def test_r_adm_2_a_tenant_whose_windows_cannot_close_is_reported_and_retried(services, clock, monkeypatch):
    """Closing a lapsed emergency window that fails is in the pass's failures (the sweep and
    `worker --json` show it), the other work goes on, and the next pass closes it."""
    from offboard.actions import handover
    from tests.support.exits import totp_now

    company = make_company(services, profile="wecom")

    def act(by, fn, **kwargs):
        with tenant_transaction(services, company.slug, by) as uow:
            return fn(uow, **kwargs)

    started = act("boss", handover.start, to="mona", totp=totp_now("boss", services))
    clock.advance(seconds=31)
    act("mona", handover.accept, totp=totp_now("mona", services), link=started.link)
    due = start(company, "tina", effective_at=clock.now() + timedelta(days=1))
    clock.advance(days=7, seconds=1)

    def broken(uow):
        raise RuntimeError("the window's row could not be written")

    monkeypatch.setattr(reconciler, "close_lapsed_windows", broken)
    report = reconciler.reconcile(services)
    assert report.took_effect == 1 and report.windows_closed == 0
    assert [(f["kind"], f["exit_id"], f["error"]) for f in report.as_dict()["failed"]] == [("windows_closed", None, "internal_error")]
    monkeypatch.undo()
    again = reconciler.reconcile(services)
    assert again.windows_closed == 1 and again.failed == []
    with services.db.read() as conn:
        assert conn.execute(select(exits.c.state).where(exits.c.id == due.id)).scalar_one() == "open"
