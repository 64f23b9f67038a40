"""SPEC §8 in the console: the compliance report of chenjing's exit as a page, in HR's words,
each event with its proof state, and its PDF and JSON downloads, which sign a checkpoint first so
every event in them is proven. Only readers of the audit trail may take it. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from tests.web.conftest import CSRF_INPUT


def test_spec_8_the_super_admin_reads_the_report_of_chenjings_exit_and_downloads_it(demo_company):
    client = demo_company.signed_in("zhangwei")
    chenjing = demo_company.member_id("chenjing")
    assert f'href="/members/{chenjing}/compliance-report"' in client.get(f"/members/{chenjing}/data").text  # linked from her data page
    page = client.get(f"/members/{chenjing}/compliance-report")
    assert page.status_code == 200, page.text
    html = page.text
    assert "合规报告" in html and "陈静" in html and "聊天记录" in html and "尚未签名" in html  # nothing is signed in a new demo yet
    assert "exit.started" not in html and "successor" not in html  # no key stands in a sentence
    assert 'href="/compliance-report.css"' in html and "<style>" not in html  # the console's CSP allows no inline style
    assert client.get("/compliance-report.css").headers["content-type"].startswith("text/css")
    csrf = CSRF_INPUT.search(html).group(1)
    pdf = client.post(f"/members/{chenjing}/compliance-report.pdf", data={"csrf": csrf})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and "attachment" in pdf.headers["content-disposition"]
    document = json.loads(client.post(f"/members/{chenjing}/compliance-report.json", data={"csrf": csrf}).content)
    assert document["unproven"] == 0 and {"exit.started", "exit.took_effect", "report.exported"} <= {e["action"] for e in document["events"]}
    assert client.post(f"/members/{chenjing}/compliance-report.json", data={"csrf": "forged"}).status_code == 403
    again = client.get(f"/members/{chenjing}/compliance-report").text
    assert "✓ 已证明" in again and "已签名的检查点" in again  # the downloads signed a checkpoint the page proves against


def test_spec_8_hr_and_the_leaver_may_not_take_the_report(demo_company):
    chenjing = demo_company.member_id("chenjing")
    for userid in ("wangfang", "zhaolei"):
        assert demo_company.signed_in(userid).get(f"/members/{chenjing}/compliance-report").status_code == 403
    assert "compliance-report" not in demo_company.signed_in("wangfang").get(f"/members/{chenjing}/data").text  # HR sees no link to it
