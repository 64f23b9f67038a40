"""R-ADM-1..3 in the console, without a browser: the super admin hands power over from the handover
page in the three platforms' modes (wecom: a QR code the successor opens and accepts with their
own code, then the old super admin's emergency window and its revert; dingtalk: at once; feishu:
through a custodian), cancels, and names, replaces and removes the backup super admin. A wrong
code, an expired link, a link opened by someone else and a wrong link change nothing and are
said in the reader's language; people are named by name.

The company of tests/support/exits.py, its people given Chinese names and passwords:
boss 白石 (primary super admin), deputy 邓浦 (backup), hanna 韩娜 (hr), ivan 伊万 (it), mona 莫娜.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import segno
from fastapi.testclient import TestClient

from offboard.actions import members as member_actions
from offboard.actions.context import tenant_transaction
from offboard.api.app import create_app
from offboard.store import super_admins
from offboard.web.handover import qr_svg
from tests.support.db import actions_since, audit_seq
from tests.support.exits import Company, make_company, totp_now
from tests.web.conftest import CSRF_INPUT
from tests.web.test_glossary import offences

PASSWORD = "correct horse battery staple"
NAMES = {"boss": "白石", "deputy": "邓浦", "hanna": "韩娜", "ivan": "伊万", "mona": "莫娜"}
ACCEPT_URL = re.compile(r'<textarea class="copy-url"[^>]*>(http://testserver/handover/accept/([A-Za-z0-9_-]+))</textarea>')
NAV = re.compile(r'<nav class="nav"[^>]*>(.*?)</nav>', re.S)
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class Console:
    """The company served by the console's ASGI app, its people signing in by password and code."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.services = company.services
        self.app = create_app(company.services)

    def client(self, locale: str = "zh-CN") -> TestClient:
        return TestClient(self.app, follow_redirects=False, headers={"Accept-Language": locale})

    def code(self, userid: str) -> str:
        self.services.clock.advance(seconds=31)  # a code is accepted once: a fresh 30 s step
        return totp_now(userid, self.services)

    def sign_in(self, userid: str, client: TestClient | None = None, next: str = "/") -> tuple[TestClient, str]:
        """Password, then the code when a role asks for it; answers the client and where it landed."""
        client = client or self.client()
        client.get("/login?next=" + quote(next))
        sent = client.post("/login", data={"tenant": self.company.slug, "userid": userid, "password": PASSWORD, "pre": client.cookies["ob_pre"], "next": next})
        assert sent.status_code == 303, sent.text
        target = sent.headers["location"]
        if target.startswith("/login/totp"):
            csrf = CSRF_INPUT.search(client.get(target).text).group(1)
            done = client.post("/login/totp", data={"code": self.code(userid), "csrf": csrf, "next": next})
            assert done.status_code == 303, done.text
            target = done.headers["location"]
        return client, target

    def signed_in(self, userid: str, locale: str = "zh-CN") -> TestClient:
        return self.sign_in(userid, self.client(locale))[0]

    def ranks(self) -> dict[str, str]:
        with self.services.db.read() as conn:
            return {h.userid: h.rank for h in super_admins.holders(conn, self.company.tenant_id)}

    def window_end(self) -> str:
        with self.services.db.read() as conn:
            row = super_admins.latest_handover(conn, self.company.tenant_id)
        return row.window_until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def _console(services, profile: str) -> Console:
    company = make_company(services, profile=profile)
    with tenant_transaction(services, company.slug) as uow:
        for userid, name in NAMES.items():
            member_actions.update_member(uow, userid, changes={"name": name})
            member_actions.set_credentials(uow, userid, password=PASSWORD)
    return Console(company)


