"""Issue 12 item 9 in the console, without a browser: a departed member's data page (what is kept
of each record kind, until when and why, the seal, the legal holds, the erasure requests with
their schedule, who accessed the data), the member's own data page with their erasure request,
and the audited chat viewer (R-LAW-1, R-LAW-2, R-LAW-3, R-DATA-1, SPEC §3.2).

The company of tests/support/exits.py (dingtalk: erasure module by module), its people given
Chinese names and passwords: boss 白石 (primary super admin), hanna 韩娜 (hr), ivan 伊万 (it),
mona 莫娜 (no role), leo 黎奥, who left with his exit finalized (4 chat messages sealed).
"""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from offboard.actions import members as member_actions
from offboard.actions.context import tenant_transaction
from offboard.api.app import create_app
from offboard.i18n import LANG_COOKIE
from offboard.store.tables import messages
from offboard.web import data as data_pages
from tests.support.db import actions_since, audit_seq
from tests.support.exits import Company, finalize_member, make_company, totp_now
from tests.web.conftest import CSRF_INPUT
from tests.web.test_glossary import offences

PASSWORD = "correct horse battery staple"
NAMES = {"boss": "白石", "hanna": "韩娜", "ivan": "伊万", "mona": "莫娜", "leo": "黎奥"}
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class Console:
    """The company served by the console's ASGI app, its people signing in by password and code."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.services = company.services
        self.app = create_app(company.services)

    def signed_in(self, userid: str, locale: str = "zh-CN") -> TestClient:
        client = TestClient(self.app, follow_redirects=False, headers={"Accept-Language": locale})
        client.cookies.set(LANG_COOKIE, locale)
        client.get("/login")
        sent = client.post("/login", data={"tenant": self.company.slug, "userid": userid, "password": PASSWORD, "pre": client.cookies["ob_pre"]})
        assert sent.status_code == 303, sent.text
        if sent.headers["location"].startswith("/login/totp"):
            csrf = CSRF_INPUT.search(client.get("/login/totp").text).group(1)
            assert client.post("/login/totp", data={"code": self.code(userid), "csrf": csrf}).status_code == 303
        return client

    def code(self, userid: str) -> str:
        self.services.clock.advance(seconds=31)  # a code is accepted once: a fresh 30 s step
        return totp_now(userid, self.services)

    def seq(self) -> int:
        return audit_seq(self.services, self.company.slug)

    def since(self, seq: int) -> list[str]:
        return actions_since(self.services, self.company.slug, seq)

    def data_url(self, userid: str = "leo") -> str:
        return f"/members/{self.company[userid]}/data"


def _company(services, profile: str = "dingtalk", *, finalized: bool = True) -> Console:
    company = make_company(services, profile=profile)
    with tenant_transaction(services, company.slug) as uow:
        for userid, name in NAMES.items():
            member_actions.update_member(uow, userid, changes={"name": name})
            member_actions.set_credentials(uow, userid, password=PASSWORD)
    if finalized:
        finalize_member(company, services.clock)
    return Console(company)


@pytest.fixture
def console(services) -> Console:
    return _company(services)


def _visible(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _csrf(page: str) -> str:
    return CSRF_INPUT.search(page).group(1)


def _form(page: str, action: str) -> str:
    found = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page, re.S)
    assert found is not None, action
    return found.group(0)


def _refused_in(page: str, action: str) -> str:
    """The refusal stands inside the form that was sent, its field focused, and nowhere else;
    answers the form."""
    form = _form(page, action)
    assert page.count('role="alert"') == 1 and 'role="alert" id="form-error"' in form, page
    assert 'autofocus aria-describedby="form-error"' in form
    return form


def _row(page: str, kind: str) -> str:
    return _visible(re.search(rf'<tr data-kind="{kind}".*?</tr>', page, re.S).group(0)).strip()


def _retention_end(console: Console) -> str:
    with console.services.db.read() as conn:
        until = conn.execute(select(func.max(messages.c.retained_until)).where(messages.c.author_id == console.company["leo"])).scalar_one()
    return until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")


def test_r_law_2_r_law_3_hr_reads_what_is_kept_of_a_finalized_member_until_when_and_that_it_is_sealed(console):
    hanna = console.signed_in("hanna")
    member = hanna.get(f"/members/{console.company['leo']}")
    assert f'href="{console.data_url()}"' in member.text  # the member page links to it for HR
    page = hanna.get(console.data_url())
    assert page.status_code == 200, page.text
    text = _visible(page.text)
    assert "黎奥的数据" in text and "离职已完结" in text
    assert _row(page.text, "chat") == f"聊天记录 4 条记录 {_retention_end(console)} 聊天记录在离职后保留 180 天，且不少于六个月（企业的聊天记录留存期）。"
    assert _row(page.text, "approvals").startswith("审批记录") and "直至合规删除" in _row(page.text, "approvals")
    assert "直至提出删除申请" in _row(page.text, "attendance")
    assert "4 条消息已用该成员自己的数据密钥加密封存" in text and 'data-key="present"' in page.text
    assert f"{_retention_end(console)} 聊天记录留存期满" in text  # on the retention timeline
    # HR files erasure requests; holds, chat reading and the access trail are the auditors'.
    assert 'action="' + console.data_url() + '/data/erasure"' not in page.text and f'action="{console.data_url()}/erasure"' in page.text
    assert "/data/holds" not in page.text and "/data/chats" not in page.text and 'id="accesses"' not in page.text
    assert "法律保全由超级管理员或审计管理员设置和解除" in text
    assert offences(page.text, "zh-CN") == []
    english = console.signed_in("hanna", "en").get(console.data_url())
    assert "Data of 黎奥" in english.text and offences(english.text, "en") == []


def test_r_law_2_a_super_admin_places_a_hold_after_giving_the_code_and_releases_it(console):
    boss = console.signed_in("boss")
    page = boss.get(console.data_url())
    csrf = _csrf(page.text)
    holds = f"{console.data_url()}/holds"
    refused = boss.post(holds, data={"csrf": csrf, "reason": "", "kinds": ["chat", "files"]})
    assert refused.status_code == 422
    form = _refused_in(refused.text, holds)
    assert "原因 须为 1-500 个字符" in _visible(form) and "reason" not in _visible(form)
    assert re.search(r'value="chat" checked', form) and re.search(r'value="files" checked', form) and not re.search(r'value="profile" checked', form)

    console.services.clock.advance(minutes=6)  # past the 5 minutes: the code again, in place
    before = console.seq()
    asked = boss.post(holds, data={"csrf": csrf, "reason": "劳动仲裁案 2026-014", "kinds": ["chat"]})
    assert asked.status_code == 200 and 'name="reverify_code"' in asked.text and "输入 6 位验证码以设置法律保全" in asked.text
    assert console.since(before) == []
    placed = boss.post(holds, data={"csrf": csrf, "reason": "劳动仲裁案 2026-014", "kinds": "chat", "reverify_code": console.code("boss")})
    assert placed.status_code == 303 and placed.headers["location"] == f"{console.data_url()}?notice=held#holds"
    assert "hold.placed" in console.since(before)
    page = boss.get(placed.headers["location"])
    text = _visible(page.text)
    assert "法律保全已设置" in text and "有效中 聊天记录" in text and "由 白石 于" in text and "劳动仲裁案 2026-014" in text
    assert "直至保全解除" in _row(page.text, "chat") and "直至保全解除" not in _row(page.text, "attendance")
    assert "白石 对 黎奥 的记录设置了法律保全 原因：劳动仲裁案 2026-014" in text  # who accessed the data
    hold_id = int(re.search(r"/data/holds/(\d+)/release", page.text).group(1))

    release = f"{console.data_url()}/holds/{hold_id}/release"
    empty = boss.post(release, data={"csrf": csrf, "reason": " "})
    assert empty.status_code == 422 and "原因" in _visible(_refused_in(empty.text, release))
    released = boss.post(release, data={"csrf": csrf, "reason": "仲裁结案"})
    assert released.status_code == 303 and released.headers["location"].endswith("?notice=released#holds")
    page = boss.get(released.headers["location"])
    text = _visible(page.text)
    assert "已解除 聊天记录" in text and "仲裁结案" in text and f"/holds/{hold_id}/release" not in page.text
    assert "直至保全解除" not in _row(page.text, "chat")
    assert offences(page.text, "zh-CN") == []


def test_r_law_1_an_erasure_on_behalf_without_saying_how_the_identity_was_verified_is_refused_beside_the_form(console):
    hanna = console.signed_in("hanna")
    page = hanna.get(console.data_url())
    action = f"{console.data_url()}/erasure"
    before = console.seq()
    refused = hanna.post(action, data={"csrf": _csrf(page.text), "reason": "本人来信要求删除考勤记录", "verified": "", "modules": ["attendance"]})
    assert refused.status_code == 422
    form = _refused_in(refused.text, action)
    assert "请说明如何核实此申请确由黎奥本人提出" in _visible(form)
    assert "本人来信要求删除考勤记录</textarea>" in form and re.search(r'value="attendance" checked', form)
    assert console.since(before) == []

    filed = hanna.post(action, data={"csrf": _csrf(page.text), "reason": "本人来信要求删除考勤记录", "verified": "本人签字的申请表，已核对身份证", "modules": ["attendance"]})
    assert filed.status_code == 303 and filed.headers["location"] == f"{console.data_url()}?notice=filed#requests"
    assert console.since(before)[:2] == ["erasure.requested", "erasure.done"]
    page = hanna.get(filed.headers["location"])
    text = _visible(page.text)
    assert "删除申请已提交" in text
    assert "申请 #1 · 模块：考勤记录" in text and "由 韩娜 代该成员于" in text and "本人签字的申请表，已核对身份证" in text
    steps = re.findall(r'<li data-step="([a-z]+)" data-state="([a-z]+)"', page.text)
    assert steps == [("attendance", "done")]
    assert "删除考勤记录 已完成" in text and "已删除 1 条记录" in text
    assert _row(page.text, "attendance").startswith("考勤记录 0 条记录 已于")
    assert offences(page.text, "zh-CN") == []


def test_r_law_1_a_member_files_their_own_request_on_their_data_page_and_reads_its_schedule(console):
    mona = console.signed_in("mona")
    me = mona.get("/me")
    assert 'href="/me/data"' in me.text
    page = mona.get("/me/data")
    assert page.status_code == 200, page.text
    text = _visible(page.text)
    assert "我的数据" in text and "您仍在职：离职完结前不会删除任何数据。" in text
    assert 'id="holds"' not in page.text and 'id="chats"' not in page.text and 'id="accesses"' not in page.text
    form = _form(page.text, "/me/data/erasure")
    assert 'name="verified"' not in form and form.count('name="modules"') == 6
    assert mona.get(f"/members/{console.company['mona']}/data").headers["location"] == "/me/data"

    before = console.seq()
    filed = mona.post("/me/data/erasure", data={"csrf": _csrf(page.text), "reason": "离职后请删除我的个人资料和日历", "modules": ["profile", "calendar"]})
    assert filed.status_code == 303 and filed.headers["location"] == "/me/data?notice=filed#requests"
    assert "erasure.requested" in console.since(before)
    page = mona.get(filed.headers["location"])
    text = _visible(page.text)
    assert "我的删除申请" in text and "离职后请删除我的个人资料和日历" in text and "提交于" in text
    steps = re.findall(r'<li data-step="([a-z]+)" data-state="([a-z]+)"', page.text)
    assert steps == [("access", "pending"), ("profile", "pending"), ("calendar", "pending")]
    assert text.count("离职完结后执行") == 3  # nothing is erased before the exit is finalized
    assert offences(page.text, "zh-CN") == []


@sqlite_only
@pytest.mark.parametrize(("profile", "shows"), [("wecom", "整个账号一次性删除"), ("feishu", "L3 加密销毁个人内容")])
def test_r_law_1_the_request_form_follows_the_enterprises_data_clearing_mode(services, profile, shows):
    console = _company(services, profile, finalized=False)
    mona = console.signed_in("mona")
    page = mona.get("/me/data")
    form = _form(page.text, "/me/data/erasure")
    assert shows in _visible(form) and 'name="modules"' not in form
    assert (form.count('type="radio" name="level"') == 4) == (profile == "feishu")
    if profile == "feishu":
        before = console.seq()
        refused = mona.post("/me/data/erasure", data={"csrf": _csrf(page.text), "reason": "请删除"})
        assert refused.status_code == 422 and "没有删除级别" in _visible(_refused_in(refused.text, "/me/data/erasure"))
        assert console.since(before) == []
        filed = mona.post("/me/data/erasure", data={"csrf": _csrf(page.text), "reason": "请删除", "level": "L2"})
        assert filed.status_code == 303
        assert "L2 个人资料去标识化" in _visible(mona.get("/me/data").text)
    else:  # a whole account is asked for at once: nothing is left to ask
        assert mona.post("/me/data/erasure", data={"csrf": _csrf(page.text), "reason": "请删除"}).status_code == 303
        page = mona.get("/me/data")
        assert 'action="/me/data/erasure"' not in page.text and "所有删除步骤均已申请" in _visible(page.text)


def test_r_data_1_reading_chats_with_a_reason_shows_the_messages_and_is_audited_page_by_page(console, monkeypatch):
    boss = console.signed_in("boss")
    page = boss.get(console.data_url())
    csrf = _csrf(page.text)
    chats = f"{console.data_url()}/chats"
    before = console.seq()
    refused = boss.post(chats, data={"csrf": csrf, "reason": ""})
    assert refused.status_code == 422 and "原因 须为 1-500 个字符" in _visible(_refused_in(refused.text, chats))
    assert console.since(before) == []

    # One sealed record damaged: that message says so, the others open.
    with console.services.db.write() as conn:
        first = conn.execute(select(func.min(messages.c.id)).where(messages.c.author_id == console.company["leo"])).scalar_one()
        body = conn.execute(select(messages.c.sealed_body).where(messages.c.id == first)).scalar_one()
        conn.execute(update(messages).where(messages.c.id == first).values(sealed_body=body[:-1] + bytes([body[-1] ^ 1])))
    monkeypatch.setattr(data_pages, "CHAT_PAGE", 3)
    read = boss.post(chats, data={"csrf": csrf, "reason": "核对客户承诺的交接"})
    assert read.status_code == 200, read.text
    text = _visible(read.text)
    assert "黎奥的聊天记录" in text and "本次查阅已连同您的原因记入审计日志：核对客户承诺的交接" in text
    assert "第 1–3 条，共 4 条" in text and text.count("群聊 Team") == 3
    assert text.count("收到") == 2 and "此消息无法打开：其加密记录已被更改或损坏。其他消息不受影响。" in text
    assert console.since(before) == ["chats.read"]
    assert offences(read.text, "zh-CN") == []

    more = _form(read.text, chats)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', more))
    assert fields["reason"] == "核对客户承诺的交接" and fields["seen"] == "3"
    after = console.seq()
    second = boss.post(chats, data=fields)
    assert second.status_code == 200 and "第 4–4 条，共 4 条" in _visible(second.text) and "这是黎奥的最后一条消息" in _visible(second.text)
    assert console.since(after) == ["chats.read"]
    accesses = _visible(boss.get(console.data_url()).text)
    assert accesses.count("白石 查阅了 黎奥 的聊天记录 原因：核对客户承诺的交接") == 2


def test_spec_3_2_a_member_without_the_permission_gets_403_for_someone_elses_data_pages_and_forms(console):
    leo = console.company["leo"]
    posts = {
        f"/members/{leo}/data/holds": {"reason": "x"},
        f"/members/{leo}/data/holds/1/release": {"reason": "x"},
        f"/members/{leo}/data/erasure": {"reason": "x", "verified": "x", "modules": "chat"},
        f"/members/{leo}/data/chats": {"reason": "x"},
    }
    before = console.seq()
    for userid, refused_posts in (("mona", set(posts)), ("ivan", set(posts)), ("hanna", {f"/members/{leo}/data/holds", f"/members/{leo}/data/chats"})):
        client = console.signed_in(userid)
        csrf = _csrf(client.get("/me").text)
        page = client.get(f"/members/{leo}/data")
        assert page.status_code == (200 if userid == "hanna" else 403), userid
        for url in refused_posts:
            response = client.post(url, data={"csrf": csrf, **posts[url]})
            assert response.status_code == 403, f"{userid} {url}: {response.status_code}"
    assert set(console.since(before)) <= {"auth.signed_in", "auth.second_factor_verified"}
    ivan = console.signed_in("ivan")
    assert f'href="/members/{leo}/data"' not in ivan.get(f"/members/{leo}").text  # no link to a page that refuses


def test_r_data_1_the_departed_member_cannot_read_their_own_chats(services):
    console = _company(services, finalized=False)
    leo = console.signed_in("leo")
    own = leo.get(console.data_url())
    assert own.headers["location"] == "/me/data" and 'id="chats"' not in leo.get("/me/data").text
    csrf = _csrf(leo.get("/me/data").text)
    assert leo.post(f"{console.data_url()}/chats", data={"csrf": csrf, "reason": "看看"}).status_code == 403
    finalize_member(console.company, services.clock)
    before = console.seq()
    after_exit = leo.post(f"{console.data_url()}/chats", data={"csrf": csrf, "reason": "看看"})
    assert after_exit.status_code == 303 and after_exit.headers["location"].startswith("/login")  # the exit ended the session
    again = TestClient(console.app, follow_redirects=False)
    again.get("/login")
    sent = again.post("/login", data={"tenant": console.company.slug, "userid": "leo", "password": PASSWORD, "pre": again.cookies["ob_pre"]})
    assert sent.status_code != 303 or sent.headers["location"].startswith("/login")
    assert "chats.read" not in console.since(before)
