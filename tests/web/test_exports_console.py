"""The exports in the console (SPEC §7): the exit page links them, each link downloads, the
handover sheet (离职交接单) is also a printable page; on SQLite and PostgreSQL.

The demo company of this module is its own (tests/web/conftest.py builds one per module): the
exports add audit events."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

from pypdf import PdfReader

from tests.support.db import audit_seq

from offboard.demo import DEMO_SLUG as DEMO

LINK = re.compile(r'href="(/exits/\d+/(?:export/[a-z-]+\.[a-z]+|handover-sheet))"')


def test_spec_7_the_exit_page_links_each_export_and_each_link_downloads(demo_company, output_path):
    hr = demo_company.signed_in("wangfang")
    page = hr.get(f"/exits/{demo_company.exit_id}")
    assert page.status_code == 200
    links = LINK.findall(page.text)
    base = f"/exits/{demo_company.exit_id}"
    assert set(links) == {f"{base}/handover-sheet"} | {f"{base}/export/{name}" for name in ("handover-sheet.pdf", "ledger.xlsx", "ledger.csv", "checklist.xlsx", "checklist.csv")}
    before = audit_seq(demo_company.services, DEMO)
    downloads = {}
    for link in links:
        if "/export/" in link:
            response = hr.get(link)
            assert response.status_code == 200, f"{link}: {response.text[:300]}"
            assert "filename*=UTF-8''" in response.headers["content-disposition"]
            assert "陈静" in unquote(response.headers["content-disposition"])
            downloads[link.rsplit("/", 1)[1]] = response
    assert audit_seq(demo_company.services, DEMO) == before + 5
    pdf = downloads["handover-sheet.pdf"]
    assert pdf.headers["content-type"] == "application/pdf"
    Path(output_path).mkdir(parents=True, exist_ok=True)
    (Path(output_path) / "handover-sheet.pdf").write_bytes(pdf.content)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "离职交接单" in text and "继任者 赵磊 zhaolei" in text and "发起人 王芳" in text
    ledger = list(csv.reader(io.StringIO(downloads["ledger.csv"].content.decode("utf-8-sig"))))
    assert ledger[0][4] == "来自" and ledger[1][4] == "陈静"
    assert any(row[5] == "赵磊" for row in ledger[1:])
    # The exit's timeline says who exported what.
    assert "已将离职交接单导出为 PDF" in hr.get(f"/exits/{demo_company.exit_id}?tab=timeline").text


def test_spec_7_the_handover_sheet_is_a_printable_page_with_the_pdf_beside_it(demo_company):
    hr = demo_company.signed_in("wangfang")
    before = audit_seq(demo_company.services, DEMO)
    page = hr.get(f"/exits/{demo_company.exit_id}/handover-sheet")
    assert page.status_code == 200
    assert "赵磊" in page.text and "离职交接单" in page.text
    assert f'href="/exits/{demo_company.exit_id}/export/handover-sheet.pdf"' in page.text
    assert 'href="/handover-sheet.css"' in page.text and "<style>" not in page.text  # the console's CSP allows no inline style
    style = hr.get("/handover-sheet.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css") and "Noto Sans CJK SC" in style.text
    assert audit_seq(demo_company.services, DEMO) == before  # reading the page is not an export


def test_spec_8_a_refused_console_export_shows_the_code_and_is_not_audited(demo_company):
    successor = demo_company.signed_in("zhaolei")  # no role: may not read the leaver's entry
    hr = demo_company.signed_in("wangfang")
    before = audit_seq(demo_company.services, DEMO)
    refused = successor.get(f"/exits/{demo_company.exit_id}/export/handover-sheet.pdf")
    assert refused.status_code == 403 and "forbidden" in refused.text
    unknown = hr.get(f"/exits/{demo_company.exit_id}/export/ledger.docx")
    assert unknown.status_code == 422 and "unknown_export_format" in unknown.text
    assert audit_seq(demo_company.services, DEMO) == before
