"""Issue 9 item 2 in a real browser: HR plans the exit of the demo's sales director, chenjing,
finds her successor by the pinyin initials of his name and chooses him with the keyboard only;
the plan names him. At a phone's width (390 px); screenshots go to the test's output folder."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.web.conftest import sign_in_page


def test_issue_9_hr_chooses_the_successor_by_pinyin_initials_with_the_keyboard(browser: Browser, own_live_server: str, output_path: str):
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}, viewport={"width": 390, "height": 900})
    page = context.new_page()
    sign_in_page(page, own_live_server, "wangfang")
    page.goto(f"{own_live_server}/members?q=chenjing")
    page.locator("#member-table a", has_text="chenjing").first.click()
    page.click("text=计划离职")

    successor = page.get_by_role("combobox", name="继任者")
    expect(successor).to_have_attribute("aria-expanded", "false")
    expect(page.locator("input[type=hidden][name=successor]")).to_have_count(1)  # the userid travels here
    expect(successor).not_to_have_attribute("name", "successor")

    # The leaver is never offered.
    successor.press_sequentially("chenjing")
    expect(page.locator("#pick-successor-status")).to_have_text("没有符合条件、可以接收的成员。")
    successor.fill("")

    # 赵磊 is zl; others of the company are zl too, each shown with department and title.
    successor.press_sequentially("zl")
    listbox = page.get_by_role("listbox", name="继任者")
    expect(listbox).to_be_visible()
    expect(successor).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.filter(has_text="zhaolei")).to_contain_text("华东销售部 · 销售经理")
    for _ in range(options.count()):
        page.keyboard.press("ArrowDown")
        active = successor.get_attribute("aria-activedescendant")
        assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
        if "zhaolei" in page.locator(f"#{active}").inner_text():
            break
    else:
        raise AssertionError("the arrow keys never reached zhaolei")
    page.screenshot(path=str(out / "picker-open-390.png"), full_page=True)
    page.keyboard.press("Enter")

    expect(listbox).to_be_hidden()
    expect(successor).to_have_value("赵磊")
    expect(page.locator("input[type=hidden][name=successor]")).to_have_value("zhaolei")
    expect(page.locator("#pick-successor-current")).to_contain_text("华东销售部 · zhaolei")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0  # fits 390 px

    page.fill("textarea[name=reason]", "个人原因离职，最后工作日已与上级确认")
    page.screenshot(path=str(out / "picker-chosen-390.png"), full_page=True)
    page.click("button:has-text('查看计划')")
    named = page.locator("#confirm dd", has=page.locator("a", has_text="赵磊"))
    expect(named).to_contain_text("华东销售部 · zhaolei")
    expect(named.locator("a")).to_have_attribute("href", re.compile(r"^/members/\d+$"))
    expect(page.locator("#confirm input[name=successor]")).to_have_value("zhaolei")  # what the confirmation sends
    page.screenshot(path=str(out / "plan-390.png"), full_page=True)
    context.close()
