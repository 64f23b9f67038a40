"""R-ADM-2 in the console: after 张伟 hands super-admin power to 李娜 (wecom: both verify), his
member page says until when he keeps emergency powers and which, in the enterprise's time; once
he has left and signed in again inside the window, his exit's checklist says why item 12 stays
open; when the window lapses and the reconciler closes it, both lines are gone and item 12 no
longer counts his session."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pyotp
from sqlalchemy import select
import pytest

from offboard.actions import exits as exit_actions
from offboard.actions import handover
from offboard.actions.context import tenant_transaction
from offboard.api.app import create_app
from offboard.bootstrap import build
from offboard.demo import DEMO_SLUG, build_demo
from offboard.demo.personas import totp_secret_for
from offboard.jobs import reconciler
from offboard.store import repo, super_admins
from tests.conftest import own_database
from tests.support.clock import FakeClock
from tests.web.conftest import DemoCompany
from tests.web.test_glossary import offences


@pytest.fixture(params=["sqlite", "postgresql"])
def handed_over(request, tmp_path_factory):
    """The demo company in which 张伟 handed super-admin power over to 李娜."""
    with own_database(request, tmp_path_factory, "emergency-window") as url:
        clock = FakeClock()
        services = build(url, clock=clock)
        try:
            build_demo(services)
            company = DemoCompany(services, clock, create_app(services), 0, url)
            with tenant_transaction(services, DEMO_SLUG, by="zhangwei") as uow:
                started = handover.start(uow, to="lina", totp=_code(company, "zhangwei"))
            with tenant_transaction(services, DEMO_SLUG, by="lina") as uow:
                handover.accept(uow, totp=_code(company, "lina"), link=started.link)
            yield company
        finally:
            services.db.dispose()


def _code(company: DemoCompany, userid: str) -> str:
    company.clock.advance(seconds=31)  # a code is accepted once: a fresh 30 s step
    return pyotp.TOTP(totp_secret_for(userid)).at(company.clock.now())


def _visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _window_end(company: DemoCompany) -> str:
    with company.services.db.read() as conn:
        row = super_admins.latest_handover(conn, repo.tenant_by_slug(conn, DEMO_SLUG).id)
    return row.window_until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def _item_12(html: str) -> str:
    return _visible(html.split('data-key="access_revoked"', 1)[1].split("</ol>", 1)[0])


def test_r_adm_2_the_member_page_and_the_checklist_show_the_old_admins_window_until_it_closes(handed_over):
    company = handed_over
    until = _window_end(company)
    zhangwei = company.member_id("zhangwei")
    hr = company.signed_in("wangfang")
    page = hr.get(f"/members/{zhangwei}")
    assert f"应急操作窗口至 {until}（可冻结账号、查看审计日志、撤回交接）" in _visible(page.text)
    assert not offences(page.text, "zh-CN")
    assert "Emergency window until " + until in company.signed_in("wangfang", locale="en").get(f"/members/{zhangwei}").text
    assert "应急操作窗口" not in hr.get(f"/members/{company.member_id('lina')}").text  # the new super admin holds none
    # His own overview says what he still may do and where, not only that he holds no role.
    overview = company.signed_in("zhangwei").get("/")
    notice = _visible(overview.text.split('id="emergency-window"', 1)[1].split("</div>", 1)[0])
    assert f"在 {until} 之前，您仍保留应急操作权限：撤回交接、冻结有风险的账号、查看审计日志。" in notice
    assert 'href="/handover"' in overview.text.split('id="emergency-window"', 1)[1] and not offences(overview.text, "zh-CN")
    assert 'id="emergency-window"' not in company.signed_in("lina").get("/").text

    # He leaves; an hour before the window ends he signs in again (password and code): a live session.
    with tenant_transaction(company.services, DEMO_SLUG, by="wangfang") as uow:
        exit_id = exit_actions.start_exit(uow, "zhangwei", type="removal", reason_category="resignation", reason="个人原因", successor="lina").id
    company.clock.advance(days=6, hours=23)
    again = company.signed_in("zhangwei")
    assert again.get("/audit").status_code == 200  # an emergency power: reading the audit trail
    hr = company.signed_in("wangfang")  # a console session lasts 12 hours
    checklist = hr.get(f"/exits/{exit_id}?tab=checklist")
    item = _item_12(checklist.text)
    assert "有效会话 1" in item
    assert f"张伟 作为原超级管理员，应急操作窗口至 {until}" in item and "直到该会话结束或窗口关闭" in item
    assert not offences(checklist.text, "zh-CN")

    # The window lapses: his session no longer serves him, but it stays on item 12 until the
    # reconciler closes the window and ends it.
    company.clock.advance(hours=2)
    assert again.get("/audit").status_code == 303
    lapsed = _item_12(hr.get(f"/exits/{exit_id}?tab=checklist").text)
    assert "应急操作窗口" not in lapsed and "有效会话 1" in lapsed
    assert "应急操作窗口" not in hr.get(f"/members/{zhangwei}").text
    assert reconciler.reconcile(company.services).windows_closed == 1
    closed = _item_12(hr.get(f"/exits/{exit_id}?tab=checklist").text)
    assert "有效会话" not in closed


def test_r_adm_2_r_exc_1_the_old_admin_freezes_an_account_from_the_overview_inside_the_window(handed_over):
    """His emergency powers do not include browsing the directory, so the overview holds the
    freeze form: a userid that names nobody is said beside the form with what he typed kept; a
    good one freezes the account and says so by name. Someone without the power is refused."""
    from offboard.store.tables import members
    from tests.web.conftest import CSRF_INPUT

    company = handed_over
    with tenant_transaction(company.services, DEMO_SLUG, by="wangfang") as uow:
        exit_actions.start_exit(uow, "zhangwei", type="removal", reason_category="resignation", reason="个人原因", successor="lina")
    old = company.signed_in("zhangwei")
    overview = old.get("/")
    assert "冻结有风险的账号" in overview.text and not offences(overview.text, "zh-CN")
    csrf = CSRF_INPUT.search(overview.text).group(1)
    unknown = old.post("/freeze", data={"csrf": csrf, "userid": "nobody", "reason": "钓鱼邮件"})
    assert unknown.status_code == 404 and "钓鱼邮件" in unknown.text and 'value="nobody"' in unknown.text
    assert unknown.text.index('class="alert"') > unknown.text.index('id="emergency-window"')  # beside the form
    done = old.post("/freeze", data={"csrf": csrf, "userid": "chenjing", "reason": "钓鱼邮件"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    shown = old.get(done.headers["location"])
    assert "陈静 的账号已冻结：已结束 0 个会话和 0 个 API 令牌，登录已锁定。" in _visible(shown.text.split('id="emergency-frozen"', 1)[1])
    with company.services.db.read() as conn:
        assert conn.execute(select(members.c.status).where(members.c.id == company.member_id("chenjing"))).scalar_one() == "frozen"
    hr = company.signed_in("wangfang")
    assert hr.post("/freeze", data={"csrf": CSRF_INPUT.search(hr.get("/").text).group(1), "userid": "lina", "reason": "x"}).status_code == 403
