"""Issue 9's walk, in Chromium, in Chinese and in English, on a laptop and on a phone: HR plans the
exit of the demo's sales director (chenjing), choosing her successor by name; records six customer
results in one bulk action and the rest with "every row that matches"; IT sees which devices and
grants are open, attests and signs; HR closes the reimbursements and signs; the step bar then
shows the archive date; the handover sheet PDF names the successor; the dashboard's charts draw
what the API says. Nothing a person reads is an account id alone, an internal key or an error
code (the glossary test's checks). Screenshots of each step go to the test's output folder."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from offboard.i18n import LANG_COOKIE
from offboard.i18n.glossary import term
from tests.web.conftest import _serve_demo, sign_in_page
from tests.web.test_dashboard_browser import DRAWN, expected_figures
from tests.web.test_glossary import offences

HEADERS = {"zh-CN": "zh-CN,zh;q=0.9", "en": "en"}
SUCCESSOR = {"zh-CN": "继任者", "en": "Successor"}


@pytest.fixture
def walk_server(tmp_path):
    yield from _serve_demo(tmp_path / "demo.db")


class Walk:
    def __init__(self, browser: Browser, base: str, locale: str, width: int, out: Path) -> None:
        self.browser, self.base, self.locale, self.width, self.out = browser, base, locale, width, out
        self.shots = 0

    def person(self, userid: str) -> Page:
        context = self.browser.new_context(extra_http_headers={"Accept-Language": HEADERS[self.locale]}, viewport={"width": self.width, "height": 900})
        context.add_cookies([{"name": LANG_COOKIE, "value": self.locale, "url": self.base}])
        page = context.new_page()
        sign_in_page(page, self.base, userid)
        return page

    def shoot(self, page: Page, name: str) -> None:
        self.shots += 1
        path = self.out / f"{self.shots:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        assert offences(page.content(), self.locale) == [], f"{name}: {offences(page.content(), self.locale)}"
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0, f"{name}: wider than the screen"


@pytest.mark.parametrize(("locale", "width"), [("zh-CN", 1280), ("en", 390), ("zh-CN", 390), ("en", 1280)], ids=["zh-laptop", "en-phone", "zh-phone", "en-laptop"])
def test_issue_9_hr_takes_the_sales_director_from_plan_to_both_sign_offs(browser: Browser, walk_server: str, output_path: str, locale: str, width: int):
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    walk = Walk(browser, walk_server, locale, width, out)
    hr = walk.person("wangfang")

    # Plan: the successor is chosen by typing part of his name and picking him from the list.
    hr.goto(f"{walk_server}/members?q=chenjing")
    hr.locator("#member-table a", has_text="chenjing").first.click()
    hr.locator("a[href$='/exit']").first.click()
    successor = hr.get_by_role("combobox", name=SUCCESSOR[locale])
    successor.press_sequentially("赵")
    option = hr.get_by_role("option").filter(has_text="zhaolei")
    expect(option).to_be_visible()
    option.click()
    expect(hr.locator("input[type=hidden][name=successor]")).to_have_value("zhaolei")
    hr.fill("textarea[name=reason]", "个人原因离职,最后工作日已与上级确认" if locale == "zh-CN" else "Resigned; last day agreed with her manager")
    walk.shoot(hr, "plan-form")
    hr.locator("form[action$='/exit/plan'] button[type=submit]").click()
    expect(hr.locator("#confirm a", has_text="赵磊")).to_be_visible()
    walk.shoot(hr, "plan")
    hr.locator("form[action='/exits'] button[type=submit]").click()
    expect(hr).to_have_url(re.compile(r"/exits/\d+\?notice=started"))
    exit_url = hr.url.split("?")[0]
    exit_id = exit_url.rsplit("/", 1)[1]
    expect(hr.locator("#stepbar li[aria-current=step]")).to_have_attribute("data-stage", "handover")
    walk.shoot(hr, "exit-started")

    # Six customers accepted, recorded in one bulk action; the confirmation states the count.
    hr.goto(f"{exit_url}?tab=handover&kind=external_contact&state=waiting")
    rows = hr.locator("#ledger tbody tr[data-state=waiting] input[name=row]")
    assert rows.count() >= 6
    for i in range(6):
        rows.nth(i).check()
    hr.select_option("select[name=action]", "result")
    hr.select_option("select[name=result]", "done")
    walk.shoot(hr, "bulk-chosen")
    hr.locator("#bulk-form button[type=submit]").click()
    expect(hr.locator("#bulk-confirm input[name=expected]")).to_have_value("6")
    expect(hr.locator("#bulk-confirm .confirm-count")).to_contain_text("6")
    walk.shoot(hr, "bulk-confirm")
    hr.locator("#bulk-confirm button.primary").click()
    expect(hr.locator(".notice.ok")).to_contain_text("6")
    # The rest that still waits: every row that matches, in one more action.
    hr.goto(f"{exit_url}?tab=handover&state=waiting")
    hr.check("input[name=everything]")
    hr.select_option("select[name=action]", "result")
    hr.select_option("select[name=result]", "done")
    hr.locator("#bulk-form button[type=submit]").click()
    hr.locator("#bulk-confirm button.primary").click()
    expect(hr.locator(".notice.ok")).to_be_visible()
    assert hr.request.get(f"{walk_server}/api/v1/exits/{exit_id}/ledger?state=waiting").json()["total"] == 0
    expect(hr.locator("#stepbar li[data-stage=handover]")).to_have_class("done")

    # IT sees which devices and grants are still open, attests both, and signs off.
    it = walk.person("liuyang")
    it.goto(f"{exit_url}?tab=checklist")
    devices = it.locator("li[data-key=access_revoked] .subjects li")
    grants = it.locator("li[data-key=third_party_reauth] .subjects li")
    expect(devices.first).to_be_visible()
    expect(grants.first).to_be_visible()
    expect(devices.first).to_contain_text(term("device_status", "wipe_pending", locale))
    walk.shoot(it, "it-checklist")
    it.fill("li[data-key=access_revoked] input[name=evidence]", "笔记本已交还 IT,手机已远程擦除" if locale == "zh-CN" else "Laptop returned, phone wiped remotely")
    it.click("li[data-key=access_revoked] button[type=submit]")
    expect(it.locator("li[data-key=access_revoked] .evidence")).to_contain_text("刘洋")
    it.fill("li[data-key=third_party_reauth] input[name=evidence]", "CRM 厂商已确认" if locale == "zh-CN" else "CRM vendor confirmed")
    it.click("li[data-key=third_party_reauth] button[type=submit]")
    expect(it.locator("li[data-key=third_party_reauth]")).to_have_class(re.compile(r"\bdone\b"))
    hr_button = "button[name=role][value=hr]"
    it_button = "button[name=role][value=it]"
    expect(it.locator(it_button)).to_be_disabled()  # HR's reimbursements are still open
    # HR closes the reimbursements (item 4); then both sign off.
    hr.goto(f"{exit_url}?tab=checklist")
    expect(hr.locator("li[data-key=reimbursements_closed] .subjects li").first).to_be_visible()
    hr.fill("li[data-key=reimbursements_closed] input[name=evidence]", "已在 11 月工资中结清" if locale == "zh-CN" else "Settled in the November payroll")
    hr.click("li[data-key=reimbursements_closed] button[type=submit]")
    expect(hr.locator("li[data-key=reimbursements_closed]")).to_have_class(re.compile(r"\bdone\b"))
    it.goto(f"{exit_url}?tab=checklist")
    it.click(it_button)
    expect(it.locator(".signoff[data-role=it]")).to_contain_text("刘洋")
    walk.shoot(it, "it-signed")
    hr.goto(f"{exit_url}?tab=checklist")
    hr.click(hr_button)
    expect(hr.locator(".signoff[data-role=hr]")).to_contain_text("王芳")

    # The step bar: everything done but the archive, which shows when it happens.
    restore_until = hr.request.get(f"{walk_server}/api/v1/exits/{exit_id}").json()["restore_until"]
    archive = hr.locator("#stepbar li[data-stage=archive]")
    expect(archive).to_have_attribute("aria-current", "step")
    expect(archive.locator(".when")).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
    for stage in ("plan", "confirm", "handover", "checklist", "signoff"):
        expect(hr.locator(f"#stepbar li[data-stage={stage}]")).to_have_class("done")
    expect(hr.locator("#next-step")).to_contain_text(archive.locator(".when").inner_text().split()[-2])
    assert restore_until
    walk.shoot(hr, "both-signed")

    # The handover sheet PDF names the successor.
    pdf = hr.request.get(f"{walk_server}/exits/{exit_id}/export/handover-sheet.pdf")
    assert pdf.ok and pdf.headers["content-type"].startswith("application/pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "赵磊" in text and "zhaolei" in text

    # The dashboard draws the API's figures.
    hr.goto(f"{walk_server}/")
    expect(hr.locator("#chart-exits-by-reason[data-rendered=true]")).to_be_visible()
    api = hr.request.get(f"{walk_server}/api/v1/dashboard").json()
    assert api["exits_by_month"]["total"] == 1  # chenjing's, this month
    drawn = hr.evaluate(DRAWN)
    expected = expected_figures(api)
    assert {chart: figures["data"] for chart, figures in drawn.items()} == {chart: data for chart, data in expected.items() if chart in drawn}
    assert {"chart-exits-by-reason", "chart-exits-by-department", "chart-open-items"} <= set(drawn)
    walk.shoot(hr, "dashboard")
