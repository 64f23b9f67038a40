"""HR reads the console in HR's words (issue 9, SPEC §2, §9): every page and every message, in
zh-CN and in en, names vocabulary values by the glossary (offboard/i18n/glossary.py), never by
their keys; no placeholder is left unfilled; a zh-CN page shows no English message source; an
error shows its code only as a small reference for support."""

from __future__ import annotations

import ast
import re
import string
from datetime import timedelta
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import update

from offboard.actions import exits as exit_actions
from offboard.actions import handover as handover_actions
from offboard.actions import webhooks as webhook_actions
from offboard.actions.context import tenant_transaction
from offboard.demo import DEMO_SLUG
from offboard.demo.personas import totp_secret_for
from offboard.domain import checklist, vocabulary as v
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import Conflict, Forbidden, Term, Terms, error
from offboard.i18n import LANG_COOKIE, catalogue, translate
from offboard.i18n.glossary import GLOSSARY, term
from offboard.actions import bulk_exits
from offboard.domain import bulk_file
from offboard.jobs.bulk import run_jobs
from offboard.store.tables import webhook_deliveries
from offboard.web import audit, bulk, data, exits, handover, rollback, routes, settings, webhooks
from tests.web.conftest import CSRF_INPUT

PACKAGE = Path(__file__).resolve().parents[2] / "offboard"
LOCALES = ("zh-CN", "en")

# Each kind of the glossary and the enum whose values it names.
ENUMS: dict[str, type[StrEnum]] = {
    "exit_type": v.ExitType,
    "reason_category": v.ReasonCategory,
    "trigger": v.Trigger,
    "resource_kind": v.ResourceKind,
    "ledger_state": v.LedgerState,
    "exit_state": v.ExitState,
    "member_status": v.MemberStatus,
    "tenant_status": v.TenantStatus,
    "department_status": v.DepartmentStatus,
    "step_kind": v.StepKind,
    "role": v.Role,
    "super_admin_rank": v.SuperAdminRank,
    "role_status": v.RoleStatus,
    "device_status": v.DeviceStatus,
    "grant_status": v.GrantStatus,
    "reimbursement_status": v.ReimbursementStatus,
    "outbox_state": v.OutboxState,
    "profile": v.Profile,
    "webhook_status": v.WebhookStatus,
    "delivery_state": v.OutboxState,
}
# Every key of the vocabulary: none may reach a sentence a person reads.
RAW_KEYS = {e.value for enum in ENUMS.values() for e in enum} | {i.key for i in checklist.ITEMS}
UNDERSCORED = sorted(k for k in RAW_KEYS if "_" in k)
PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}|%\([a-z_]+\)[sd]")


# --- the glossary itself -----------------------------------------------------------------------


def test_spec_2_every_vocabulary_value_has_a_word_in_both_languages():
    assert set(ENUMS) <= set(GLOSSARY)
    for kind, enum in ENUMS.items():
        assert set(GLOSSARY[kind]) == {e.value for e in enum}, f"{kind}: the glossary and {enum.__name__} name different values"
        for e in enum:
            zh, en = term(kind, e, "zh-CN"), term(kind, e, "en")
            assert zh and en and zh != e.value and en != e.value, f"{kind}.{e.value} has no word of its own: {zh!r} / {en!r}"
            assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) or zh in ("HR", "IT"), f"{kind}.{e.value} is not Chinese: {zh!r}"
            assert en[0].isupper() or kind == "lifecycle_event", f"{kind}.{e.value} is not capitalised: {en!r}"
    assert set(GLOSSARY["checklist_item"]) == {i.key for i in checklist.ITEMS}
    assert [(i.title_zh, i.title_en) for i in checklist.ITEMS] == [GLOSSARY["checklist_item"][i.key] for i in checklist.ITEMS]


# A half-width bracket, comma or semicolon touching a Chinese character; code in backticks is left as typed.
HALF_WIDTH = re.compile(r"[\u4e00-\u9fff] ?[(,;]|[),;] ?[\u4e00-\u9fff]|\{[a-z_]+\}\(|,ID")


