"""The audit page in a real browser (issue 9 item 7): a super admin filters the trail by a
member and reads what happened to her, by name, in the enterprise's time."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from offboard.demo.personas import password_for


def test_issue_9_a_super_admin_filters_the_audit_trail_by_a_member(page: Page, own_live_server: str, output_path: str):
    page.set_extra_http_headers({"Accept-Language": "zh-CN,zh;q=0.9"})
    page.goto(f"{own_live_server}/login")
    page.fill("input[name=userid]", "zhangwei")
    page.fill("input[name=password]", password_for("zhangwei"))
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login/totp"))
    page.fill("input[name=code]", page.locator("code[data-userid='zhangwei']").inner_text().strip())
    page.click("button[type=submit]")

    page.click("nav.nav >> text=审计")
    expect(page.locator("h1")).to_have_text("审计追踪")
    page.fill("input[name=member]", "chenjing")
    page.click("#audit-filters button:has-text('筛选')")
    expect(page).to_have_url(re.compile(r"member=chenjing"))
    expect(page.locator("input[name=member]")).to_have_value("chenjing")
    sentences = page.locator("#audit-events td.sentence")
    expect(sentences.first).to_be_visible()
    for text in sentences.all_inner_texts():
        assert "陈静" in text and "member:" not in text
    expect(page.locator("#audit-events tr[data-action='member.added'] td.sentence")).to_have_text("运维人员 将 陈静 加入了通讯录")
    page.locator("#audit-events tr[data-action='member.added'] summary").click()
    expect(page.locator("#audit-events tr[data-action='member.added'] pre")).to_contain_text('"action": "member.added"')

    page.click("button:has-text('校验审计链')")
    expect(page.locator("#verify-result")).to_contain_text("未发现篡改")
    shot = Path(output_path) / "audit-filtered-by-member.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.locator("#audit-events a", has_text="陈静").first.click()
    expect(page.locator("h1")).to_contain_text("陈静")
