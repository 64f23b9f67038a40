"""SPEC §9 in the console, without a browser: a super admin adds a webhook endpoint and is shown
its signing secret once, on the answer to the form; pauses, resumes, tests and removes it, each
change in the audit trail; reads each delivery with the endpoint's answer and sends one again. A
refused form keeps what was typed and says why in the reader's words; HR is shown no webhooks."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from offboard.actions import webhooks as actions
from offboard.actions.context import tenant_transaction
from offboard.api.app import create_app
from offboard.bootstrap import build
from offboard.demo import DEMO_SLUG, build_demo
from offboard.demo.personas import totp_secret_for
from offboard.domain.errors import error
from offboard.interfaces import DeliveryError
from offboard.jobs.webhooks import deliver_due
from offboard.store import repo
from offboard.store.tables import webhook_deliveries, webhook_subscriptions
from offboard.web.exit_views import local_time
from tests.conftest import own_database
from tests.support.clock import FakeClock
from tests.support.db import actions_since, audit_seq
from tests.support.webhooks import RecordingWebhookSender
from tests.web.conftest import CSRF_INPUT, DemoCompany
from tests.web.test_glossary import offences, visible_text

SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{20,}")
LIST = "/settings/webhooks"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def company(request, tmp_path_factory):
    with own_database(request, tmp_path_factory, "webhooks-console") as url:
        clock = FakeClock()
        services = build(url, clock=clock)
        try:
            build_demo(services)
            yield DemoCompany(services, clock, create_app(services), 0, url)
        finally:
            services.db.dispose()


_made = iter(range(1, 10**6))


def _url() -> str:
    return f"https://hooks{next(_made)}.example.com/offboard"


def _subscribe(company: DemoCompany, **fields) -> int:
    with tenant_transaction(company.services, DEMO_SLUG, by="zhangwei") as uow:
        return actions.create_subscription(uow, url=fields.pop("url", None) or _url(), events=fields.pop("events", ["*"]), **fields).id


def _text(page) -> str:
    return " ".join(visible_text(page.text))


def _csrf(page) -> str:
    return CSRF_INPUT.search(page.text).group(1)


def _row(html_text: str, element_id: str) -> str:
    found = re.search(rf'<tr id="{element_id}">(.*?)</tr>', html_text, re.S)
    assert found, f"no row {element_id}"
    return found.group(1)


def _delivery(company: DemoCompany, delivery_id: int):
    with company.services.db.read() as conn:
        return conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)).one()


def _status(company: DemoCompany, webhook_id: int) -> str:
    with company.services.db.read() as conn:
        return conn.execute(select(webhook_subscriptions.c.status).where(webhook_subscriptions.c.id == webhook_id)).scalar_one()


def test_spec_9_an_added_endpoint_shows_its_secret_once_and_is_then_listed_without_it(company):
    boss = company.signed_in("zhangwei")
    page = boss.get(LIST)
    assert page.status_code == 200 and 'action="/settings/webhooks"' in page.text and not SECRET.search(page.text)
    before = audit_seq(company.services, DEMO_SLUG)
    url = _url()
    added = boss.post(LIST, data={"csrf": _csrf(page), "url": url, "description": "CRM 同步", "app": "", "events": ["member.exited", "member.restored"]})
    # The answer is the page itself (never a redirect whose address or cookie would keep the secret).
    assert added.status_code == 200 and "location" not in added.headers and added.headers["cache-control"] == "no-store"
    (secret,) = set(SECRET.findall(added.text))
    assert 'id="secret"' in added.text and "Offboard-Signature" in added.text and 'href="/docs"' in added.text
    assert all(secret not in value for value in added.headers.get_list("set-cookie"))
    assert not offences(added.text, "zh-CN")
    # The shown secret is the one the endpoint's requests are signed with.
    with company.services.db.read() as conn:
        row = conn.execute(select(webhook_subscriptions).where(webhook_subscriptions.c.url == url)).one()
    assert actions.secret_of(company.services.vault, row, row.id) == secret
    assert actions_since(company.services, DEMO_SLUG, before) == ["webhook.created"]

    listed = boss.get(LIST)
    assert secret not in listed.text and 'id="secret"' not in listed.text
    cells = " ".join(visible_text(_row(listed.text, f"webhook-{row.id}")))
    assert "CRM 同步" in cells and url in cells and "成员离职生效" in cells and "离职成员已恢复" in cells and "启用" in cells
    assert f'href="/settings/webhooks/{row.id}"' in listed.text
    assert not offences(listed.text, "zh-CN")


def test_spec_9_a_refused_endpoint_keeps_what_was_typed_and_says_why_in_words(company):
    boss = company.signed_in("zhangwei")
    csrf = _csrf(boss.get(LIST))
    before = audit_seq(company.services, DEMO_SLUG)
    typed = {"csrf": csrf, "url": "ftp://crm.example.com/hook", "description": "财务系统", "app": "星河 CRM", "events": ["member.exited", "exit.finalized"]}
    refused = boss.post(LIST, data=typed)
    assert refused.status_code == 422
    alert = re.search(r'<div class="alert" role="alert" id="add-error">(.*?)</div>', refused.text, re.S).group(1)
    assert "ftp://crm.example.com/hook 不是有效的 Webhook 地址" in alert and re.search(r'<small class="ref">[^<]*webhook_url_invalid</small>', alert)
    assert 'value="ftp://crm.example.com/hook"' in refused.text and 'value="财务系统"' in refused.text and 'value="星河 CRM"' in refused.text
    checked = set(re.findall(r'name="events" value="([^"]+)" checked', refused.text))
    assert checked == {"member.exited", "exit.finalized"}
    assert not SECRET.search(refused.text) and not offences(refused.text, "zh-CN")

    # In English too; no event chosen; an event the form does not offer is named among the events by their words.
    english = company.signed_in("zhangwei", locale="en")
    csrf = _csrf(english.get(LIST))
    plain = english.post(LIST, data={"csrf": csrf, "url": "http://crm.example.com/hook", "events": ["*"]})
    assert plain.status_code == 422 and "is not https" in _text(plain) and 'value="http://crm.example.com/hook"' in plain.text
    assert re.search(r'name="events" value="\*" checked', plain.text)
    none = english.post(LIST, data={"csrf": csrf, "url": "https://crm.example.com/hook", "description": "CRM"})
    assert none.status_code == 422 and "Choose at least one event" in _text(none) and 'value="CRM"' in none.text
    unknown = english.post(LIST, data={"csrf": csrf, "url": "https://crm.example.com/hook", "events": ["member.deleted"]})
    message = re.search(r'id="add-error">(.*?)<small', unknown.text, re.S).group(1)
    assert unknown.status_code == 422 and "member.deleted" in message and "a member&#39;s exit took effect" in message and "member.exited" not in message
    too_long = english.post(LIST, data={"csrf": csrf, "url": "https://crm.example.com/hook", "description": "x" * 300, "events": ["*"]})
    assert too_long.status_code == 422 and "Description must be 1-255 characters" in _text(too_long) and "description must" not in _text(too_long)
    for page in (plain, none, unknown, too_long):
        assert not offences(page.text, "en")
    assert not [a for a in actions_since(company.services, DEMO_SLUG, before) if a.startswith("webhook.")]  # nothing was added (signing in is audited)


def test_spec_9_pause_resume_test_and_remove_from_the_list_each_in_the_audit_trail(company):
    webhook = _subscribe(company, description="ERP 对接")
    boss = company.signed_in("zhangwei")
    page = boss.get(LIST)
    row = _row(page.text, f"webhook-{webhook}")
    assert f'action="/settings/webhooks/{webhook}/test"' in row and f'action="/settings/webhooks/{webhook}/pause"' in row and f'action="/settings/webhooks/{webhook}/remove"' in row
    csrf = _csrf(page)
    before = audit_seq(company.services, DEMO_SLUG)

    paused = boss.post(f"{LIST}/{webhook}/pause", data={"csrf": csrf})
    assert paused.status_code == 303 and paused.headers["location"] == f"{LIST}?done=paused&webhook={webhook}"
    shown = boss.get(paused.headers["location"])
    assert _status(company, webhook) == "paused" and "已暂停" in " ".join(visible_text(_row(shown.text, f"webhook-{webhook}")))
    assert 'role="status">✓ ERP 对接' in shown.text and not offences(shown.text, "zh-CN")
    row = _row(shown.text, f"webhook-{webhook}")
    assert f"/{webhook}/resume" in row and f"/{webhook}/test" not in row  # a paused endpoint is offered no test
    # A test to a paused endpoint (a form left open in another tab) is refused in the page.
    refused = boss.post(f"{LIST}/{webhook}/test", data={"csrf": csrf})
    assert refused.status_code == 409 and re.search(r'class="ref">[^<]*webhook_paused<', refused.text) and not offences(refused.text, "zh-CN")

    resumed = boss.post(f"{LIST}/{webhook}/resume", data={"csrf": csrf})
    assert resumed.status_code == 303 and _status(company, webhook) == "active"
    tested = boss.post(f"{LIST}/{webhook}/test", data={"csrf": csrf})
    assert tested.status_code == 303 and tested.headers["location"] == f"{LIST}/{webhook}?done=tested"
    deliveries = boss.get(tested.headers["location"])
    assert deliveries.status_code == 200 and "✓" in deliveries.text
    (test_row,) = re.findall(r'<tr id="delivery-\d+">.*?</tr>', deliveries.text, re.S)
    assert "测试事件" in test_row and "待发送" in test_row and "/resend" not in test_row  # waiting already: nothing to send again

    removed = boss.post(f"{LIST}/{webhook}/remove", data={"csrf": csrf})
    assert removed.status_code == 303 and _status(company, webhook) == "removed"
    after = boss.get(removed.headers["location"])
    assert f'id="webhook-{webhook}"' not in after.text and 'role="status">✓ ERP 对接' in after.text
    assert actions_since(company.services, DEMO_SLUG, before) == ["webhook.updated", "webhook.updated", "webhook.test_sent", "webhook.removed"]
    # Its deliveries stay to read, with nothing left to press.
    kept = boss.get(f"{LIST}/{webhook}")
    assert kept.status_code == 200 and "已删除" in _text(kept) and "/resend" not in kept.text and f"/{webhook}/test" not in kept.text
    # A removed endpoint cannot be paused: refused in the page, not a server error.
    again = boss.post(f"{LIST}/{webhook}/pause", data={"csrf": csrf})
    assert again.status_code == 404 and "webhook_not_found" in again.text


def test_spec_9_each_delivery_is_listed_with_the_answer_and_a_given_up_one_is_sent_again(company, monkeypatch):
    webhook = _subscribe(company, description="工单系统")
    with tenant_transaction(company.services, DEMO_SLUG, by="zhangwei") as uow:
        delivery = actions.send_test(uow, webhook)
    monkeypatch.setattr(company.services, "webhooks", RecordingWebhookSender(company.clock, status=500))
    assert deliver_due(company.services).failed >= 1
    boss = company.signed_in("zhangwei")
    page = boss.get(f"{LIST}/{webhook}")
    row = " ".join(visible_text(_row(page.text, f"delivery-{delivery}")))
    assert "测试事件" in row and "发送失败，将重试" in row and "HTTP 500" in row
    with company.services.db.read() as conn:
        tz = repo.tenant_by_slug(conn, DEMO_SLUG).timezone
    assert local_time(_delivery(company, delivery).next_attempt_at, tz) in row  # when it is tried next, in the enterprise's time
    assert not offences(page.text, "zh-CN")

    company.clock.advance(hours=25)  # past the 24 hours of retries
    deliver_due(company.services)
    assert _delivery(company, delivery).state == "dead"
    boss = company.signed_in("zhangwei")
    page = boss.get(f"{LIST}/{webhook}?state=dead")
    row = _row(page.text, f"delivery-{delivery}")
    assert "已放弃" in row and f'action="/settings/webhooks/{webhook}/deliveries/{delivery}/resend"' in row
    assert 'id="delivery-' not in boss.get(f"{LIST}/{webhook}?state=delivered").text
    before = audit_seq(company.services, DEMO_SLUG)
    resent = boss.post(f"{LIST}/{webhook}/deliveries/{delivery}/resend", data={"csrf": _csrf(page), "state": "dead"})
    assert resent.status_code == 303 and resent.headers["location"] == f"{LIST}/{webhook}?state=dead&done=resent&delivery={delivery}"
    again = _delivery(company, delivery)
    assert (again.state, again.attempts) == ("pending", 0) and again.give_up_at > company.clock.now() + timedelta(hours=23)
    assert actions_since(company.services, DEMO_SLUG, before) == ["webhook.resent"]
    shown = boss.get(resent.headers["location"])
    assert shown.status_code == 200 and f'id="delivery-{delivery}"' not in shown.text  # no longer given up: not in this filter
    assert "待发送" in _row(boss.get(f"{LIST}/{webhook}").text, f"delivery-{delivery}")
    # Sent again while it waits: refused in the page, the code as a reference only.
    waiting = boss.post(f"{LIST}/{webhook}/deliveries/{delivery}/resend", data={"csrf": _csrf(page)})
    assert waiting.status_code == 409 and "delivery_waiting" in waiting.text and not offences(waiting.text, "zh-CN")

    # A state the filter does not know is an error in words, not an empty list.
    unknown = boss.get(f"{LIST}/{webhook}?state=lost")
    assert unknown.status_code == 422 and "已送达" in unknown.text and not offences(unknown.text, "zh-CN")


class _Unreachable:
    """A sender whose endpoints never answer, as HttpWebhookSender reports a refused connection."""

    def send(self, url, secret, payload):
        raise error(DeliveryError, "webhook_unreachable", "Webhook endpoint {url} did not answer ({reason}); the delivery is retried.", url=url, reason="Connection refused")


def test_spec_9_an_endpoint_that_did_not_answer_says_so_in_words_and_a_paused_one_waits(company, monkeypatch):
    webhook = _subscribe(company, description="BI 报表")
    with tenant_transaction(company.services, DEMO_SLUG, by="zhangwei") as uow:
        delivery = actions.send_test(uow, webhook)
    monkeypatch.setattr(company.services, "webhooks", _Unreachable())
    deliver_due(company.services)
    boss = company.signed_in("zhangwei")
    row = " ".join(visible_text(_row(boss.get(f"{LIST}/{webhook}").text, f"delivery-{delivery}")))
    assert "无应答 Connection refused" in row and "did not answer" not in row
    with tenant_transaction(company.services, DEMO_SLUG, by="zhangwei") as uow:
        actions.update_subscription(uow, webhook, status="paused")
    english = company.signed_in("zhangwei", locale="en")
    paused = english.get(f"{LIST}/{webhook}")
    row = _row(paused.text, f"delivery-{delivery}")
    assert "When the endpoint is resumed" in row and "/resend" not in row and f"/{webhook}/resume" in paused.text
    assert not offences(paused.text, "en")


def test_spec_9_deliveries_are_paged_fifty_at_a_time_newest_first(company):
    webhook = _subscribe(company)
    with tenant_transaction(company.services, DEMO_SLUG, by="zhangwei") as uow:
        made = [actions.send_test(uow, webhook) for _ in range(53)]
    boss = company.signed_in("zhangwei", locale="en")
    first = boss.get(f"{LIST}/{webhook}")
    ids = [int(i) for i in re.findall(r'<tr id="delivery-(\d+)">', first.text)]
    assert ids == sorted(made, reverse=True)[:50]
    assert f'href="{LIST}/{webhook}?page=2"' in first.text and 'rel="prev"' not in first.text and "1-50 of 53" in _text(first)
    second = boss.get(f"{LIST}/{webhook}?page=2")
    assert [int(i) for i in re.findall(r'<tr id="delivery-(\d+)">', second.text)] == sorted(made, reverse=True)[50:]
    assert html.escape(f"{LIST}/{webhook}") + '" rel="prev"' in second.text and 'rel="next"' not in second.text
    beyond = boss.get(f"{LIST}/{webhook}?page=9")
    assert beyond.status_code == 200 and "No delivery on this page." in _text(beyond)


def test_spec_9_a_stale_session_gives_its_code_and_then_sees_the_secret(company):
    boss = company.signed_in("zhangwei", locale="en")
    csrf = _csrf(boss.get(LIST))
    company.clock.advance(minutes=6)
    fields = {"csrf": csrf, "url": _url(), "description": "BI", "events": ["*"]}
    asked = boss.post(LIST, data=fields)
    assert asked.status_code == 200 and 'name="reverify_code"' in asked.text and not SECRET.search(asked.text)
    assert "Enter your 6-digit code to change the webhook endpoints." in asked.text
    company.clock.advance(seconds=31)
    done = boss.post(LIST, data={**fields, "reverify_code": pyotp.TOTP(totp_secret_for("zhangwei")).at(company.clock.now())})
    assert done.status_code == 200 and SECRET.search(done.text) and 'id="secret"' in done.text


def test_spec_3_2_hr_has_no_webhooks_menu_and_is_refused_the_pages_and_forms(company):
    webhook = _subscribe(company)
    hr = company.signed_in("wangfang")
    home = hr.get("/")
    assert 'href="/settings/webhooks"' not in home.text
    assert 'href="/settings/webhooks"' in company.signed_in("zhangwei").get("/").text
    assert hr.get(LIST).status_code == 403 and hr.get(f"{LIST}/{webhook}").status_code == 403
    before = audit_seq(company.services, DEMO_SLUG)
    csrf = _csrf(home)
    for url, fields in ((LIST, {"url": _url(), "events": ["*"]}), (f"{LIST}/{webhook}/pause", {}), (f"{LIST}/{webhook}/test", {}), (f"{LIST}/{webhook}/remove", {})):
        refused = hr.post(url, data={"csrf": csrf, **fields})
        assert refused.status_code == 403, url
        assert not SECRET.search(refused.text)
    assert audit_seq(company.services, DEMO_SLUG) == before and _status(company, webhook) == "active"