def test_spec_2_chinese_sentences_use_full_width_punctuation():
    offending = {zh for zh in catalogue("zh-CN").values() if HALF_WIDTH.search(re.sub(r"`[^`]*`", "", zh))}
    assert not offending, sorted(offending)
    assert not HALF_WIDTH.search("当前登录：张伟（zhangwei）。") and HALF_WIDTH.search("当前登录：张伟(zhangwei)。")


def test_spec_2_hrs_words_exit_inheritance_paths_reasons_and_department_states():
    assert term("exit_type", "removal", "zh-CN") == "办理离职"
    assert term("exit_type", "voluntary", "zh-CN") == "员工自助退出企业"
    assert term("step_kind", "inherit", "zh-CN") == "离职继承"
    assert [term("reason_category", r, "zh-CN") for r in v.ReasonCategory] == ["辞职", "辞退", "合同到期", "退休", "调离", "其他"]
    assert [term("department_status", s, "zh-CN") for s in v.DepartmentStatus] == ["正常", "待解散", "已解散"]
    assert term("member_status", "active", "zh-CN") == "在职" and term("department_status", "active", "zh-CN") == "正常"
    assert (term("resource_kind", "external_contact", "en"), term("role", "super_admin", "en"), term("role", "hr", "en")) == ("External contact", "Super admin", "HR")
    with pytest.raises(KeyError):
        term("no_such_kind", "x", "en")


def test_spec_9_a_term_parameter_is_rendered_in_the_readers_language_and_keeps_its_key():
    err = error(Conflict, "checklist_open", "Sign-off needs every checklist item but 11 done; still open: {items}.", items=Terms("checklist_item", ("external_contacts", "reimbursements_closed")))
    assert err.render("zh-CN") == "签核要求除第 11 项外的所有检查项均已完成；尚未完成：外部联系人移交确认、报销流程闭环。"
    assert err.render("en").endswith("still open: External contacts handed over, Reimbursements closed.")
    assert err.to_dict("en")["error"] == "checklist_open" and err.params["items"].values == ("external_contacts", "reimbursements_closed")
    counted = translate("The member still owns {kinds}; hand them over before finalizing.", "zh-CN", kinds=Terms.counted("resource_kind", {"document": 2, "calendar": 1}))
    assert "文档 (2)、共享日历 (1)" in counted
    assert translate("Exit {id} is {state}; this needs an exit that took effect and is not finalized.", "en", id=4, state=Term("exit_state", "scheduled")) == (
        "Exit 4 is Scheduled; this needs an exit that took effect and is not finalized."
    )


# --- every message template of the code --------------------------------------------------------


def _error_templates() -> list[tuple[str, str, str]]:
    """(where, code, template) of every `error(Base, "code", "template", ...)` call in the package."""
    return [(where, node.args[1].value, node.args[2].value) for where, node in _error_calls() if isinstance(node.args[2], ast.Constant) and isinstance(node.args[2].value, str)]


# Parameters that carry a vocabulary value when an error names one.
TERM_PARAMS = {"state", "status", "kind", "kinds", "role", "roles", "item", "items", "event", "key"}
# ... except where the value is what the caller typed (echoed so they see their mistake), a
# custom checklist item's key, a policy setting's key or an HTTP status.
ECHOED = {
    ("unknown_kind", "kind"),
    ("unknown_item", "key"),
    ("already_attested", "key"),
    ("item_exists", "key"),
    ("invalid_policy_value", "key"),
    ("unknown_policy_setting", "key"),
    ("webhook_rejected", "status"),
}


def _error_calls():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "error" and len(node.args) >= 3 and isinstance(node.args[1], ast.Constant):
                yield f"{path.relative_to(PACKAGE.parent)}:{node.lineno}", node


def test_spec_9_an_error_passes_a_vocabulary_value_as_a_term():
    """`state=row.state` would print the key; `state=Term("exit_state", row.state)` prints the word."""
    problems = []
    calls = list(_error_calls())
    assert len(calls) > 100
    for where, node in calls:
        for kw in node.keywords:
            is_term = isinstance(kw.value, ast.Call) and getattr(kw.value.func, "id", getattr(kw.value.func, "attr", None)) in ("Term", "Terms", "counted")
            if kw.arg in TERM_PARAMS and not is_term and (node.args[1].value, kw.arg) not in ECHOED:
                problems.append(f"{where} {node.args[1].value}: {kw.arg}={ast.unparse(kw.value)}")
    assert not problems, "\n".join(problems)


