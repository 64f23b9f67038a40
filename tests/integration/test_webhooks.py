"""Issue 13 item 5, SPEC §9, R-POST-1: webhooks out.

A tenant subscribes endpoints to events; each committed event becomes one delivery per endpoint,
sent after commit by a real HTTP POST to a receiver on this host, signed with the endpoint's
secret (kept wrapped by the key file), retried with exponential back-off for 24 hours, given up
after, re-sendable, and never in the way of the exit that made it. A third-party app told that a
member left acknowledges re-authorization with a signed callback, which closes checklist item 8.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from offboard.actions import webhooks as actions
from offboard.actions.context import resolve_actor, tenant_transaction
from offboard.api.app import create_app
from offboard.domain.authz import Actor
from offboard.domain.errors import Forbidden, NotFound, Unauthorized, ValidationError
from offboard.jobs import outbox as runner
from offboard.jobs.webhooks import deliver_due
from offboard.queries.checklist import checklist
from offboard.queries.webhooks import list_deliveries, list_webhooks
from offboard.store import repo
from offboard.store import webhooks as store
from offboard.store.tables import app_grants, audit_events, webhook_deliveries
from offboard.webhooks.signature import HEADER, sign, verify
from tests.support.exits import give_records, make_company, start
from tests.support.http_endpoint import HttpEndpoint


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def endpoint():
    with HttpEndpoint() as receiver:
        yield receiver


def _subscribe(company, url, events=("*",), app=None, by="boss"):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return actions.create_subscription(uow, url=url, events=list(events), description="CRM" if app else "", app_name=app)


def _pass(services):
    """What a worker pass does for webhooks: the outbox fans events out, then deliveries are sent."""
    runner.drain(services)
    return deliver_due(services)


def _deliveries(services, tenant_id):
    with services.db.read() as conn:
        return conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.tenant_id == tenant_id).order_by(webhook_deliveries.c.id)).all()


def _actions(services, tenant_id):
    with services.db.read() as conn:
        return [r.action for r in conn.execute(select(audit_events.c.action).where(audit_events.c.tenant_id == tenant_id).order_by(audit_events.c.seq))]


def test_spec_9_an_exit_is_posted_signed_to_every_subscribed_endpoint_after_commit(services, endpoint):
    company = make_company(services)
    created = _subscribe(company, endpoint.url, ["member.exited", "member.restored"])
    assert created.secret.startswith("whsec_") and len(created.secret) > 40
    other = _subscribe(company, endpoint.url + "/other", ["tenant.frozen"])
    exit_ = start(company, "leo")
    assert endpoint.seen == []  # nothing is sent inside the exit's transaction
    report = _pass(services)
    assert report.delivered == 1 and report.failed == 0
    ((headers, body),) = endpoint.seen
    assert verify(created.secret, headers[HEADER.lower()], body, now=services.clock.now())
    event = json.loads(body)
    assert event["type"] == "member.exited" and event["tenant"] == company.slug
    assert event["data"]["exit_id"] == exit_.id and event["data"]["member"]["userid"] == "leo"
    assert event["id"].startswith("member.exited/") and event["delivery"]["attempt"] == 1
    assert not any(r.subscription_id == other.id for r in _deliveries(services, company.tenant_id))
    assert _pass(services).delivered == 0  # at most once per event and endpoint
    assert "webhook.created" in _actions(services, company.tenant_id)


def test_spec_9_a_failing_endpoint_is_retried_with_back_off_for_24_hours_then_given_up(services, clock, endpoint):
    company = make_company(services)
    _subscribe(company, endpoint.url, ["member.exited"])
    endpoint.status = 500
    start(company, "leo")
    assert _pass(services).failed == 1
    (row,) = _deliveries(services, company.tenant_id)
    assert row.state == "failing" and row.last_status == 500 and row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert deliver_due(services).failed == 0 and len(endpoint.seen) == 1  # not due yet
    gaps = []
    while (row := _deliveries(services, company.tenant_id)[0]).state == "failing":
        gaps.append(row.next_attempt_at - clock.now())
        clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
        deliver_due(services)
    assert gaps[:4] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(gaps) == timedelta(hours=2)
    assert row.state == "dead" and row.give_up_at >= clock.now() > row.created_at + timedelta(hours=22)
    assert len(endpoint.seen) == row.attempts
    endpoint.status = 200
    with tenant_transaction(services, company.slug, "boss") as uow:
        actions.resend(uow, row.id)
    assert deliver_due(services).delivered == 1
    bodies = {json.loads(b)["id"] for _, b in endpoint.seen}
    assert len(bodies) == 1  # every attempt and the re-send carry the same event id


def test_spec_9_an_endpoint_that_does_not_answer_never_holds_up_the_exit(services, endpoint):
    company = make_company(services)
    _subscribe(company, endpoint.url, ["*"])
    endpoint.delay = 1.0
    exit_ = start(company, "leo")
    assert exit_.state == "open"  # took effect, whatever the endpoint does later


def test_spec_9_a_worker_killed_mid_send_loses_its_lease_and_the_delivery_is_sent_again(services, clock, endpoint):
    company = make_company(services)
    _subscribe(company, endpoint.url, ["member.exited"])
    start(company, "leo")
    runner.drain(services)
    with services.db.write() as conn:
        assert len(store.claim_due(conn, clock.now(), timedelta(minutes=2), 10)) == 1  # then the worker dies
    assert deliver_due(services).delivered == 0  # the lease holds
    clock.advance(seconds=121)
    assert deliver_due(services).delivered == 1 and len(endpoint.seen) == 1


def test_r_post_1_each_revoked_grant_is_announced_and_the_apps_signed_callback_closes_item_8(services, clock, endpoint):
    company = make_company(services)
    give_records(company, "leo", grants=2)
    crm = _subscribe(company, endpoint.url, ["app.reauthorization_required"], app="CRM")
    exit_ = start(company, "leo")
    assert _pass(services).delivered == 2
    events = [json.loads(body) for _, body in endpoint.seen]
    grants = sorted(e["data"]["grant"]["id"] for e in events)
    assert all(e["data"]["grant"]["app"] == "CRM" and e["data"]["member"]["userid"] == "leo" for e in events)
    path = events[0]["data"]["grant"]["acknowledge"]["path"]
    assert path == f"/api/v1/callbacks/{company.slug}/webhooks/{crm.id}/reauthorized"
    client = TestClient(create_app(services), raise_server_exceptions=False)

    def callback(grant_id, *, secret=crm.secret, at=None, raw=None):
        body = raw if raw is not None else json.dumps({"grant_id": grant_id}).encode()
        stamp = int((at or clock.now()).timestamp())
        return client.post(path, content=body, headers={HEADER: sign(secret, stamp, body), "Content-Type": "application/json"})

    assert callback(grants[0], secret="whsec_forged").status_code == 401
    refused = callback(grants[0], at=clock.now() - timedelta(minutes=6))
    assert refused.status_code == 401 and refused.json()["error"] == "callback_refused"
    assert _actions(services, company.tenant_id).count("webhook.callback_refused") == 2
    first = callback(grants[0])
    assert first.status_code == 200 and first.json()["already_acknowledged"] is False
    assert callback(grants[0]).json()["already_acknowledged"] is True  # repeating changes nothing
    with services.db.read() as conn:
        tenant = repo.tenant_by_slug(conn, company.slug)
        assert _item_8(conn, tenant, exit_.id) is False
    assert callback(grants[1]).status_code == 200
    with services.db.read() as conn:
        assert _item_8(conn, tenant, exit_.id) is True
        rows = conn.execute(select(app_grants.c.status, app_grants.c.acknowledged_by).where(app_grants.c.tenant_id == tenant.id)).all()
    assert {r.status for r in rows} == {"acknowledged"} and {r.acknowledged_by for r in rows} == {f"webhook:{crm.id}"}
    assert callback(0, raw=b"not json").status_code == 422


def _item_8(conn, tenant, exit_id) -> bool:
    view = checklist(conn, tenant, resolve_actor(conn, tenant.id, "boss", now=tenant.created_at), exit_id, tenant.created_at)
    (item,) = [i for i in view.items if i.key == "third_party_reauth"]
    return item.done


def test_spec_9_bad_subscriptions_are_refused_with_clear_errors_and_only_a_super_admin_manages_them(services):
    company = make_company(services)
    for url in ("ftp://crm.example.com/hooks", "http://crm.example.com/hooks", "not a url"):
        with pytest.raises(ValidationError):
            _subscribe(company, url)
    with pytest.raises(ValidationError) as unknown:
        _subscribe(company, "https://crm.example.com/hooks", ["member.exploded"])
    assert unknown.value.code == "webhook_event_unknown"
    with pytest.raises(ValidationError):
        _subscribe(company, "https://crm.example.com/hooks", [])
    with pytest.raises(Forbidden):
        _subscribe(company, "https://crm.example.com/hooks", by="hanna")
    created = _subscribe(company, "https://crm.example.com/hooks", ["member.exited", "*"])
    assert created.events == ["*"]
    with tenant_transaction(services, company.slug, "boss") as uow:
        assert actions.update_subscription(uow, created.id, status="paused") == {"status": "paused"}
        assert actions.update_subscription(uow, created.id, status="paused") == {}
        with pytest.raises(ValidationError):
            actions.update_subscription(uow, created.id, status="removed")  # removing is its own act, audited as such
        actions.remove_subscription(uow, created.id)
        with pytest.raises(NotFound):
            actions.update_subscription(uow, created.id, description="x")
        assert list_webhooks(uow.conn, uow.tenant_id, uow.actor) == []
        assert list_deliveries(uow.conn, uow.tenant_id, uow.actor).total == 0


def test_spec_9_a_paused_endpoint_is_told_nothing_and_a_test_event_reaches_an_active_one(services, endpoint):
    company = make_company(services)
    created = _subscribe(company, endpoint.url)
    with tenant_transaction(services, company.slug, "boss") as uow:
        actions.update_subscription(uow, created.id, status="paused")
    start(company, "leo")
    _pass(services)
    assert endpoint.seen == []
    with tenant_transaction(services, company.slug, "boss") as uow:
        actions.update_subscription(uow, created.id, status="active")
        actions.send_test(uow, created.id)
    assert _pass(services).delivered == 1
    assert json.loads(endpoint.seen[0][1])["type"] == "webhook.test"


def test_spec_9_a_webhook_actor_holds_no_permission(services):
    company = make_company(services)
    with pytest.raises((Forbidden, Unauthorized)):
        with tenant_transaction(services, company.slug, actor=Actor(kind="webhook", webhook_id=1)) as uow:
            actions.create_subscription(uow, url="https://crm.example.com/hooks", events=["*"])


def test_r_law_3_webhook_secrets_are_kept_wrapped_rotated_with_the_keys_and_need_the_key_file(services, endpoint, tmp_path, monkeypatch):
    from offboard.actions.keys import rotate
    from offboard.bootstrap import build
    from offboard.interfaces import KeyVaultError
    from offboard.store.tables import webhook_subscriptions

    company = make_company(services)
    created = _subscribe(company, endpoint.url, ["member.exited"])
    with services.db.read() as conn:
        before = conn.execute(select(webhook_subscriptions.c.kek_id, webhook_subscriptions.c.secret_wrapped)).one()
    assert created.secret.encode() not in before.secret_wrapped and created.secret.removeprefix("whsec_").encode() not in before.secret_wrapped
    (rotated,) = rotate(services)
    assert rotated.webhook_secrets == 1
    with services.db.read() as conn:
        after = conn.execute(select(webhook_subscriptions.c.kek_id, webhook_subscriptions.c.secret_wrapped)).one()
    assert after.kek_id != before.kek_id and after.secret_wrapped != before.secret_wrapped
    start(company, "leo")
    assert _pass(services).delivered == 1  # still signed with the same secret
    ((headers, body),) = endpoint.seen
    assert verify(created.secret, headers[HEADER.lower()], body, now=services.clock.now())
    url = services.db.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("OFFBOARD_KEY_FILE", str(tmp_path / "other.key"))
    with pytest.raises(KeyVaultError):
        build(url)  # another key file would leave the secret unopenable: the services refuse to start


def test_r_exit_8_a_scheduled_exit_and_its_new_date_are_told_to_the_endpoints(services, clock, endpoint):
    from offboard.actions import exits as exit_actions

    company = make_company(services)
    _subscribe(company, endpoint.url, ["exit.scheduled", "exit.rescheduled"])
    scheduled = start(company, "leo", effective_at=clock.now() + timedelta(days=7))
    with tenant_transaction(services, company.slug, "hanna") as uow:
        exit_actions.reschedule_exit(uow, scheduled.id, clock.now() + timedelta(days=9))
    assert _pass(services).delivered == 2
    told = [json.loads(body) for _, body in endpoint.seen]
    assert sorted(e["type"] for e in told) == ["exit.rescheduled", "exit.scheduled"]
    assert {e["data"]["exit_id"] for e in told} == {scheduled.id}
