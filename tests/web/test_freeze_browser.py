"""R-EXC-1 in a real browser: 刘洋 (IT) freezes a stolen account from its member page with a
reason and reads what happened; the page then says the account is frozen."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.web.conftest import sign_in_page


def test_r_exc_1_it_freezes_an_account_from_the_member_page(browser: Browser, own_live_server: str, output_path: str):
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in_page(page, own_live_server, "liuyang")
    page.goto(f"{own_live_server}/members?q=zhaolei")
    page.locator("#member-table a", has_text="zhaolei").first.click()
    form = page.locator("form.freeze-form")
    form.get_by_label("原因").fill("密码出现在钓鱼邮件中")
    form.get_by_role("button", name="冻结账号").click()
    expect(page.get_by_role("status").first).to_contain_text("赵磊 的账号已冻结")
    expect(page.locator("h1 .badge")).to_have_text("已冻结")
    expect(page.locator("form.freeze-form")).to_have_count(0)
    page.screenshot(path=str(out / "member-frozen.png"), full_page=True)
    context.close()