def test_spec_9_a_refusal_names_what_the_actor_may_not_do_in_words():
    # "may not remove here" named the permission's key; the reader sees what it lets one do.
    assert set(GLOSSARY["action"]) == {a.value for a in Action}
    with pytest.raises(Forbidden) as refused:
        require(Actor(kind="member", member_id=9, userid="amy"), Action.START_REMOVAL)
    assert refused.value.render("en").startswith("You may not handle other members' exits here;")
    assert refused.value.render("zh-CN").startswith("您无权在此为他人办理离职；")  # the reader is the one refused: no userid


def test_spec_9_every_error_message_is_translated_fills_its_placeholders_and_names_no_key():
    templates = _error_templates()
    assert len(templates) > 100  # the scanner finds the calls (a broken one would find none)
    zh = catalogue("zh-CN")
    problems = []
    for where, code, template in templates:
        names = {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}
        for locale in LOCALES:
            text = translate(template, locale, **{n: "X" for n in names})
            if PLACEHOLDER.search(text):
                problems.append(f"{where} {code} ({locale}): placeholder left in {text!r}")
        if template not in zh:
            problems.append(f"{where} {code}: no zh-CN translation of {template!r}")
        prose = re.sub(r"`[^`]*`|\{[^}]*\}", "", template)
        keys = [k for k in UNDERSCORED if re.search(rf"(?<![\w/.-]){k}(?![\w-])", prose)]
        if keys:
            problems.append(f"{where} {code}: the sentence names internal keys {keys}: {template!r}")
    assert not problems, "\n".join(problems)


# --- every console page, in both languages -----------------------------------------------------


