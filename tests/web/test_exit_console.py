"""The exit lifecycle in the console, in a real browser (SPEC §4, §7, §9).

The live server is shared with test_console.py for the whole session, so these tests use the
personas it does not: wangfang (HR), liuyang (IT), lina (backup super admin), chenjing and
zhaolei, and the plain member dongtao. TOTP codes are accepted once per 30 s step and person:
each persona signs in once; a restore computes the code of the next step with pyotp.
The self-service exit of zhaolei runs last: he is chenjing's successor in the first test.
"""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import Browser, Page, expect

from offboard.demo.personas import totp_secret_for
from tests.web.conftest import sign_in_page

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _page(browser: Browser) -> Page:
    """A browser context of its own per persona, so several people work side by side."""
    return browser.new_context(extra_http_headers=ZH).new_page()


def test_spec_7_hr_removes_chenjing_with_a_plan_and_it_works_the_checklist(browser: Browser, live_server: str):
    hr = _page(browser)
    sign_in_page(hr, live_server, "wangfang")

    # The plan, grouped by kind: customers wait for the 24 h takeover by the successor (R-EXIT-5, R-ORG-2).
    hr.goto(f"{live_server}/members?q=chenjing")
    hr.locator("#member-table a", has_text="chenjing").first.click()
    hr.click("text=计划离职")
    hr.get_by_role("combobox", name="继任者").fill("zhaolei")  # a userid typed, none chosen from the list, still counts
    hr.fill("textarea[name=reason]", "个人原因离职，最后工作日已与上级确认")
    hr.click("button:has-text('查看计划')")
    contacts = hr.locator("tr.kind-row[data-kind=external_contact]")
    expect(contacts).to_contain_text("外部联系人")
    expect(contacts).to_contain_text("zhaolei")
    expect(contacts).to_contain_text("等待接替")
    expect(hr.locator("tr.kind-row[data-kind=document]")).to_contain_text("继任者")
    expect(hr.locator("#kinds .alert")).to_have_count(0)

    hr.click("button:has-text('确认并开始离职')")
    expect(hr).to_have_url(re.compile(r"/exits/\d+\?notice=started"))
    exit_url = hr.url.split("?")[0]
    expect(hr.locator(".notice.ok")).to_contain_text("离职已开始")
    expect(hr.locator("#exit-state")).to_have_text("进行中")
    expect(hr.locator("#stepbar li[aria-current=step]")).to_contain_text("移交")
    hr.click(".tabs a:has-text('移交')")
    expect(hr.locator("#ledger")).to_contain_text("等待接替")
    hr.click(".tabs a:has-text('检查清单')")
    expect(hr.locator("#checklist li[data-key=external_contacts]")).to_contain_text("外部联系人")
    hr.click(".tabs a:has-text('时间线')")
    expect(hr.locator("#timeline")).to_contain_text("离职已生效")
    hr.goto(f"{exit_url}?tab=checklist")

    # HR may not sign off while items are open: the button is disabled and says which, in words.
    expect(hr.locator("button:has-text('以 HR 身份签核')")).to_be_disabled()
    expect(hr.locator("#signoff-why-hr")).to_contain_text("外部联系人移交确认")
    expect(hr.locator("#signoff-why-hr")).not_to_contain_text("external_contacts")

    # The board lists the open items of open exits by owner role.
    hr.goto(f"{live_server}/checklist")
    expect(hr.locator("#board-hr tr[data-key=external_contacts]", has_text="陈静")).to_be_visible()
    expect(hr.locator("#board-it tr[data-key=access_revoked]", has_text="陈静")).to_be_visible()

    # IT attests the devices and acknowledges the third-party grants (items 12 and 8).
    it = _page(browser)
    sign_in_page(it, live_server, "liuyang")
    it.goto(f"{exit_url}?tab=checklist")
    it.fill("li[data-key=access_revoked] input[name=evidence]", "笔记本已交还 IT，手机已远程擦除")
    it.click("li[data-key=access_revoked] button")
    expect(it.locator(".notice.ok")).to_be_visible()
    expect(it.locator("li[data-key=access_revoked]")).to_contain_text("已完成")
    expect(it.locator("li[data-key=access_revoked] .evidence")).to_contain_text("笔记本已交还 IT")
    it.fill("li[data-key=third_party_reauth] input[name=evidence]", "CRM 厂商已确认需重新授权")
    it.click("li[data-key=third_party_reauth] button")
    expect(it.locator("li[data-key=third_party_reauth]")).to_contain_text("已完成")
    it.goto(f"{live_server}/checklist")
    expect(it.locator("#board-it tr", has_text="陈静")).to_have_count(0)

    # A customer refuses: the contact becomes unassigned, and HR has it inherited again (R-ORG-5).
    hr.goto(f"{exit_url}?tab=handover&kind=external_contact&state=waiting")
    hr.locator("#ledger tbody tr[data-state=waiting]").first.locator("input[name=row]").check()
    hr.select_option("select[name=action]", "result")
    hr.select_option("select[name=result]", "refused")
    hr.click("#bulk-form button[type=submit]")
    expect(hr.locator("#bulk-confirm")).to_contain_text("1")
    hr.click("#bulk-confirm button.primary")
    expect(hr.locator(".notice.ok")).to_be_visible()
    unassigned = hr.locator("#unassigned tr[data-kind=external_contact]")
    expect(unassigned).to_contain_text("1")
    unassigned.get_by_role("combobox").fill("zhaolei")  # the people picker, a userid typed
    unassigned.locator("button").click()
    expect(hr.locator(".notice.ok")).to_contain_text("1")
    expect(hr.locator("#unassigned")).to_have_count(0)

    # The platform reports the remaining transfers accepted (REST, as an integration would).
    csrf = hr.locator("input[name=csrf]").first.get_attribute("value")
    exit_id = exit_url.rsplit("/", 1)[1]
    waiting = hr.request.get(f"{live_server}/api/v1/exits/{exit_id}/ledger?state=waiting&limit=1000").json()["items"]
    assert waiting
    for row in waiting:
        answer = hr.request.post(f"{live_server}/api/v1/transfers/{row['correlation_id']}/result", data={"state": "done"}, headers={"X-CSRF-Token": csrf})
        assert answer.ok, answer.text()

    # HR closes the reimbursements (item 4); then IT signs off.
    hr.goto(f"{exit_url}?tab=checklist")
    hr.fill("li[data-key=reimbursements_closed] input[name=evidence]", "已在 11 月工资中结清")
    hr.click("li[data-key=reimbursements_closed] button")
    expect(hr.locator("li[data-key=reimbursements_closed]")).to_contain_text("已完成")

    it.goto(f"{exit_url}?tab=checklist")
    it.click("button:has-text('以 IT 身份签核')")
    expect(it.locator(".notice.ok")).to_be_visible()
    expect(it.locator(".signoff[data-role=it]")).to_contain_text("刘洋")
    it.goto(f"{exit_url}?tab=timeline")
    expect(it.locator("#timeline")).to_contain_text("IT")


