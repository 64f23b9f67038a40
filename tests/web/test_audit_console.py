"""The audit page for people (issue 9 item 7, SPEC §8): times in the enterprise's time zone,
actors and targets by name linked to their page, a sentence per event, filters that keep what
was typed, paging, and the chain's verification in words. Through the ASGI app, on SQLite and
PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from offboard.demo import DEMO_SLUG
from offboard.store.tables import audit_events, tenants

ROW = re.compile(r'<tr data-seq="(\d+)" data-action="([^"]+)">(.*?)</tr>', re.S)
CELL = re.compile(r'<td class="(when|sentence)">(.*?)</td>', re.S)
TAG = re.compile(r"<[^>]+>")


def rows(page: str) -> list[dict[str, str]]:
    """Each event row of the page: seq, action, time and sentence as a reader sees them."""
    found = []
    for seq, action, body in ROW.findall(page):
        cells = {name: html.unescape(TAG.sub("", value)).strip() for name, value in CELL.findall(body)}
        found.append({"seq": seq, "action": action, **cells, "html": body})
    return found


def stored(company, seq: int):
    with company.services.db.read() as conn:
        tenant_id = conn.execute(select(tenants.c.id).where(tenants.c.slug == DEMO_SLUG)).scalar_one()
        return conn.execute(select(audit_events).where(audit_events.c.tenant_id == tenant_id, audit_events.c.seq == seq)).one()


def test_issue_9_events_read_as_sentences_with_names_in_the_tenant_time_zone(demo_company):
    page = demo_company.signed_in("zhangwei").get("/audit")
    assert page.status_code == 200
    found = rows(page.text)
    assert len(found) == 25  # a page of the console
    started = next(r for r in found if r["action"] == "exit.started")
    assert started["sentence"] == "王芳 办理了 陈静 的离职"
    member = demo_company.member_id
    assert f'<a href="/members/{member("wangfang")}"' in started["html"] and f'<a href="/members/{member("chenjing")}"' in started["html"]
    assert 'title="chenjing · 华东销售部"' in started["html"]
    core = stored(demo_company, int(started["seq"]))
    local = datetime.fromisoformat(core.at).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert started["when"] == local and "时间（Asia/Shanghai）" in page.text
    for r in found:  # no raw audit id outside the raw details
        assert not re.search(r"\b(member|exit|token):\d+", r["sentence"]), r
    assert "&#34;targets&#34;" in page.text or "&quot;targets&quot;" in page.text  # the raw event, for support


def test_issue_9_filters_by_member_actor_and_action_keep_what_was_typed(demo_company):
    client = demo_company.signed_in("zhangwei")
    about = client.get("/audit", params={"member": "chenjing"})
    found = rows(about.text)
    assert found and all("陈静" in r["sentence"] for r in found)
    assert {"exit.started", "member.added", "member.credentials_set"} <= {r["action"] for r in found}
    assert 'name="member" value="chenjing"' in about.text

    by_hr = rows(client.get("/audit", params={"actor": "wangfang", "action": "exit."}).text)
    assert by_hr and all(r["action"].startswith("exit.") for r in by_hr)
    assert {stored(demo_company, int(r["seq"])).actor for r in by_hr} == {f"member:{demo_company.member_id('wangfang')}"}
    page = client.get("/audit", params={"action": "department."}).text
    assert '<option value="department." selected>部门</option>' in page
    assert all(r["action"].startswith("department.") for r in rows(page))
    exact = client.get("/audit", params={"action": "role.granted"}).text
    assert {r["action"] for r in rows(exact)} == {"role.granted"} and '<option value="role.granted" selected>' in exact


def test_issue_9_dates_are_days_of_the_tenant_time_zone(demo_company):
    """At 17:30 UTC it is already the next day in Shanghai: a sign-in then belongs to that day."""
    clock, shanghai = demo_company.clock, ZoneInfo("Asia/Shanghai")
    late = clock.now().replace(hour=17, minute=30, second=0, microsecond=0)
    clock.current = late if late > clock.now() else late + timedelta(days=1)
    client = demo_company.signed_in("zhangwei")
    utc_day, local_day = clock.now().date(), clock.now().astimezone(shanghai).date()
    assert local_day > utc_day
    that_day = rows(client.get("/audit", params={"from": local_day.isoformat(), "to": local_day.isoformat()}).text)
    assert {r["action"] for r in that_day} >= {"auth.signed_in"} and "exit.started" not in {r["action"] for r in that_day}
    assert all(r["when"].startswith(local_day.isoformat()) for r in that_day)
    earlier = rows(client.get("/audit", params={"to": utc_day.isoformat(), "action": "exit."}).text)
    assert "exit.started" in {r["action"] for r in earlier}
    empty = client.get("/audit", params={"to": utc_day.replace(year=utc_day.year - 1).isoformat()})
    assert empty.status_code == 200 and rows(empty.text) == [] and "没有符合条件的审计事件" in empty.text


def test_issue_9_a_bad_filter_is_explained_beside_the_form_that_keeps_it(demo_company):
    client = demo_company.signed_in("zhangwei", locale="en")
    bad = client.get("/audit", params={"from": "2026-13-01", "member": "chenjing"})
    assert bad.status_code == 422
    assert "from must be a date like 2026-05-31, not &#39;2026-13-01&#39;." in bad.text and "invalid_date" in bad.text
    assert 'name="from" value="2026-13-01"' in bad.text and 'name="member" value="chenjing"' in bad.text
    nobody = client.get("/audit", params={"member": "no-such-person"})
    assert nobody.status_code == 422 and "The member filter names no member of this enterprise: no-such-person." in nobody.text
    reversed_ = client.get("/audit", params={"from": "2026-11-05", "to": "2026-11-01"})
    assert reversed_.status_code == 422 and "invalid_date_range" in reversed_.text


def test_issue_9_paging_keeps_the_filters(demo_company):
    client = demo_company.signed_in("zhangwei")
    first = client.get("/audit", params={"action": "member."})
    older = re.search(r'<a class="button" href="([^"]+)" rel="next">', first.text).group(1)
    assert "action=member." in html.unescape(older)
    second = client.get(html.unescape(older))
    seqs = [int(r["seq"]) for r in rows(first.text)], [int(r["seq"]) for r in rows(second.text)]
    assert min(seqs[0]) > max(seqs[1]) and all(r["action"].startswith("member.") for r in rows(second.text))
    assert "最新" in second.text


def test_issue_9_verify_says_in_words_that_the_trail_is_intact_or_where_it_broke(demo_company):
    client = demo_company.signed_in("zhangwei")
    with demo_company.services.db.read() as conn:
        count = conn.execute(select(tenants.c.audit_seq).where(tenants.c.slug == DEMO_SLUG)).scalar_one()
    intact = client.get("/audit/verify")
    assert intact.status_code == 200 and f"审计记录完整，共 {count} 条，未发现篡改。" in intact.text
    tampered = 7
    with demo_company.services.db.write() as conn:
        tenant_id = conn.execute(select(tenants.c.id).where(tenants.c.slug == DEMO_SLUG)).scalar_one()
        original = conn.execute(select(audit_events.c.action).where(audit_events.c.tenant_id == tenant_id, audit_events.c.seq == tampered)).scalar_one()
        conn.execute(update(audit_events).where(audit_events.c.tenant_id == tenant_id, audit_events.c.seq == tampered).values(action="member.updated"))
    try:
        broken = client.get("/audit/verify")
        assert "审计记录在第 7 条事件处断开：写入后内容被改动。此前的事件校验通过。" in broken.text
        assert 'href="/audit?before=8"' in broken.text
    finally:
        with demo_company.services.db.write() as conn:
            conn.execute(update(audit_events).where(audit_events.c.tenant_id == tenant_id, audit_events.c.seq == tampered).values(action=original))
    assert "未发现篡改" in client.get("/audit/verify").text


def test_spec_3_2_hr_may_not_open_the_audit_page(demo_company):
    assert demo_company.signed_in("wangfang").get("/audit").status_code == 403


def test_spec_8_verify_names_the_signed_checkpoints_and_a_changed_one(demo_company):
    from offboard.actions import audit_checkpoints
    from offboard.actions.context import tenant_transaction
    from offboard.store.tables import audit_checkpoints as checkpoints_table

    client = demo_company.signed_in("zhangwei")
    with tenant_transaction(demo_company.services, DEMO_SLUG) as uow:
        signed = audit_checkpoints.checkpoint(uow, demo_company.services.vault, "requested")
    intact = client.get("/audit/verify")
    assert f"个已签名检查点核验通过；最近一个覆盖 {signed.size} 条事件" in intact.text
    with demo_company.services.db.write() as conn:
        tenant_id = conn.execute(select(tenants.c.id).where(tenants.c.slug == DEMO_SLUG)).scalar_one()
        where = (checkpoints_table.c.tenant_id == tenant_id, checkpoints_table.c.size == signed.size)
        conn.execute(update(checkpoints_table).where(*where).values(note=signed.note.replace(f"\n{signed.size}\n", "\n1\n")))
    try:
        broken = client.get("/audit/verify")
        assert f"前 {signed.size} 条事件的已签名检查点与事件或其签名不符" in broken.text and "checkpoint_changed" not in broken.text
    finally:
        with demo_company.services.db.write() as conn:
            conn.execute(update(checkpoints_table).where(*where).values(note=signed.note))


def test_spec_8_the_audit_page_gives_auditors_the_verifier_key_once_a_checkpoint_is_signed(demo_company):
    from offboard.actions import audit_checkpoints
    from offboard.actions.context import tenant_transaction

    client = demo_company.signed_in("zhangwei")
    with tenant_transaction(demo_company.services, DEMO_SLUG) as uow:
        signed = audit_checkpoints.checkpoint(uow, demo_company.services.vault, "requested")
        key = audit_checkpoints.verifier_key(uow, demo_company.services.vault)
    page = client.get("/audit")
    assert key in page.text and f"最近的检查点覆盖前 {signed.size} 条事件" in page.text
    assert "For auditors outside the enterprise" in demo_company.signed_in("zhangwei", locale="en").get("/audit").text
