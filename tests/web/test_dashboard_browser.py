"""The dashboard and the exits list in a real browser (issue 9 item 5): HR opens the overview of
the demo company with a few exits, the charts render with the figures the API gives, a bar leads
to the list behind it, and the exits list is searched and filtered. Screenshots at desktop width
and at 390 px go to the test's output folder."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import and_, exists, select

from offboard.actions import exits as exit_actions
from offboard.actions.context import Services, tenant_transaction
from offboard.demo import DEMO_SLUG
from offboard.demo.personas import PERSONAS, password_for
from offboard.store import repo
from offboard.store.tables import member_departments, members, roles
from tests.web.conftest import _serve_demo

REASONS = ("dismissal", "contract_end", "other")


def _leavers(services: Services, n: int) -> list[str]:
    """Plain members (no role, nobody reporting to them, not a persona) of n different primary
    departments, so their exits need no acceptor beyond the defaults."""
    personas = {p.userid for p in PERSONAS}
    with services.db.read() as conn:
        tid = repo.tenant_by_slug(conn, DEMO_SLUG).id
        reports = members.alias("reports")
        rows = conn.execute(
            select(members.c.userid, member_departments.c.department_id)
            .join(member_departments, and_(member_departments.c.tenant_id == members.c.tenant_id, member_departments.c.member_id == members.c.id, member_departments.c.is_primary))
            .where(
                members.c.tenant_id == tid,
                members.c.status == "active",
                ~exists().where(reports.c.tenant_id == tid, reports.c.manager_id == members.c.id),
                ~exists().where(roles.c.tenant_id == tid, roles.c.member_id == members.c.id),
            )
            .order_by(members.c.id)
        ).all()
    chosen: dict[int, str] = {}
    for userid, department in rows:
        if userid not in personas and department not in chosen:
            chosen[department] = userid
    return list(chosen.values())[:n]


def _exits(services: Services) -> None:
    """HR removes chenjing (customers waiting for zhaolei) and three members of other departments
    for other reasons, and schedules one more exit a week ahead."""
    leavers = _leavers(services, len(REASONS) + 1)
    with tenant_transaction(services, DEMO_SLUG, by="wangfang") as uow:
        exit_actions.start_exit(uow, "chenjing", type="removal", reason_category="resignation", reason="个人原因", successor="zhaolei")
        for userid, reason in zip(leavers, REASONS):
            exit_actions.start_exit(uow, userid, type="removal", reason_category=reason, reason="合同安排")
        exit_actions.start_exit(uow, leavers[-1], type="removal", reason_category="transfer", reason="调往子公司", effective_at=services.clock.now() + timedelta(days=7))


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory):
    yield from _serve_demo(tmp_path_factory.mktemp("web-dashboard") / "demo.db", prepare=_exits)


def sign_in(page: Page, base: str, userid: str) -> None:
    page.set_extra_http_headers({"Accept-Language": "zh-CN,zh;q=0.9"})
    page.goto(f"{base}/login")
    page.fill("input[name=userid]", userid)
    page.fill("input[name=password]", password_for(userid))
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login/totp"))
    page.fill("input[name=code]", page.locator(f"code[data-userid='{userid}']").inner_text().strip())
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))


def shoot(page: Page, output_path: str, name: str) -> None:
    shot = Path(output_path) / name
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


DRAWN = """() => Object.fromEntries(Array.from(document.querySelectorAll('canvas[data-rendered]')).map(c => {
  const chart = Chart.getChart(c);
  return [c.id, {labels: chart.data.labels, series: chart.data.datasets.map(d => d.label), data: chart.data.datasets.map(d => d.data), drawn: chart.getDatasetMeta(0).data.length}];
}))"""
TABLES = """() => Object.fromEntries(Array.from(document.querySelectorAll('table.figures')).map(t => [
  'chart-' + t.dataset.chart,
  Array.from(t.querySelectorAll('tbody tr')).map(r => Array.from(r.querySelectorAll('td:not(.total)')).map(td => Number(td.dataset.n)))
]))"""


def expected_figures(api: dict) -> dict[str, list[list[int]]]:
    """What each chart must draw, from the API's answer: the series with exits, in its order."""
    by_month = api["exits_by_month"]
    transfers = api["customer_transfers"]["counts"]
    kinds = list(dict.fromkeys(c["kind"] for c in transfers))
    return {
        "chart-exits-by-reason": [s["counts"] for s in by_month["by_reason"] if s["total"]],
        "chart-exits-by-department": [s["counts"] for s in by_month["by_department"]],
        "chart-open-items": [[o["items"] for o in api["open_items"]]],
        "chart-customer-transfers": [[c["count"] for c in transfers if c["kind"] == kind] for kind in kinds],
    }


