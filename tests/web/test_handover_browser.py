"""R-ADM-1 in a real browser (wecom: both verify): 张伟 picks 刘洋 as his successor by name on the
handover page and starts with his code; the answer shows the QR code of the acceptance link, read
at a laptop's and a phone's width; 刘洋 opens the link on his phone, signs in, is brought back to
it and accepts with his own code; 张伟's page then offers the revert inside his emergency window.
Screenshots go to the test's output folder.

The demo runs on a clock the test moves, so each code typed belongs to a 30 s step of its own
(a code is accepted once)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from offboard.demo.personas import password_for
from tests.support.clock import FakeClock
from tests.web.conftest import _serve_demo, sign_in_page

FITS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def handover_server(tmp_path_factory):
    clock = FakeClock()
    for base in _serve_demo(tmp_path_factory.mktemp("web-handover") / "demo.db", clock=clock):
        yield base, clock


def _code(context, base: str, clock: FakeClock, userid: str) -> str:
    """The persona's code of the next 30 s step, as the demo's codes panel shows it."""
    clock.advance(seconds=31)
    panel = context.new_page()
    panel.goto(f"{base}/demo/codes")
    code = panel.locator(f"code[data-userid='{userid}']").inner_text().strip()
    panel.close()
    return code


def test_r_adm_1_the_qr_code_of_the_handover_and_the_successor_accepting_on_a_phone(browser: Browser, handover_server, output_path: str):
    base, clock = handover_server
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    zh = {"extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}
    boss = browser.new_context(**zh, viewport={"width": 1280, "height": 900})
    page = boss.new_page()
    sign_in_page(page, base, "zhangwei")
    page.get_by_role("navigation", name="菜单").get_by_role("link", name="权限交接").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("超级管理员交接")
    expect(page.locator("#holders")).to_contain_text("企业微信式：双方验证，原管理员保留 7 天应急操作窗口。")

    successor = page.get_by_role("combobox", name="继任者")
    successor.press_sequentially("刘洋")
    listbox = page.get_by_role("listbox", name="继任者")
    expect(listbox.get_by_role("option").filter(has_text="liuyang")).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("input[type=hidden][name=to]")).to_have_value("liuyang")
    page.get_by_label("您的 6 位验证码").fill(_code(boss, base, clock, "zhangwei"))
    page.get_by_role("button", name="发起交接").click()

    section = page.locator("#acceptance")
    expect(section.get_by_role("heading")).to_have_text("请 刘洋 扫描此二维码")
    qr = section.get_by_role("img", name="接受链接的二维码")
    expect(qr).to_be_visible()
    url = section.get_by_label("接受链接（可复制）").input_value()
    assert re.fullmatch(re.escape(base) + r"/handover/accept/[A-Za-z0-9_-]{32}", url), url
    expect(section).to_contain_text("只显示这一次")
    expect(page.locator("#state")).to_contain_text("等待 刘洋")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        box = qr.bounding_box()
        assert box and 200 <= box["width"] <= 300 and abs(box["width"] - box["height"]) < 2, (width, box)  # a square, big enough to scan
        page.screenshot(path=str(out / f"handover-qr-{width}.png"), full_page=True)
        assert page.evaluate(FITS) <= 0, width

    # 刘洋 scans it on his phone: signing in brings him back to the link.
    phone = browser.new_context(**zh, viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = phone.new_page()
    mobile.goto(url)
    assert "/login?next=" in mobile.url
    mobile.fill("input[name=userid]", "liuyang")
    mobile.fill("input[name=password]", password_for("liuyang"))
    mobile.click("button[type=submit]")
    mobile.wait_for_load_state()
    if "/login/totp" in mobile.url:
        mobile.fill("input[name=code]", mobile.locator("code[data-userid='liuyang']").inner_text().strip())
        mobile.click("button[type=submit]")
    expect(mobile.get_by_role("heading", level=1)).to_have_text("接受超级管理员权限")
    assert mobile.url == url
    expect(mobile.locator("#accept")).to_contain_text("张伟 将超级管理员权限交接给您。")
    mobile.screenshot(path=str(out / "handover-accept-390.png"), full_page=True)
    assert mobile.evaluate(FITS) <= 0
    mobile.get_by_label("您的 6 位验证码").fill(_code(phone, base, clock, "liuyang"))
    mobile.get_by_role("button", name="接受并成为超级管理员").click()
    expect(mobile.get_by_role("status").first).to_contain_text("您已接受")
    expect(mobile.locator("#holders")).to_contain_text("刘洋")
    # 张伟's page now: power moved, his emergency window's end and the form that reverts.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/handover")
    expect(page.locator("#state")).to_contain_text("保留应急操作权限")
    expect(page.get_by_role("button", name="撤回交接")).to_be_visible()
    page.screenshot(path=str(out / "handover-window-1280.png"), full_page=True)
    boss.close()
    phone.close()
