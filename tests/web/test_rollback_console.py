"""R-EXC-1 in the console: a super admin opens the rollback plan of a stolen account, sees each
change told as a sentence with what undoing it does or why it is left alone, in HR's words, and
applies it with their code; a wrong code keeps everything; HR cannot open the page."""

from __future__ import annotations

import html
import re

import pyotp
import pytest

from offboard.actions import freeze as freeze_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_transaction
from offboard.api.app import create_app
from offboard.bootstrap import build
from offboard.demo import DEMO_SLUG, build_demo
from offboard.demo.personas import totp_secret_for
from offboard.store import repo
from tests.conftest import own_database
from tests.support.clock import FakeClock
from tests.web.conftest import CSRF_INPUT, DemoCompany


@pytest.fixture(params=["sqlite"])
def stolen(request, tmp_path_factory):
    """The demo company in which 张伟's account (the primary super admin) gave 刘洋 the HR role,
    took it from 王芳 and made a service token, before 李娜 froze it."""
    with own_database(request, tmp_path_factory, "rollback-console") as url:
        clock = FakeClock()
        services = build(url, clock=clock)
        try:
            build_demo(services)
            clock.advance(hours=1)
            with tenant_transaction(services, DEMO_SLUG, by="zhangwei") as uow:
                role_actions.grant_role(uow, "liuyang", "hr")
                role_actions.remove_role(uow, "wangfang", "hr")
                token_actions.create_token(uow, name="导出工具", service=True, scopes=["read_directory"])
            clock.advance(minutes=5)
            with tenant_transaction(services, DEMO_SLUG, by="lina") as uow:
                freeze_actions.freeze(uow, "zhangwei", reason="账号被盗")
            yield DemoCompany(services, clock, create_app(services), 0, url)
        finally:
            services.db.dispose()


def _roles(company: DemoCompany, userid: str) -> set[str]:
    with company.services.db.read() as conn:
        tenant = repo.tenant_by_slug(conn, DEMO_SLUG)
        return {r.role for r in repo.member_roles(conn, tenant.id, company.member_id(userid))}


def test_r_exc_1_a_super_admin_reads_the_plan_in_words_and_applies_it_with_the_code(stolen):
    client = stolen.signed_in("lina")
    url = f"/members/{stolen.member_id('zhangwei')}/rollback"
    page = client.get(url)
    assert page.status_code == 200, page.text
    text = page.text
    assert "回滚 张伟 所做的更改" in text
    assert "张伟 授予 刘洋 HR 角色" in text and "移除 刘洋 的 HR 角色" in text
    assert "恢复 王芳 的 HR 角色" in text and "吊销 API 令牌「导出工具」" in text
    assert "3 项将撤销" in text and "撤销 3 项更改" in text
    visible = re.sub(r"<[^>]+>", " ", text)
    assert not re.search(r"\b(undo|superseded|unchanged|role_remove|member:\d|hr)\b", visible)
    digest = re.search(r'name="plan" value="([0-9a-f]{16})"', text).group(1)
    since = re.search(r'name="since" value="([^"]+)"', text).group(1)
    csrf = CSRF_INPUT.search(text).group(1)

    wrong = client.post(url, data={"csrf": csrf, "since": since, "plan": digest, "totp": "000000"})
    assert wrong.status_code == 401 and "验证码" in wrong.text
    form = re.search(r'<form method="post"[^>]*class="stack rollback-apply".*?</form>', wrong.text, re.S).group(0)
    assert wrong.text.count('role="alert"') == 1 and 'role="alert" id="form-error"' in form  # beside the code field
    assert 'autofocus aria-describedby="form-error"' in form  # which has the focus again
    assert _roles(stolen, "liuyang") == {"it", "hr"}

    stolen.clock.advance(minutes=6)  # the form's own code is the change's second factor: no re-verification first
    code = pyotp.TOTP(totp_secret_for("lina")).at(stolen.clock.now())
    done = client.post(url, data={"csrf": csrf, "since": since, "plan": digest, "totp": code})
    assert done.status_code == 303, done.text
    after = client.get(done.headers["location"]).text
    # The plan now shows each change as changed again later, by the rollback itself: no undo form.
    assert "已回滚" in after and "0 项将撤销，3 项保持现状" in after and 'name="totp"' not in after
    assert _roles(stolen, "liuyang") == {"it"} and _roles(stolen, "wangfang") == {"hr"}


def test_r_exc_1_a_bad_time_is_said_and_hr_cannot_open_the_page(stolen):
    lina = stolen.signed_in("lina", locale="en")
    url = f"/members/{stolen.member_id('zhangwei')}/rollback"
    bad = lina.get(url, params={"since": "someday"})
    assert bad.status_code == 422 and "Give the time to roll back from as a day" in bad.text
    assert "not “someday”." in html.unescape(bad.text)  # the value quoted as a person quotes it, not as Python does
    zh = stolen.signed_in("lina").get(url, params={"since": "someday"}).text
    assert "而不是“someday”。" in html.unescape(zh)
    assert stolen.signed_in("wangfang").get(url).status_code == 403