# A one-time code is accepted once per person: each test signs in someone else of HR's, IT's
# or the super admins' (all of whom read the directory).
@pytest.mark.parametrize(("width", "userid"), [(1280, "wangfang"), (390, "lina")])
def test_issue_9_the_dashboards_charts_render_with_the_apis_figures(page: Page, dashboard_server: str, output_path: str, width: int, userid: str):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, dashboard_server, userid)
    page.goto(f"{dashboard_server}/")
    expect(page.locator("canvas[data-rendered=true]")).to_have_count(4)
    api = page.request.get(f"{dashboard_server}/api/v1/dashboard").json()
    assert api["exits_by_month"]["total"] == 4  # the four exits that took effect this month
    waiting = {(t["member"]["userid"], t["kind"]): t["count"] for t in api["customer_transfers"]["exits"] if t["state"] == "waiting"}
    assert waiting[("chenjing", "external_contact")] == 72  # her customers wait 24 h for zhaolei
    assert api["customer_transfers"]["counts"][0] == {"kind": "external_contact", "state": "waiting", "count": sum(n for (_, kind), n in waiting.items() if kind == "external_contact")}

    drawn = page.evaluate(DRAWN)
    expected = expected_figures(api)
    assert {chart: found["data"] for chart, found in drawn.items()} == expected
    months = [m["key"] for m in api["exits_by_month"]["months"]]
    assert drawn["chart-exits-by-reason"]["labels"] == drawn["chart-exits-by-department"]["labels"] == months
    assert drawn["chart-exits-by-reason"]["drawn"] == 12  # a bar element per month
    assert page.evaluate(TABLES) == expected  # the text alternative holds the same numbers
    for chart in ("exits-by-reason", "exits-by-department", "customer-transfers"):
        assert page.locator(f"#{chart} th[scope=row]").all_inner_texts() == drawn[f"chart-{chart}"]["series"]

    restore = page.locator("#restore-ending li")
    expect(restore).to_have_count(len(api["restore_ending"]))
    assert len(api["restore_ending"]) == 4
    expect(page.locator("#restore-ending")).to_contain_text("陈静")
    scheduled = api["scheduled"]
    assert len(scheduled) == 1
    expect(page.locator("#scheduled-exits a", has_text=scheduled[0]["member"]["name"])).to_have_attribute("href", f"/exits/{scheduled[0]['exit_id']}")
    shoot(page, output_path, f"dashboard-{width}.png")


def test_issue_9_a_bar_opens_the_list_behind_it(page: Page, dashboard_server: str):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, dashboard_server, "zhangwei")
    page.goto(f"{dashboard_server}/")
    canvas = page.locator("#chart-exits-by-reason")
    expect(canvas).to_have_attribute("data-rendered", "true")
    bar = page.evaluate(
        """() => { const chart = Chart.getChart(document.getElementById('chart-exits-by-reason'));
        const last = chart.data.labels.length - 1; const el = chart.getDatasetMeta(0).data[last];
        return {x: el.x, y: (el.y + el.base) / 2, n: chart.data.datasets[0].data[last]}; }"""
    )
    assert bar["n"] == 1
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + bar["x"], box["y"] + bar["y"])
    expect(page).to_have_url(re.compile(r"/exits\?reason=resignation&state=open&state=finalized&from=\d{4}-\d{2}-01&to=\d{4}-\d{2}-\d{2}$"))
    expect(page.locator("#exit-table tbody tr")).to_have_count(bar["n"])
    expect(page.locator("#exit-table tbody tr").first).to_contain_text("陈静")
    expect(page.locator("#chosen-states")).to_contain_text("进行中 / 已完结")

    page.goto(f"{dashboard_server}/")
    page.locator("#open-items table a").first.click()
    expect(page).to_have_url(re.compile(r"/checklist#board-hr$"))


def test_issue_9_the_exits_list_is_searched_and_filtered(page: Page, dashboard_server: str, output_path: str):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, dashboard_server, "liuyang")
    page.goto(f"{dashboard_server}/exits")
    rows = page.locator("#exit-table tbody tr")
    expect(rows).to_have_count(5)
    page.fill("input[name=q]", "chenjing")
    page.click("#exit-filters button:has-text('筛选')")
    expect(page).to_have_url(re.compile(r"q=chenjing"))
    expect(rows).to_have_count(1)
    listed = page.request.get(f"{dashboard_server}/api/v1/exits", params={"q": "chenjing"}).json()["items"][0]
    expect(rows.first.locator(".checklist-progress")).to_have_text(f"{listed['checklist_done']}/{listed['checklist_total']}")
    expect(rows.first.locator(".signoff")).to_contain_text("HR")
    page.fill("input[name=q]", "")
    page.select_option("select[name=state]", "scheduled")
    page.click("#exit-filters button:has-text('筛选')")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("待生效")
    expect(rows.first.locator(".checklist-progress")).to_have_text(re.compile(r"^\d+/12$"))
    shoot(page, output_path, "exits-filtered.png")

    page.goto(f"{dashboard_server}/exits?from=2026-13-01")
    expect(page.locator(".alert[data-code=invalid_date]")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{dashboard_server}/exits")
    expect(rows).to_have_count(5)
    shoot(page, output_path, "exits-390.png")