def _visible(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _csrf(page: str) -> str:
    return CSRF_INPUT.search(page).group(1)


def _menu(page: str) -> str:
    return NAV.search(page).group(1)


def _refused_in(page: str, action: str) -> bool:
    """The refusal stands inside the form that was sent, whose code field has the focus, and
    nowhere else on the page."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page, re.S)
    assert form is not None, action
    inside = form.group(0)
    return page.count('role="alert"') == 1 and 'role="alert" id="form-error"' in inside and 'autofocus aria-describedby="form-error"' in inside


def _started(console: Console, client: TestClient, to: str, custodian: str = "") -> tuple[str, str, object]:
    """Start from the handover page; answers the accept URL, its secret and the answer."""
    page = client.get("/handover")
    answer = client.post("/handover", data={"csrf": _csrf(page.text), "to": to, "custodian": custodian, "totp": console.code("boss")})
    assert answer.status_code == 200, answer.text
    url, link = ACCEPT_URL.search(answer.text).groups()
    return url, link, answer


def test_r_adm_1_r_adm_2_wecom_walk_qr_code_the_successor_accepts_then_the_window_and_its_revert(services):
    console = _console(services, "wecom")
    boss = console.signed_in("boss")
    page = boss.get("/handover")
    assert page.status_code == 200
    text = _visible(page.text)
    assert "企业微信式：双方验证，原管理员保留 7 天应急操作窗口。" in text
    assert "主管理员 白石" in text and "备用管理员 邓浦" in text
    assert 'action="/handover"' in page.text and 'data-suggest="/people/suggest"' in page.text and 'name="totp"' in page.text
    assert 'href="/handover"' in _menu(page.text)
    assert not offences(page.text, "zh-CN")

    wrong = boss.post("/handover", data={"csrf": _csrf(page.text), "to": "ivan", "totp": "000000"})
    assert wrong.status_code == 401 and "验证码" in _visible(wrong.text) and 'value="ivan"' in wrong.text
    assert "伊万" in _visible(wrong.text)  # the successor typed is named beside the picker
    assert _refused_in(wrong.text, "/handover")

    before = audit_seq(services, console.company.slug)
    url, link, answer = _started(console, boss, "ivan")
    assert answer.headers["cache-control"] == "no-store"
    assert '<svg role="img"' in answer.text and 'class="qr-code"' in answer.text
    svg = re.search(r'<svg role="img".*?</svg>', answer.text, re.S).group(0)
    assert svg == str(qr_svg(url, "接受链接的二维码")), "the QR code encodes the absolute acceptance URL"
    assert segno.make(url, error="m").designator  # a QR code of that URL exists at this level
    text = _visible(answer.text)
    assert "请 伊万 扫描此二维码" in text and "只显示这一次" in text and "在自己管理后台的权限交接页面接受" in text
    assert "发起并验证 (已完成)" in text and "继任者扫码并输入验证码" in text and "等待 伊万" in text and "权限转移" in text
    assert re.search(r"链接有效期至 \S+ \S+ · 剩余 2[34] 小时 \d+ 分钟", text)  # a day's link reads in hours
    assert not offences(answer.text, "zh-CN")
    assert "admin.handover.started" in actions_since(services, console.company.slug, before)
    assert console.ranks() == {"boss": "primary", "deputy": "backup"}  # nothing moved yet
    again = boss.get("/handover")
    assert link not in again.text and "<svg" not in again.text  # shown once, in the start's answer only

    # The successor opens the URL: signing in brings him back to it.
    ivan = console.client()
    away = ivan.get(url)
    assert away.status_code == 303 and away.headers["location"] == "/login?next=" + quote(f"/handover/accept/{link}")
    ivan, landed = console.sign_in("ivan", ivan, next=f"/handover/accept/{link}")
    assert landed == f"/handover/accept/{link}"
    offer = ivan.get(landed)
    assert offer.status_code == 200
    text = _visible(offer.text)
    assert "白石 将超级管理员权限交接给您。" in text and "企业微信式" in text and "链接有效期至" in text and "您将成为 主管理员" in text
    assert 'href="/handover"' in _menu(offer.text) and '<span class="count">1' in _menu(offer.text)
    assert not offences(offer.text, "zh-CN")
    own = _visible(ivan.get("/handover").text)  # his own handover page speaks to him
    assert "等待您接受" in own and "等待您用本人的 6 位验证码接受。" in own and "等待 伊万" not in own

    wrong = ivan.post(landed, data={"csrf": _csrf(offer.text), "totp": "000000"})
    assert wrong.status_code == 401 and "验证码" in _visible(wrong.text) and 'name="totp"' in wrong.text
    assert console.ranks() == {"boss": "primary", "deputy": "backup"}

    done = ivan.post(landed, data={"csrf": _csrf(offer.text), "totp": console.code("ivan")})
    assert done.status_code == 303 and done.headers["location"] == "/handover?done=accepted"
    assert "您已接受：您现在是本企业的超级管理员。" in _visible(ivan.get(done.headers["location"]).text)
    assert console.ranks() == {"ivan": "primary", "deputy": "backup"}

    # The old super admin: completed, the window's end, the revert form.
    after = boss.get("/handover")
    assert after.status_code == 200
    text = _visible(after.text)
    assert f"您在 {console.window_end()} 之前保留应急操作权限" in text and re.search(r"剩余 [67] 天", text)
    assert f"白石 在 {console.window_end()} 之前保留应急操作权限" in _visible(ivan.get("/handover").text)
    assert 'action="/handover/revert"' in after.text and 'action="/handover"' not in after.text and 'action="/handover/backup"' not in after.text
    assert 'href="/handover"' in _menu(after.text)  # no longer a super admin, still a party
    assert not offences(after.text, "zh-CN")
    wrong = boss.post("/handover/revert", data={"csrf": _csrf(after.text), "totp": "000000"})
    assert wrong.status_code == 401 and _refused_in(wrong.text, "/handover/revert")
    reverted = boss.post("/handover/revert", data={"csrf": _csrf(after.text), "totp": console.code("boss")})
    assert reverted.status_code == 303, reverted.text
    assert "权限交接已撤回" in _visible(boss.get(reverted.headers["location"]).text)
    assert console.ranks() == {"boss": "primary", "deputy": "backup"}
    assert "admin.handover.reverted" in actions_since(services, console.company.slug, before)


@sqlite_only
def test_r_adm_1_the_page_reads_in_english_too_and_a_non_party_is_refused(services):
    console = _console(services, "wecom")
    page = console.signed_in("boss", "en").get("/handover")
    assert "WeCom style: both verify, and the old super admin keeps an emergency window of 7 days." in _visible(page.text)
    assert not offences(page.text, "en")
    hanna = console.signed_in("hanna")
    assert 'href="/handover"' not in _menu(hanna.get("/").text)
    assert hanna.get("/handover").status_code == 403


@sqlite_only
def test_r_adm_1_dingtalk_power_moves_at_once_and_the_old_admin_is_told(services):
    console = _console(services, "dingtalk")
    boss = console.signed_in("boss")
    page = boss.get("/handover")
    assert "钉钉式：验证后立即转移。" in _visible(page.text)
    done = boss.post("/handover", data={"csrf": _csrf(page.text), "to": "ivan", "totp": console.code("boss")})
    assert done.status_code == 200 and "<svg" not in done.text
    assert "权限已转移：伊万 已接替您成为超级管理员。" in _visible(done.text)
    assert not offences(done.text, "zh-CN")
    assert console.ranks() == {"ivan": "primary", "deputy": "backup"}
    assert 'href="/handover"' not in _menu(boss.get("/").text) and boss.get("/handover").status_code == 403
    assert "主管理员 伊万" in _visible(console.signed_in("ivan").get("/handover").text)


@sqlite_only
def test_r_adm_1_feishu_escrow_through_a_custodian_then_the_successor_accepts_without_the_link(services):
    console = _console(services, "feishu")
    boss = console.signed_in("boss")
    page = boss.get("/handover")
    assert "飞书式：可临时托管" in _visible(page.text) and 'name="custodian"' in page.text
    refused = boss.post("/handover", data={"csrf": _csrf(page.text), "to": "mona", "custodian": "deputy", "totp": console.code("boss")})
    assert refused.status_code == 409
    assert "邓浦 已是超级管理员" in _visible(refused.text) and "deputy 已是" not in _visible(refused.text)
    assert console.ranks() == {"boss": "primary", "deputy": "backup"}

    url, link, answer = _started(console, boss, "mona", custodian="ivan")
    text = _visible(answer.text)
    assert "由 伊万 临时托管超级管理员权限" in text and "临时托管 (已完成)" in text
    assert console.ranks() == {"deputy": "backup", "ivan": "custodian"}
    # The custodian and the old super admin, neither managing admins now, both see the handover.
    custodian = console.signed_in("ivan").get("/handover")
    assert custodian.status_code == 200 and "在 莫娜 接受之前，由您临时托管超级管理员权限" in _visible(custodian.text)
    assert 'action="/handover/cancel"' in boss.get("/handover").text

    # A day later the link still works (the custodian holds power meanwhile); 莫娜 accepts from her page.
    console.services.clock.advance(hours=25)
    mona = console.signed_in("mona")
    own = mona.get("/handover")
    assert own.status_code == 200 and 'action="/handover/accept"' in own.text and "白石 将超级管理员权限交接给您" in _visible(own.text)
    assert not offences(own.text, "zh-CN")
    done = mona.post("/handover/accept", data={"csrf": _csrf(own.text), "totp": console.code("mona")})
    assert done.status_code == 303, done.text
    assert console.ranks() == {"mona": "primary", "deputy": "backup"}
    assert mona.get(url).status_code == 404  # the link is used up


@sqlite_only
def test_r_adm_1_the_old_admin_cancels_and_the_link_stops_working(services):
    console = _console(services, "wecom")
    boss = console.signed_in("boss")
    url, link, answer = _started(console, boss, "ivan")
    page = boss.get("/handover")
    wrong = boss.post("/handover/cancel", data={"csrf": _csrf(page.text), "totp": "000000"})
    assert wrong.status_code == 401 and _refused_in(wrong.text, "/handover/cancel")
    done = boss.post("/handover/cancel", data={"csrf": _csrf(page.text), "totp": console.code("boss")})
    assert done.status_code == 303
    after = boss.get(done.headers["location"])
    text = _visible(after.text)
    assert "向 伊万 的权限交接已取消，权限未转移。" in text and "上一次权限交接：白石 交给 伊万，已取消" in text
    assert 'action="/handover"' in after.text  # may start again
    ivan = console.signed_in("ivan")
    gone = ivan.get(url)
    assert gone.status_code == 404 and "此接受链接无效" in _visible(gone.text) and not offences(gone.text, "zh-CN")
    refused = ivan.post(url, data={"csrf": _csrf(gone.text), "totp": console.code("ivan")})
    assert refused.status_code == 404 and "没有等待您接受的权限交接" in _visible(refused.text)
    assert console.ranks() == {"boss": "primary", "deputy": "backup"}


@sqlite_only
def test_r_adm_1_someone_else_a_wrong_link_and_an_expired_link_change_nothing(services):
    console = _console(services, "wecom")
    boss = console.signed_in("boss")
    url, link, _answer = _started(console, boss, "ivan")
    hanna = console.signed_in("hanna")
    other = hanna.get(url)
    assert other.status_code == 403 and "此权限交接不是交给您的" in _visible(other.text) and "伊万" not in _visible(other.text)
    taken = hanna.post(url, data={"csrf": _csrf(other.text), "totp": console.code("hanna")})
    assert taken.status_code == 404 and "没有等待您接受的权限交接" in _visible(taken.text)
    ivan = console.signed_in("ivan")
    for bad in ("/handover/accept/" + link[:-2] + "xx", "/handover/accept/short", "/handover/accept/not.a.link.at.all.x"):
        assert ivan.get(bad).status_code == 404, bad
    assert console.ranks() == {"boss": "primary", "deputy": "backup"}

    console.services.clock.advance(hours=25)
    ivan = console.signed_in("ivan")  # a day later: signed in anew
    late = ivan.get(url)
    assert late.status_code == 410 and "此接受链接已于" in _visible(late.text) and "请联系 白石 重新发起交接" in _visible(late.text)
    assert not offences(late.text, "zh-CN")
    refused = ivan.post(url, data={"csrf": _csrf(late.text), "totp": console.code("ivan")})
    assert refused.status_code == 409 and "此接受链接已过期" in _visible(refused.text)
    assert console.ranks() == {"boss": "primary", "deputy": "backup"}
    page = console.signed_in("boss").get("/handover")
    assert "接受链接已于" in _visible(page.text) and 'action="/handover"' in page.text and 'action="/handover/cancel"' not in page.text
    assert "链接已过期" in _visible(page.text) and "等待 伊万" not in _visible(page.text)  # the step says the link lapsed


@sqlite_only
def test_r_adm_3_the_backup_is_removed_set_and_replaced_with_the_warning_and_refusals_by_name(services):
    console = _console(services, "wecom")
    boss = console.signed_in("boss")
    page = boss.get("/handover")
    assert "更换备用超级管理员将移除 邓浦 的超级管理员角色" in _visible(page.text)
    removed = boss.post("/handover/backup/remove", data={"csrf": _csrf(page.text)})
    assert removed.status_code == 303, removed.text
    after = boss.get(removed.headers["location"])
    assert "邓浦 不再是备用超级管理员。" in _visible(after.text) and 'id="no-backup"' in after.text
    assert console.ranks() == {"boss": "primary"}
    assert not offences(after.text, "zh-CN")

    set_ = boss.post("/handover/backup", data={"csrf": _csrf(after.text), "member": "hanna"})
    assert set_.status_code == 303 and "韩娜 现为备用超级管理员。" in _visible(boss.get(set_.headers["location"]).text)
    replaced = boss.post("/handover/backup", data={"csrf": _csrf(after.text), "member": "ivan"})
    text = _visible(boss.get(replaced.headers["location"]).text)
    assert "伊万 现为备用超级管理员。" in text and "韩娜 不再是备用超级管理员，也不再拥有超级管理员权限。" in text
    assert console.ranks() == {"boss": "primary", "ivan": "backup"}
    twice = boss.post("/handover/backup", data={"csrf": _csrf(after.text), "member": "ivan"})
    assert twice.status_code == 409 and "伊万 已" in _visible(twice.text) and "ivan 已" not in _visible(twice.text)
    nobody = boss.post("/handover/backup", data={"csrf": _csrf(after.text), "member": "nobody"})
    assert nobody.status_code == 404 and "nobody" in _visible(nobody.text)

    # A session whose code is over 5 minutes old gives it in place, then the change finishes.
    console.services.clock.advance(minutes=6)
    asked = boss.post("/handover/backup/remove", data={"csrf": _csrf(after.text)})
    assert asked.status_code == 200 and "请输入您的 6 位验证码以更改备用超级管理员。" in _visible(asked.text)
    assert console.ranks() == {"boss": "primary", "ivan": "backup"}
    done = boss.post("/handover/backup/remove", data={"csrf": _csrf(after.text), "reverify_code": console.code("boss")})
    assert done.status_code == 303 and console.ranks() == {"boss": "primary"}
