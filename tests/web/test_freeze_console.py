"""R-EXC-1 in the console, without a browser: IT freezes a stolen account from the member page
with a reason (re-verified like every security call), reads what happened in its language, and
a super admin gives it back with their code; the last super admin is frozen only with the box
that says what that does to the enterprise (R-ADM-4); HR is offered no freeze."""

from __future__ import annotations

import re

import pyotp
import pytest

from offboard.actions import roles as role_actions
from offboard.actions.context import tenant_transaction
from offboard.api.app import create_app
from offboard.bootstrap import build
from offboard.demo import DEMO_SLUG, build_demo
from offboard.demo.personas import totp_secret_for
from offboard.store import repo
from tests.conftest import own_database
from tests.support.clock import FakeClock
from tests.support.db import actions_since, audit_seq
from tests.web.conftest import CSRF_INPUT, DemoCompany
from tests.web.test_glossary import offences


def _company(request, tmp_path_factory, name: str):
    with own_database(request, tmp_path_factory, name) as url:
        clock = FakeClock()
        services = build(url, clock=clock)
        try:
            build_demo(services)
            yield DemoCompany(services, clock, create_app(services), 0, url)
        finally:
            services.db.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def company(request, tmp_path_factory):
    yield from _company(request, tmp_path_factory, "freeze-console")


@pytest.fixture(params=["sqlite"])
def alone(request, tmp_path_factory):
    """A demo company of the test's own, whose tests change who holds power."""
    yield from _company(request, tmp_path_factory, "freeze-last")


def _status(company: DemoCompany, userid: str) -> str:
    with company.services.db.read() as conn:
        return repo.member_by_userid(conn, repo.tenant_by_slug(conn, DEMO_SLUG).id, userid).status


def _code(company: DemoCompany, userid: str) -> str:
    company.clock.advance(seconds=31)  # a code is accepted once: a fresh 30 s step
    return pyotp.TOTP(totp_secret_for(userid)).at(company.clock.now())


def _visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_r_exc_1_it_freezes_an_account_from_the_member_page_and_a_super_admin_unfreezes_it(company):
    it = company.signed_in("liuyang")
    url = f"/members/{company.member_id('zhaolei')}"
    page = it.get(url)
    assert page.status_code == 200
    assert "直属上级 陈静" in _visible(page.text) and "chenjing" not in _visible(page.text)  # the manager by name
    assert 'action="' + url + '/freeze"' in page.text and "冻结账号" in page.text
    assert 'name="force"' not in page.text  # not the last super admin: no force to give
    assert not offences(page.text, "zh-CN")
    csrf = CSRF_INPUT.search(page.text).group(1)
    before = audit_seq(company.services, DEMO_SLUG)

    blank = it.post(url + "/freeze", data={"csrf": csrf, "reason": "  "})
    assert blank.status_code == 422 and "请填写冻结原因" in blank.text
    assert _status(company, "zhaolei") == "active" and audit_seq(company.services, DEMO_SLUG) == before

    done = it.post(url + "/freeze", data={"csrf": csrf, "reason": "密码出现在钓鱼邮件中"})
    assert done.status_code == 303 and done.headers["location"].startswith(url + "?notice=frozen")
    after = it.get(done.headers["location"])
    text = _visible(after.text)
    assert "赵磊 的账号已冻结：已结束" in text and "登录已锁定" in text
    assert "该账号已冻结" in text and 'action="' + url + '/freeze"' not in after.text
    assert _status(company, "zhaolei") == "frozen"
    assert "member.frozen" in actions_since(company.services, DEMO_SLUG, before)
    assert not offences(after.text, "zh-CN")

    # A super admin gives it back with their own code; a wrong one keeps it frozen.
    boss = company.signed_in("zhangwei", locale="en")
    frozen_page = boss.get(url)
    assert "Unfreeze the account" in frozen_page.text and 'name="totp"' in frozen_page.text
    csrf = CSRF_INPUT.search(frozen_page.text).group(1)
    wrong = boss.post(url + "/unfreeze", data={"csrf": csrf, "totp": "000000"})
    assert wrong.status_code == 401 and "That code is wrong" in wrong.text and _status(company, "zhaolei") == "frozen"
    back = boss.post(url + "/unfreeze", data={"csrf": csrf, "totp": _code(company, "zhangwei")})
    assert back.status_code == 303, back.text
    assert "The account of 赵磊 is unfrozen" in boss.get(back.headers["location"]).text
    assert _status(company, "zhaolei") == "active"


def test_r_exc_1_a_stale_session_gives_its_code_and_the_freeze_finishes(company):
    it = company.signed_in("liuyang", locale="en")
    url = f"/members/{company.member_id('sunli')}"
    csrf = CSRF_INPUT.search(it.get(url).text).group(1)
    company.clock.advance(minutes=6)
    asked = it.post(url + "/freeze", data={"csrf": csrf, "reason": "phone lost"})
    assert asked.status_code == 200 and "Enter your 6-digit code to freeze the account." in asked.text and 'name="reverify_code"' in asked.text
    assert _status(company, "sunli") == "active"
    done = it.post(url + "/freeze", data={"csrf": csrf, "reason": "phone lost", "reverify_code": _code(company, "liuyang")})
    assert done.status_code == 303 and _status(company, "sunli") == "frozen"
    assert "The account of 孙丽 is frozen" in it.get(done.headers["location"]).text


def test_r_exc_1_hr_is_offered_no_freeze_and_cannot_post_one(company):
    hr = company.signed_in("wangfang")
    url = f"/members/{company.member_id('zhaolei')}"
    page = hr.get(url)
    assert page.status_code == 200 and "/freeze" not in page.text
    refused = hr.post(url + "/freeze", data={"csrf": CSRF_INPUT.search(page.text).group(1), "reason": "test"})
    assert refused.status_code == 403


def test_r_adm_4_r_exc_1_the_last_super_admin_is_frozen_only_with_the_box_that_says_what_follows(alone):
    with tenant_transaction(alone.services, DEMO_SLUG) as uow:
        role_actions.remove_role(uow, "lina", "super_admin")
    it = alone.signed_in("liuyang")
    url = f"/members/{alone.member_id('zhangwei')}"
    page = it.get(url)
    assert 'name="force"' in page.text and "张伟 是最后一位在职的超级管理员" in _visible(page.text)
    csrf = CSRF_INPUT.search(page.text).group(1)
    refused = it.post(url + "/freeze", data={"csrf": csrf, "reason": "账号被盗"})
    assert refused.status_code == 409 and "最后一位" in refused.text and 'name="force"' in refused.text
    assert "账号被盗" in refused.text  # what was typed is kept
    assert _status(alone, "zhangwei") == "active"
    forced = it.post(url + "/freeze", data={"csrf": csrf, "reason": "账号被盗", "force": "1"})
    assert forced.status_code == 303 and _status(alone, "zhangwei") == "frozen"
    # The enterprise is frozen with him: the page says so, and how it comes back.
    paused = it.get(forced.headers["location"])
    assert paused.status_code == 423 and "运维人员" in paused.text
