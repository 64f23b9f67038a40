"""Issue 9 item 4 in Chromium: HR confirms an exit plan after the last code is over 5 minutes
old, is asked for the code on a page that keeps the plan, types a wrong code, then the right
one, and lands on the started exit. The demo runs on a clock the test moves; screenshots go to
the test's output folder."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from offboard.demo.personas import totp_secret_for
from tests.support.clock import FakeClock
from tests.web.conftest import _serve_demo, sign_in_page
from tests.web.test_accessibility import _serious

REASON = ("合同到期不再续签,工作已与部门负责人交接完毕;" * 70)[:1500]  # 1,500 characters: more than a link back could carry


@pytest.fixture(scope="module")
def demo_on_a_clock(tmp_path_factory):
    clock = FakeClock()
    served = _serve_demo(tmp_path_factory.mktemp("web-reverify") / "demo.db", clock=clock)
    yield next(served), clock
    next(served, None)


def test_issue_9_hr_confirms_a_plan_after_five_minutes_gives_the_code_and_the_exit_starts(browser: Browser, demo_on_a_clock, output_path: str):
    base, clock = demo_on_a_clock
    assert len(REASON) == 1500
    page = browser.new_context(extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}).new_page()
    sign_in_page(page, base, "wangfang")

    page.goto(f"{base}/members?q=chenjing")
    page.locator("#member-table a", has_text="chenjing").first.click()
    page.click("text=计划离职")
    page.get_by_role("combobox", name="继任者").fill("zhaolei")  # the people picker, a userid typed
    page.fill("textarea[name=reason]", REASON)
    page.click("summary:has-text('按类型指定接收人')")
    acceptors = page.locator("input[role=combobox][id^=pick-acceptor-]")
    assert acceptors.count() >= 2
    acceptors.nth(0).fill("liuyang")
    acceptors.nth(1).fill("lina")
    page.click("button:has-text('查看计划')")
    expect(page.locator("#kinds")).to_contain_text("liuyang")

    clock.advance(minutes=6)  # HR read the plan for a while: the last code is now too old
    page.click("button:has-text('确认并开始离职')")
    expect(page.locator("h1")).to_have_text("确认是您本人")
    expect(page.locator("#reverify-purpose")).to_have_text("请输入 6 位验证码，按计划开始离职。")
    assert page.locator("#reverify input[name=reason]").get_attribute("value") == REASON
    assert page.locator("#reverify input[name=acceptor]").evaluate_all("els => els.map(e => e.value)")[:2] == ["liuyang", "lina"]
    assert _serious(Axe().run(page)) == []

    right = pyotp.TOTP(totp_secret_for("wangfang")).at(clock.now())
    page.fill("input[name=reverify_code]", "000000" if right != "000000" else "111111")
    page.click("#reverify button[type=submit]")
    expect(page.locator("#reverify .alert")).to_contain_text("验证码错误")
    expect(page.locator("#reverify .alert .ref")).to_contain_text("bad_totp")
    assert page.locator("#reverify input[name=reason]").get_attribute("value") == REASON
    shots = Path(output_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "reverify-wrong-code.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 800})  # a phone: the card fits the screen
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    page.screenshot(path=str(shots / "reverify-wrong-code-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 720})

    page.fill("input[name=reverify_code]", right)
    page.click("#reverify button[type=submit]")
    expect(page).to_have_url(re.compile(r"/exits/\d+\?notice=started"))
    expect(page.locator(".notice.ok")).to_contain_text("离职已开始")
    expect(page.locator("#exit-state")).to_have_text("进行中")
    page.screenshot(path=str(shots / "reverify-exit-started.png"))
    exit_id = re.search(r"/exits/(\d+)", page.url).group(1)
    started = page.request.get(f"{base}/api/v1/exits/{exit_id}").json()
    assert started["reason"] == REASON and started["member"]["userid"] == "chenjing"
    assert sorted(started["acceptors"].values()) == sorted(m["id"] for m in page.request.get(f"{base}/api/v1/members?q=li&limit=100").json()["items"] if m["userid"] in ("liuyang", "lina"))
