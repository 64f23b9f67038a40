"""Exit requests in the console (issue 13 item 3, SPEC §6 `approval_flow`): a member files one
from their own page, which replaces the self-service exit there, and follows its steps; the
approver finds it under 待我审批 with the menu counting it, approves or rejects with a comment;
HR sees every request; the member reads a rejection in their inbox. People by name, the steps in
HR's words, no internal key in a sentence.

The demo company with its enterprise set to start exits from approved requests: zhaolei reports
to chenjing (华东销售部), wangfang is HR. Built once for the module on SQLite (the pages are
decided in Python; tests/integration/test_exit_requests.py runs the storage on both databases).
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from offboard.actions import exit_requests
from offboard.actions.context import tenant_transaction
from offboard.actions.policy import set_policy
from offboard.api.app import create_app
from offboard.bootstrap import build
from offboard.demo import DEMO_SLUG, build_demo
from tests.conftest import own_database
from tests.support.clock import FakeClock
from tests.web.conftest import CSRF_INPUT, DemoCompany, _serve_demo, sign_in_page

NAV = re.compile(r'<nav class="nav"[^>]*>(.*?)</nav>', re.S)
ENTRY = re.compile(r'<a href="/exit-requests"[^>]*>[^<]*<span class="count">(\d+)<')


@pytest.fixture(scope="module", params=["sqlite"])
def flow_company(request, tmp_path_factory):
    with own_database(request, tmp_path_factory, "exit-requests") as url:
        clock = FakeClock()
        services = build(url, clock=clock)
        try:
            build_demo(services)
            with tenant_transaction(services, DEMO_SLUG) as uow:
                set_policy(uow, {"exit_automation": "approval_flow"})
            yield DemoCompany(services, clock, create_app(services), 0, url)
        finally:
            services.db.dispose()


def _day(company, days: int) -> str:
    return (company.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def _csrf(page: str) -> str:
    return CSRF_INPUT.search(page).group(1)


def test_a_member_files_from_their_own_page_and_follows_each_step_by_name(flow_company):
    zhaolei = flow_company.signed_in("zhaolei", locale="en")
    me = zhaolei.get("/me").text
    assert 'action="/me/exit-requests"' in me and 'action="/me/exit"' not in me  # the request replaces the self-service exit
    assert f'min="{_day(flow_company, 0)}"' in me
    assert re.search(r"<dt>Manager</dt><dd>陈静 <span", me)  # the manager by name, the userid only beside it
    past = zhaolei.post("/me/exit-requests", data={"csrf": _csrf(me), "leave_date": _day(flow_company, -1), "reason": "家里有事", "reason_category": "resignation"})
    assert past.status_code == 422 and "has passed" in past.text and "家里有事" in past.text  # what was typed stays
    filed = zhaolei.post("/me/exit-requests", data={"csrf": _csrf(me), "leave_date": _day(flow_company, 20), "reason": "家里有事", "reason_category": "resignation"})
    assert filed.status_code == 303 and filed.headers["location"].endswith("?done=filed"), filed.text
    page = zhaolei.get(filed.headers["location"]).text
    assert "Your exit request is filed" in page and "陈静" in page and "Waiting for a decision" in page and "Manager" in page
    assert 'action="/exit-requests/' in page and "/withdraw" in page and 'id="decide"' not in page  # nobody decides their own
    zh = flow_company.signed_in("zhaolei").get("/me").text
    assert "待审批" in zh and "直属上级" in zh and "陈静" in zh and 'action="/me/exit-requests"' not in zh  # one pending at a time
    assert not re.search(r">[^<]*\b(department_leader|approval_flow|upcoming|exit_request)\b[^<]*<", zh)


def test_the_approver_finds_it_waiting_and_hr_rejects_it_with_a_comment_the_member_reads(flow_company):
    chenjing = flow_company.signed_in("chenjing", locale="en")
    home = chenjing.get("/").text
    assert "/exit-requests" in NAV.search(home).group(1) and int(ENTRY.search(home).group(1)) == 1  # the menu counts it
    waiting = chenjing.get("/exit-requests").text
    (link,) = re.findall(r'href="(/exit-requests/\d+)#decide"', waiting)
    assert "赵磊" in waiting and "Waiting for me" in waiting and "All exit requests" not in waiting  # not HR: no tab of everyone
    detail = chenjing.get(link).text
    assert 'id="decide"' in detail and "家里有事" in detail
    assert chenjing.post(f"{link}/approve", data={"csrf": "forged", "comment": "ok"}).status_code == 403
    approved = chenjing.post(f"{link}/approve", data={"csrf": _csrf(detail), "comment": "同意，交接好客户"})
    assert approved.status_code == 303 and approved.headers["location"].endswith("done=approved")
    again = chenjing.get(link).text
    assert "同意，交接好客户" in again and 'id="decide"' not in again

    wangfang = flow_company.signed_in("wangfang", locale="en")
    everyone = wangfang.get("/exit-requests?view=all&state=pending").text
    assert "All exit requests" in everyone and link in everyone
    detail = wangfang.get(link).text
    empty = wangfang.post(f"{link}/reject", data={"csrf": _csrf(detail), "comment": " "})
    assert empty.status_code == 422 and "the member reads your comment" in empty.text
    rejected = wangfang.post(f"{link}/reject", data={"csrf": _csrf(detail), "comment": "请先完成季度交接"})
    assert rejected.status_code == 303 and rejected.headers["location"].endswith("done=rejected")
    box = flow_company.signed_in("zhaolei").get("/inbox").text
    assert "已驳回" in box and "王芳" in box and "请先完成季度交接" in box
    assert 'class="count"' not in NAV.search(flow_company.signed_in("chenjing").get("/").text).group(1)  # nothing waits any more


def test_a_member_without_a_role_sees_the_entry_where_exits_start_from_requests(flow_company):
    nav = NAV.search(flow_company.signed_in("sunli").get("/").text).group(1)
    assert 'href="/exit-requests"' in nav and 'href="/members"' not in nav
    assert flow_company.signed_in("sunli").get("/exit-requests?view=all").status_code == 200  # shows her own, nothing more


def _waiting_request(services) -> None:
    """The demo starting exits from approved requests, with zhaolei's request waiting for chenjing."""
    with tenant_transaction(services, DEMO_SLUG) as uow:
        set_policy(uow, {"exit_automation": "approval_flow"})
    with tenant_transaction(services, DEMO_SLUG, "zhaolei") as uow:
        day = (uow.now.astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=14)).isoformat()
        exit_requests.file_request(uow, "zhaolei", leave_date=day, reason="回老家发展", successor="chenjing")


@pytest.fixture(scope="module")
def live_flow_server(tmp_path_factory):
    yield from _serve_demo(tmp_path_factory.mktemp("web-flow") / "demo.db", _waiting_request)


def test_issue_9_the_exit_request_pages_pass_axe_and_fit_a_phone(browser, live_flow_server: str):
    from axe_playwright_python.sync_playwright import Axe

    axe, problems = Axe(), {}
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    sign_in_page(page, live_flow_server, "chenjing")
    for path in ("/exit-requests", "/exit-requests/1", "/me", "/inbox"):
        page.goto(live_flow_server + path)
        page.wait_for_load_state()
        found = [f"{v['id']}: {v['help']}" for v in axe.run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            found.append(f"{overflow} px wider than the screen")
        if found:
            problems[path] = found
    context.close()
    assert problems == {}, problems
