"""The console in a real browser: a newcomer signs in with a persona's password and the TOTP
code shown in demo mode, finds members and departments in Chinese and English, signs out."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def _sign_in(page: Page, base: str, userid: str) -> None:
    page.goto(f"{base}/login")
    row = page.locator("#demo-codes tr", has=page.locator(f"code[data-userid='{userid}']"))
    password = row.locator("td").nth(3).inner_text().strip()
    page.fill("input[name=userid]", userid)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login/totp"))
    code = page.locator(f"code[data-userid='{userid}']").inner_text().strip()
    page.fill("input[name=code]", code)
    page.click("button[type=submit]")
    expect(page.locator("header.topbar")).to_be_visible()


def test_spec_9_console_sign_in_browse_in_chinese_and_english_sign_out(page: Page, live_server: str):
    """Also under the Content-Security-Policy of issue 7: htmx and the styles work, and the
    browser reports no violation on any page of the walk."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    page.set_extra_http_headers({"Accept-Language": "zh-CN,zh;q=0.9"})
    _sign_in(page, live_server, "zhangwei")
    expect(page.locator("h1")).to_contain_text("星河科技")
    expect(page.locator("nav.nav")).to_contain_text("成员")

    page.click("nav.nav >> text=成员")
    expect(page.locator("h1")).to_have_text("成员")
    page.fill("input[name=q]", "chenjing")
    expect(page.locator("#member-table tbody tr")).to_have_count(1)
    page.click("#member-table >> text=chenjing")
    expect(page.locator("h1")).to_contain_text("陈静")
    expect(page.locator("body")).to_contain_text("客户群")

    page.click("nav.nav >> text=部门")
    expect(page.locator("table.tree tbody tr").first).to_contain_text("星河科技")
    expect(page.locator("table.tree")).to_contain_text("法务")

    page.click("header >> button:has-text('English')")
    expect(page.locator("nav.nav")).to_contain_text("Members")
    expect(page.locator("h1")).to_have_text("Departments")

    page.click("nav.nav >> text=Audit")
    page.click("text=Verify chain")
    expect(page.locator("#verify-result")).to_contain_text("The audit trail is intact")

    page.click("header >> text=Sign out")
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{live_server}/members")
    expect(page).to_have_url(re.compile(r"/login\?next=/members"))
    assert violations == []


def test_spec_3_2_a_plain_member_signs_in_with_password_and_sees_only_own_profile(page: Page, live_server: str):
    """sunli has no role: password alone signs her in, and the directory is not hers to browse."""
    page.goto(f"{live_server}/login")
    row = page.locator("#demo-codes tr", has=page.locator("code[data-userid='sunli']"))
    password = row.locator("td").nth(3).inner_text().strip()
    page.fill("input[name=userid]", "sunli")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator("header.topbar")).to_be_visible()
    page.click("header a.me")
    expect(page.locator("body")).to_contain_text("孙丽")
    page.goto(f"{live_server}/members")
    expect(page.locator(".alert")).to_be_visible()


def test_spec_9_wrong_password_shows_a_clear_error(page: Page, live_server: str):
    page.set_extra_http_headers({"Accept-Language": "en"})
    page.goto(f"{live_server}/login")
    page.fill("input[name=userid]", "wangfang")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".alert")).to_contain_text("Wrong enterprise, userid or password")
