"""R-EXC-1 in a real browser: 李娜 opens the rollback plan of 张伟's stolen account from his
member page's link, reads it at a laptop's and a phone's width, and the page fits; screenshots
go to the test's output folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from offboard.actions import freeze as freeze_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_transaction
from offboard.demo import DEMO_SLUG
from tests.web.conftest import _serve_demo, sign_in_page


def _stolen(services) -> None:
    with tenant_transaction(services, DEMO_SLUG, by="zhangwei") as uow:
        role_actions.grant_role(uow, "liuyang", "hr")
        role_actions.remove_role(uow, "wangfang", "hr")
        token_actions.create_token(uow, name="导出工具", service=True, scopes=["read_directory"])
    with tenant_transaction(services, DEMO_SLUG, by="lina") as uow:
        role_actions.remove_role(uow, "liuyang", "hr")
        freeze_actions.freeze(uow, "zhangwei", reason="账号被盗")


@pytest.fixture(scope="module")
def stolen_server(tmp_path_factory):
    yield from _serve_demo(tmp_path_factory.mktemp("web-rollback") / "demo.db", _stolen)


def test_r_exc_1_the_rollback_plan_reads_in_words_at_a_laptops_and_a_phones_width(browser: Browser, stolen_server: str, output_path: str):
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in_page(page, stolen_server, "lina")
    page.goto(f"{stolen_server}/members?q=zhangwei")
    page.locator("#member-table a", has_text="zhangwei").first.click()
    page.get_by_role("link", name="回滚更改").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("回滚 张伟 所做的更改")
    table = page.get_by_role("region", name="回滚计划")
    expect(table).to_contain_text("恢复 王芳 的 HR 角色")
    expect(table).to_contain_text("吊销 API 令牌「导出工具」")
    expect(table).to_contain_text("之后已被再次更改：李娜 移除了 刘洋 的 HR 角色")
    expect(page.get_by_role("button", name="撤销 2 项更改")).to_be_visible()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        expect(page.get_by_role("button", name="撤销 2 项更改")).to_be_visible()
        page.screenshot(path=str(out / f"rollback-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0, width
    # A wrong code, on the phone: the refusal stands above the code field, which has the focus again.
    form = page.locator("form.rollback-apply")
    form.get_by_label("您的 6 位验证码").fill("000000")
    form.get_by_role("button", name="撤销 2 项更改").click()
    expect(form.get_by_role("alert")).to_contain_text("验证码错误")
    expect(form.get_by_label("您的 6 位验证码")).to_be_focused()
    assert page.get_by_role("alert").count() == 1
    page.screenshot(path=str(out / "rollback-wrong-code-390.png"), full_page=True)
    context.close()
