"""Issue 8 item 2, SPEC §10: the transactional outbox.

An event is written in the transaction of the change it reports (a rolled-back change leaves
none), holds ids and codes only, and is delivered after commit to every subscriber of its
topic: each row and each subscriber on its own, retried with exponential back-off, listed
while it fails, given up after the last attempt, and never lost when a worker dies between
commit and delivery (real worker processes, killed with SIGKILL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from offboard.actions.context import tenant_transaction
from offboard.bootstrap import build
from offboard.domain.errors import OffboardError
from offboard.interfaces import Delivery
from offboard.jobs import outbox as runner
from offboard.store.tables import outbox
from tests.support.exits import make_company, start

ROOT = Path(__file__).resolve().parents[2]


class Collect:
    def __init__(self, name: str = "collect", topics: frozenset[str] = frozenset({"*"})) -> None:
        self.name, self.topics, self.seen = name, topics, []

    def deliver(self, delivery: Delivery) -> None:
        self.seen.append(delivery)


class Broken:
    name, topics = "broken", frozenset({"member.exited"})

    def __init__(self) -> None:
        self.calls = 0

    def deliver(self, delivery: Delivery) -> None:
        self.calls += 1
        raise ConnectionError("endpoint refused the connection")


def _rows(services, tenant_id):
    with services.db.read() as conn:
        return conn.execute(select(outbox).where(outbox.c.tenant_id == tenant_id).order_by(outbox.c.id)).all()


def test_spec_10_an_exit_writes_its_event_in_the_same_transaction_and_a_rollback_writes_none(services):
    company = make_company(services)
    with pytest.raises(OffboardError):
        with tenant_transaction(services, company.slug) as uow:
            uow.emit("member.exited", exit_id=1, member_id=1)
            raise OffboardError("boom")
    assert _rows(services, company.tenant_id) == []
    exit_ = start(company)
    (row,) = [r for r in _rows(services, company.tenant_id) if r.topic == "member.exited"]
    assert row.payload == {"ids": {"exit_id": exit_.id, "member_id": exit_.member.id}}
    assert row.state == "pending" and row.attempts == 0 and row.key == f"member.exited/{company.tenant_id}/{row.id}"


def test_spec_10_outbox_events_carry_ids_and_codes_never_personal_data(services):
    company = make_company(services)
    with tenant_transaction(services, company.slug) as uow:
        for bad in ({"name": "Leo Wang"}, {"mail": "leo@example.com "}, {"note": "x" * 65}, {"data": {"a": 1}}):
            with pytest.raises(ValueError):
                uow.emit("member.exited", **bad)
        with pytest.raises(ValueError):
            uow.emit("Member Exited", exit_id=1)


def test_spec_10_each_subscriber_and_each_row_is_delivered_on_its_own_with_back_off(services, clock):
    company = make_company(services)
    good, broken = Collect(), Broken()
    services.subscribers = (broken, good)
    first = start(company, "leo")
    second = start(company, "sam")
    report = runner.drain(services)
    assert report.delivered == 0 and report.failed == 2  # both member.exited rows wait for `broken`
    assert {d.ids["exit_id"] for d in good.seen if d.topic == "member.exited"} == {first.id, second.id}
    rows = {r.payload["ids"]["exit_id"]: r for r in _rows(services, company.tenant_id) if r.topic == "member.exited"}
    assert all(r.state == "failing" and r.attempts == 1 and r.delivered_to == ["webhooks", "collect"] for r in rows.values())
    assert "ConnectionError" in rows[first.id].last_error
    # Not due again before its back-off; the healthy subscriber is not called a second time.
    assert runner.drain(services).failed == 0 and broken.calls == 2
    clock.advance(seconds=runner.retry_delay(0).total_seconds())
    assert runner.drain(services).failed == 2 and broken.calls == 4
    assert len([d for d in good.seen if d.topic == "member.exited"]) == 2
    # Failing rows are listed, through the action every entry point uses.
    from offboard.queries.outbox import list_outbox
    from offboard.actions.context import tenant_read

    with tenant_read(services, company.slug, "boss") as (conn, tenant, actor):
        failing = list_outbox(conn, tenant.id, actor, state="failing")
    assert failing.total == 2 and {i.ids["exit_id"] for i in failing.items} == {first.id, second.id}
    # Once the endpoint is back, both are delivered and stay delivered.
    services.subscribers = (good,)
    clock.advance(hours=2)
    assert runner.drain(services).delivered == 2
    assert {r.state for r in _rows(services, company.tenant_id)} == {"delivered"}
    assert runner.drain(services).delivered == 0


def test_spec_10_a_subscriber_that_never_recovers_is_given_up_and_blocks_nothing(services, clock):
    company = make_company(services)
    good, broken = Collect(), Broken()
    services.subscribers = (broken, good)
    start(company, "leo")
    for _ in range(runner.MAX_ATTEMPTS):
        runner.drain(services)
        clock.advance(hours=2)
    (row,) = [r for r in _rows(services, company.tenant_id) if r.topic == "member.exited"]
    assert row.state == "dead" and row.attempts == runner.MAX_ATTEMPTS
    calls = broken.calls
    start(company, "sam")  # later events still flow
    runner.drain(services)
    assert broken.calls == calls + 1 and len([d for d in good.seen if d.topic == "member.exited"]) == 2


def test_spec_10_outbox_listing_needs_the_audit_permission_and_checks_its_state(services):
    from offboard.actions.context import tenant_read
    from offboard.queries.outbox import list_outbox

    company = make_company(services)
    with tenant_read(services, company.slug, "tina") as (conn, tenant, actor):
        with pytest.raises(OffboardError) as refused:
            list_outbox(conn, tenant.id, actor)
    assert refused.value.code == "forbidden"
    with tenant_read(services, company.slug, "boss") as (conn, tenant, actor):
        with pytest.raises(OffboardError) as wrong:
            list_outbox(conn, tenant.id, actor, state="lost")
    assert wrong.value.code == "invalid_choice"


def _worker(db: str, subscriber: str, *extra: str, **env: str) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "OFFBOARD_")) or k == "OFFBOARD_KEY_FILE"}
    return subprocess.Popen(
        [sys.executable, "-c", "from offboard.cli.main import main; main()", "--db", db, "worker", *extra],
        env={**base, "PYTHONPATH": str(ROOT), "OFFBOARD_OUTBOX_SUBSCRIBERS": f"tests.support.subscribers:{subscriber}", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_spec_10_a_worker_killed_between_commit_and_delivery_loses_nothing(db_url, tmp_path):
    """The exit commits with its event; a worker claims it and is killed with SIGKILL in the
    middle of delivering; the row is still there, undelivered; once the lease is over a new
    worker delivers it, exactly once to the subscriber that had not finished."""
    services = build(db_url)  # the real clock: the worker processes read it too
    try:
        company = make_company(services)
        exit_ = start(company, "leo")
    finally:
        services.db.dispose()
    marker, record = tmp_path / "marker", tmp_path / "record"
    first = _worker(db_url, "blocking", "--interval", "1", "--lease", "2", TEST_MARKER=str(marker))
    try:
        for _ in range(300):
            if marker.exists():
                break
            assert first.poll() is None, first.stderr.read()
            time.sleep(0.05)
        assert marker.exists(), "the worker never started delivering"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    services = build(db_url)
    try:
        (row,) = [r for r in _rows(services, company.tenant_id) if r.topic == "member.exited"]
        assert row.state == "pending" and row.claimed_until is not None and row.delivered_at is None
        assert row.payload["ids"]["exit_id"] == exit_.id and marker.read_text() == row.key
        time.sleep(2.2)  # the dead worker's lease runs out
        second = _worker(db_url, "recording", "--once", TEST_RECORD=str(record))
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        assert record.read_text().splitlines() == [row.key]
        assert '"event": "outbox_event"' in err and row.key in err  # the event log subscriber, one line
        (done,) = [r for r in _rows(services, company.tenant_id) if r.topic == "member.exited"]
        assert done.state == "delivered" and sorted(done.delivered_to) == ["blocking", "event_log", "webhooks"]
    finally:
        services.db.dispose()


def test_spec_10_the_outbox_over_http_and_in_the_cli(services, tmp_path):
    """GET /api/v1/outbox and `offboard outbox list --json` show the same rows, filtered by state."""
    from fastapi.testclient import TestClient

    from offboard.actions import tokens as token_actions
    from offboard.api.app import create_app

    company = make_company(services)
    start(company, "leo")
    with tenant_transaction(services, company.slug, "boss") as uow:
        token = token_actions.create_token(uow, name="ops", service=False, scopes=["read_audit"]).token
    with TestClient(create_app(services)) as client:
        page = client.get("/api/v1/outbox", params={"state": "pending"}, headers={"Authorization": f"Bearer {token}"}).json()
        assert page["total"] >= 1 and {i["topic"] for i in page["items"]} >= {"member.exited"}
        assert all(i["state"] == "pending" for i in page["items"])
        wrong = client.get("/api/v1/outbox", params={"state": "lost"}, headers={"Authorization": f"Bearer {token}"})
        assert wrong.status_code == 422 and wrong.json()["error"] == "invalid_choice"
    db = services.db.engine.url.render_as_string(hide_password=False)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "OFFBOARD_")) or k == "OFFBOARD_KEY_FILE"}
    done = subprocess.run(
        [sys.executable, "-c", "from offboard.cli.main import main; main()", "--db", db, "--tenant", company.slug, "outbox", "list", "--state", "pending", "--json", "--by", "boss"],
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    import json

    listed = json.loads(done.stdout)
    assert listed["total"] == page["total"] and [i["key"] for i in listed["items"]] == [i["key"] for i in page["items"]]
