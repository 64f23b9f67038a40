"""Issue 9 item 2: the people picker's answers to the console's script, and the plan form and
plan that name people by name, department and userid (ASGI app, SQLite and PostgreSQL).

In the demo (demo_company) HR's wangfang removed chenjing, who has left; zhaolei succeeds her."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from tests.web.conftest import CSRF_INPUT


def test_issue_9_suggestions_are_json_with_department_and_title(demo_company):
    client = demo_company.signed_in("wangfang")
    leaver = demo_company.member_id("zhulei")
    answer = client.get("/people/suggest", params={"q": "zl", "exclude": leaver})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    found = answer.json()
    zhaolei = {"id": demo_company.member_id("zhaolei"), "userid": "zhaolei", "name": "赵磊", "department": "华东销售部", "title": "销售经理"}
    assert zhaolei in found
    assert all(set(p) == {"id", "userid", "name", "department", "title"} for p in found)
    assert leaver not in [p["id"] for p in found]
    assert client.get("/people/suggest", params={"q": "chenjing"}).json() == []  # she has left
    assert client.get("/people/suggest", params={"q": ""}).json() == []
    assert client.get("/people/suggest").json() == []


def test_issue_9_bad_input_is_a_json_refusal_never_a_page(demo_company):
    client = demo_company.signed_in("wangfang")
    for params, code in (
        ({"q": "z" * 65}, "invalid_input"),  # at most 64 characters
        ({"q": "zl", "exclude": "abc"}, "invalid_input"),
        ({"q": "zl", "exclude": "0"}, "invalid_id"),
        ({"q": "zl", "exclude": "99999999999999999999"}, "invalid_input"),
        ({"q": "zl", "limit": "5"}, "unknown_parameter"),
        ({"q": "zl\u202e"}, "invalid_character"),
    ):
        answer = client.get("/people/suggest", params=params)
        assert 400 <= answer.status_code < 500, (params, answer.status_code)
        assert answer.headers["content-type"].startswith("application/json"), params
        assert answer.json()["error"] == code, (params, answer.json())
        assert answer.json()["message"]


def test_issue_9_suggestions_need_a_console_session_and_the_right_to_read_the_directory(demo_company):
    anonymous = TestClient(demo_company.app, follow_redirects=False)
    answer = anonymous.get("/people/suggest", params={"q": "zl"})
    assert answer.status_code == 401 and answer.json()["error"] == "sign_in_required"
    plain = demo_company.signed_in("zhaolei")  # a member without a role
    answer = plain.get("/people/suggest", params={"q": "zl"})
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"


def test_issue_9_the_plan_form_offers_pickers_that_work_without_script_and_names_a_prefilled_successor(demo_company):
    client = demo_company.signed_in("wangfang")
    zhaolei = demo_company.member_id("zhaolei")
    form = client.get(f"/members/{zhaolei}/exit", params={"successor": "wangfang"})
    assert form.status_code == 200
    successor = re.search(r'<div class="picker"[^>]*>.*?</div>', form.text, re.S).group(0)
    assert f'data-exclude="{zhaolei}"' in successor
    assert re.search(r'<input id="pick-successor" name="successor" value="wangfang"', successor)  # a typed userid is sent as it is
    assert 'data-chosen-name="王芳"' in successor
    assert f'<a href="/members/{demo_company.member_id("wangfang")}">王芳</a> <small class="muted">人力资源部 · wangfang</small>' in successor
    assert 'list="people"' not in form.text


def test_issue_9_the_plan_names_the_successor_and_the_acceptors_by_name(demo_company):
    client = demo_company.signed_in("wangfang", locale="en")
    zhaolei = demo_company.member_id("zhaolei")
    form = client.get(f"/members/{zhaolei}/exit")
    plan = client.post(
        f"/members/{zhaolei}/exit/plan",
        data={"csrf": CSRF_INPUT.search(form.text).group(1), "reason_category": "transfer", "reason": "调往集团总部", "successor": "wangfang"},
    )
    assert plan.status_code == 200, plan.text
    confirm = re.search(r"<dt>Successor</dt><dd>(.*?)</dd>", plan.text, re.S).group(1)
    assert html.unescape(re.sub(r"<[^>]+>", "", confirm)) == "王芳 人力资源部 · wangfang"
    assert f'href="/members/{demo_company.member_id("wangfang")}"' in confirm
    rows = re.findall(r'<tr class="kind-row" data-kind="([a-z_]+)">(.*?)</tr>', plan.text, re.S)
    to_successor = [kind for kind, row in rows if "王芳" in row]
    assert to_successor, "the kinds that go to the successor name her"


def test_issue_9_a_page_that_imports_the_picker_without_its_context_gets_it_translated_with_ids_of_its_own(demo_company):
    """exit.html takes `{% from "_people.html" import picker %}`: translation and ids come from
    the environment, for the page being rendered."""
    page = demo_company.signed_in("wangfang").get(f"/exits/{demo_company.exit_id}", params={"tab": "handover"}).text
    pickers = re.findall(r'<div class="picker".*?</div>', page, re.S)
    assert pickers, "the exit page offers a picker for handing resources on"
    assert all('placeholder="姓名、拼音首字母或账号"' in p and 'data-none="没有符合条件、可以接收的成员。"' in p for p in pickers)
    ids = re.findall(r'<input id="(pick-[^"]+)"', page)
    assert len(ids) == len(pickers) == len(set(ids))