class _Text(HTMLParser):
    """The text a person reads: no tags, attributes, scripts or styles, no support reference
    (`<small class="ref">`, where an error's code belongs) and no raw record (`<pre>`, the audit
    event as stored, folded under its sentence)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self._skip or tag in ("script", "style", "pre") or (tag == "small" and "ref" in (dict(attrs).get("class") or "").split()):
            self._skip.append(tag)

    def handle_endtag(self, tag):
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def _english_sources() -> list[re.Pattern[str]]:
    """The catalogue's English sources that a zh-CN page must never show: each has a
    translation of its own; short and placeholder-bearing ones are matched word-bounded."""
    found = []
    for msgid, msgstr in catalogue("zh-CN").items():
        if msgstr == msgid or len(msgid) < 3 or "{" in msgid or not re.search(r"[A-Za-z]{3}", msgid):
            continue
        found.append(re.compile(rf"(?<![\w-]){re.escape(msgid)}(?![\w-])"))
    return found


ENGLISH_SOURCES = _english_sources()


def offences(html: str, locale: str) -> list[str]:
    texts = visible_text(html)
    found = []
    for text in texts:
        if PLACEHOLDER.search(text):
            found.append(f"placeholder in {text!r}")
        found += [f"key {k!r} in {text!r}" for k in UNDERSCORED if re.search(rf"(?<![\w-]){k}(?![\w-])", text)]
        if text in RAW_KEYS:
            found.append(f"raw value {text!r}")
        if locale == "zh-CN":
            found += [f"untranslated {p.pattern!r} in {text!r}" for p in ENGLISH_SOURCES if p.search(text)]
    return found


CONSOLE_ROUTERS = (routes, exits, settings, audit, bulk, rollback, handover, data, webhooks)
# GET pages not walked here, and why.
NOT_WALKED = {
    "/login/totp": "the second step of a sign-in, reached while signing in",
    "/demo/codes": "demo mode only (test_demo_panel)",
    "/audit/verify": "an htmx fragment of /audit",
    "/exits/bulk/template.csv": "a CSV file, not a page (test_bulk_exit_console)",
}


@pytest.fixture(scope="module")
def company(demo_company):
    """The demo with a scheduled exit besides the open one: sunli leaves in ten days."""
    with tenant_transaction(demo_company.services, DEMO_SLUG, by="wangfang") as uow:
        scheduled = exit_actions.start_exit(uow, "sunli", type="removal", reason_category="contract_end", reason="合同到期不续签", effective_at=uow.now + timedelta(days=10))
    demo_company.scheduled_exit_id = scheduled.id
    # Two bulk exits: one planned, with a line that cannot be read and one that is blocked; one done.
    records = [{"userid": "liuyang"}, {"userid": "nobody"}, {"userid": "zhangwei"}, {"userid": "lina", "effective": "2099-13-01"}]
    with tenant_transaction(demo_company.services, DEMO_SLUG, by="wangfang") as uow:
        demo_company.planned_job_id = bulk_exits.create(uow, bulk_file.from_records(records, uow.tenant.timezone), "裁员名单.csv", bulk_exits.Defaults(reason_category="dismissal", reason="部门撤销"))
        demo_company.done_job_id = bulk_exits.create(
            uow, bulk_file.from_records([{"userid": "sunli"}], uow.tenant.timezone), "法务.csv", bulk_exits.Defaults(reason_category="transfer", reason="调往集团")
        )
        bulk_exits.confirm(uow, demo_company.done_job_id)
    run_jobs(demo_company.services)
    # A super-admin handover waiting for its successor: 张伟 hands power to 刘洋 (wecom: a QR code).
    demo_company.clock.advance(seconds=31)
    with tenant_transaction(demo_company.services, DEMO_SLUG, by="zhangwei") as uow:
        demo_company.handover_link = handover_actions.start(uow, to="liuyang", totp=pyotp.TOTP(totp_secret_for("zhangwei")).at(uow.now)).link
    # A webhook endpoint with a test event waiting, and a paused one whose delivery was given up.
    with tenant_transaction(demo_company.services, DEMO_SLUG, by="zhangwei") as uow:
        demo_company.webhook_id = webhook_actions.create_subscription(uow, url="https://crm.example.com/offboard", events=["member.exited", "app.reauthorization_required"], app_name="星河 CRM").id
        webhook_actions.send_test(uow, demo_company.webhook_id)
        demo_company.paused_webhook_id = webhook_actions.create_subscription(uow, url="https://erp.example.com/hooks", events=["*"], description="ERP").id
        given_up = webhook_actions.send_test(uow, demo_company.paused_webhook_id)
        uow.conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.tenant_id == uow.tenant_id, webhook_deliveries.c.id == given_up).values(state="dead", attempts=12, last_status=500))
        webhook_actions.update_subscription(uow, demo_company.paused_webhook_id, status="paused")
    return demo_company


def _pages(company) -> list[str]:
    chenjing, zhaolei = company.member_id("chenjing"), company.member_id("zhaolei")
    samples = {
        "/login": ["/login"],
        "/reverify": ["/reverify"],
        "/": ["/"],
        "/members": ["/members", "/members?status=exited", "/members?role=super_admin"],
        "/members/{member_id}": [f"/members/{chenjing}", f"/members/{zhaolei}", f"/members/{company.member_id('zhangwei')}"],
        "/departments": ["/departments"],
        "/me": ["/me"],
        "/members/{member_id}/exit": [f"/members/{zhaolei}/exit"],
        "/exits": ["/exits", "/exits?state=open"],
        "/exits/{exit_id}": [
            f"/exits/{company.exit_id}",
            f"/exits/{company.exit_id}?tab=handover&state=waiting",
            f"/exits/{company.exit_id}?tab=handover&history=true",
            f"/exits/{company.exit_id}?tab=checklist",
            f"/exits/{company.exit_id}?tab=timeline",
            f"/exits/{company.scheduled_exit_id}",
            "/exits/999999",
        ],
        "/checklist": ["/checklist"],
        "/inbox": ["/inbox"],
        "/settings/policy": ["/settings/policy"],
        "/members/{member_id}/rollback": [f"/members/{company.member_id('zhangwei')}/rollback?since=2020-01-01"],
        "/audit": ["/audit"],
        "/exits/bulk": ["/exits/bulk"],
        "/jobs/{job_id}": [f"/jobs/{company.planned_job_id}", f"/jobs/{company.planned_job_id}?status=invalid", f"/jobs/{company.done_job_id}"],
        "/jobs/{job_id}/progress": [f"/jobs/{company.done_job_id}/progress"],
        "/handover": ["/handover"],
        "/handover/accept/{link}": [f"/handover/accept/{company.handover_link}", "/handover/accept/no-such-link-0000000000"],
        "/members/{member_id}/data": [f"/members/{chenjing}/data", f"/members/{zhaolei}/data"],
        "/me/data": ["/me/data"],
        "/settings/webhooks": ["/settings/webhooks"],
        "/settings/webhooks/{webhook_id}": [
            f"/settings/webhooks/{company.webhook_id}",
            f"/settings/webhooks/{company.paused_webhook_id}",
            f"/settings/webhooks/{company.paused_webhook_id}?state=dead",
        ],
    }
    console_pages = {r.path for m in CONSOLE_ROUTERS for r in m.router.routes if "GET" in r.methods}
    assert console_pages - set(NOT_WALKED) == set(samples), "a console page without a sample address here: add one"
    return [url for urls in samples.values() for url in urls]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("userid", ["wangfang", "zhangwei", "liuyang", "zhaolei"])
def test_spec_9_every_console_page_speaks_hrs_words(company, userid, locale):
    """HR (wangfang), the primary super admin, IT and the successor who receives customers:
    every page each of them opens, and the plan of an exit."""
    client = company.signed_in(userid, locale)
    client.cookies.set(LANG_COOKIE, locale)
    problems = []
    opened = 0
    for url in _pages(company):
        response = client.get(url)
        if response.status_code in (303, 403):  # not this persona's page (the menu hides it)
            continue
        opened += 1
        assert response.headers["content-type"].startswith("text/html"), url
        problems += [f"{url}: {p}" for p in offences(response.text, locale)]
    if userid in ("wangfang", "zhangwei"):
        form = client.get(f"/members/{company.member_id('zhaolei')}/exit")
        plan = client.post(
            f"/members/{company.member_id('zhaolei')}/exit/plan",
            data={"csrf": CSRF_INPUT.search(form.text).group(1), "reason_category": "transfer", "reason": "调往集团总部", "acceptor_kind": ["external_contact"], "acceptor": ["chenjing"]},
        )
        assert plan.status_code == 200 and 'id="kinds"' in plan.text
        problems += [f"plan: {p}" for p in offences(plan.text, locale)]
    assert opened >= 6
    assert not problems, "\n".join(problems)


def test_spec_9_a_refusal_on_a_page_names_the_items_in_words_and_its_code_as_a_reference(company):
    """The sign-off refused while items are open (issue 9's example), in both languages."""
    for locale, words in (("zh-CN", "尚未完成：外部联系人移交确认、客户群转交"), ("en", "still open: External contacts handed over, Customer groups transferred")):
        client = company.signed_in("wangfang", locale)
        client.cookies.set(LANG_COOKIE, locale)
        page = client.get(f"/exits/{company.exit_id}")
        client.post(f"/exits/{company.exit_id}/signoff", data={"csrf": CSRF_INPUT.search(page.text).group(1), "role": "hr"})
        refused = client.post(f"/exits/{company.exit_id}/signoff", data={"csrf": CSRF_INPUT.search(page.text).group(1), "role": "hr"})
        assert refused.status_code == 409, refused.text
        alert = re.search(r'<div class="alert" role="alert">(.*?)</div>', refused.text, re.S).group(1)
        assert words in alert and "external_contacts" not in visible_text(alert)[0]
        assert re.search(r'<small class="ref">[^<]*checklist_open</small>', alert)
        assert offences(refused.text, locale) == []


def test_spec_9_a_state_in_a_refusal_is_its_word(company):
    """Inheriting from an exit that has not taken effect is refused: its state reads 待生效 /
    Scheduled, while the code and the machine-readable parameter stay as they are."""
    from offboard.actions import inheritance
    from offboard.domain.errors import OffboardError

    with pytest.raises(OffboardError) as refused, tenant_transaction(company.services, DEMO_SLUG, by="wangfang") as uow:
        inheritance.inherit(uow, company.scheduled_exit_id, "document", "zhaolei")
    assert refused.value.code == "exit_not_open" and refused.value.params["state"] == Term("exit_state", "scheduled")
    assert refused.value.render("zh-CN").endswith("状态为 待生效；只有已生效离职的资源才能继承。")
    assert "Scheduled" in refused.value.render("en") and "scheduled" not in refused.value.render("en")
    assert refused.value.to_dict("zh-CN") == {"error": "exit_not_open", "message": refused.value.render("zh-CN")}