def test_r_exit_6_a_mistaken_removal_is_restored_from_the_exit_page(browser: Browser, live_server: str):
    page = _page(browser)
    sign_in_page(page, live_server, "lina")
    page.goto(f"{live_server}/members?q=dongtao")
    page.locator("#member-table a", has_text="dongtao").first.click()
    member_url = page.url
    page.click("text=计划离职")
    expect(page.locator("h1")).to_contain_text("离职计划")
    page.fill("textarea[name=reason]", "调整组织架构")
    page.click("button:has-text('查看计划')")
    expect(page.locator("#kinds")).to_be_visible()

    # The member changes after the plan was shown: confirming that plan is refused (plan_stale, R-EXIT-5).
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    member_id = member_url.rsplit("/", 1)[1]
    changed = page.request.patch(f"{live_server}/api/v1/members/{member_id}", data={"title": "战略发展高级经理"}, headers={"X-CSRF-Token": csrf})
    assert changed.ok, changed.text()
    page.click("button:has-text('确认并开始离职')")
    expect(page.locator(".alert")).to_contain_text("plan_stale")
    expect(page.locator("textarea[name=reason]")).to_have_value("调整组织架构")

    # Planned again, the exit starts; lina then finds it was a mistake.
    page.click("button:has-text('查看计划')")
    page.click("button:has-text('确认并开始离职')")
    expect(page).to_have_url(re.compile(r"/exits/\d+\?notice=started"))
    exit_url = page.url.split("?")[0]
    expect(page.locator("#restore")).to_contain_text("剩余")

    # A wrong code is refused on the page, in Chinese, with its code.
    page.fill("#restore textarea[name=reason]", "删错了人，董涛仍在职")
    page.fill("#restore input[name=totp]", "000000")
    page.click("#restore button")
    expect(page.locator(".alert")).to_contain_text("bad_totp")

    # The code of the next 30 s step: the sign-in used the current one (each step counts once).
    page.fill("#restore textarea[name=reason]", "删错了人，董涛仍在职")
    page.fill("#restore input[name=totp]", pyotp.TOTP(totp_secret_for("lina")).at(time.time() + 30))
    page.click("#restore button")
    expect(page).to_have_url(re.compile(re.escape(exit_url) + r"\?tab=overview&notice=restored"))
    expect(page.locator("#exit-state")).to_have_text("已恢复")
    expect(page.locator(".kv")).to_contain_text("在职")
    expect(page.locator("#stepbar li[data-stage=restored]")).to_be_visible()
    page.click(".tabs a:has-text('时间线')")
    expect(page.locator("#timeline li[data-action='exit.restored']")).to_contain_text("删错了人")


def test_r_exit_2_zhaolei_leaves_the_enterprise_by_self_service(page: Page, live_server: str):
    page.set_extra_http_headers(ZH)
    sign_in_page(page, live_server, "zhaolei")
    page.click("header a.me")
    leave = page.locator("#leave")
    expect(leave).to_contain_text("退出企业")

    leave.locator("textarea[name=reason]").fill("个人发展")
    leave.locator("input[name=confirm]").fill("not-me")
    leave.locator("button").click()
    expect(page.locator("#leave .alert")).to_contain_text("confirmation_required")

    leave = page.locator("#leave")
    leave.locator("textarea[name=reason]").fill("个人发展")
    leave.locator("input[name=confirm]").fill("zhaolei")
    with page.expect_response(lambda r: r.url.endswith("/me/exit")) as answer:
        leave.locator("button").click()
    assert answer.value.status == 303
    assert answer.value.header_value("clear-site-data") == '"cache", "storage"'
    expect(page).to_have_url(re.compile(r"/login$"))

    # The session ended with the exit (R-EXIT-1): the console asks to sign in again.
    page.goto(f"{live_server}/me")
    expect(page).to_have_url(re.compile(r"/login\?next=/me"))
