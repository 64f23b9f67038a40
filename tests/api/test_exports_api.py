"""Exports over the API (SPEC §7, §8): a download with its media type and an RFC 6266 file
name naming the leaver, an audited event for each; refusals answer a stable code and leave the
audit trail as it was. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import openpyxl
from pypdf import PdfReader

from tests.support.db import audit_seq

EN = {"Accept-Language": "en"}


def _url(world, what: str) -> str:
    return f"/api/v1/exits/{world.a.extra['exit']}/export/{what}"


def test_spec_7_the_handover_sheet_pdf_downloads_and_names_the_successor(world, client):
    before = audit_seq(world.services, world.a.slug)
    response = client.get(_url(world, "handover-sheet.pdf"), headers={**world.a.bearer("hr"), **EN})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=") and "filename*=UTF-8''" in disposition
    assert "Alpha Leaver" in unquote(disposition.split("filename*=UTF-8''")[1])
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Handover sheet" in text and "Alpha Leaver" in text
    assert "Successor Alpha Admin alpha-admin" in text
    assert audit_seq(world.services, world.a.slug) == before + 1


def test_spec_7_the_ledger_and_checklist_download_as_csv_and_xlsx(world, client):
    headers = {**world.a.bearer("hr"), "Accept-Language": "zh-CN"}
    ledger = client.get(_url(world, "ledger.csv"), headers=headers)
    assert ledger.status_code == 200 and ledger.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(ledger.content.decode("utf-8-sig"))))
    assert rows[0][1] == "资源类型"
    assert {r[2] for r in rows[1:]} == {"Alpha Customer", "Alpha plan.docx"}
    assert {r[5] for r in rows[1:]} == {"Alpha Admin"}
    checklist = client.get(_url(world, "checklist.xlsx"), headers=headers)
    assert checklist.status_code == 200
    assert checklist.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    table = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(checklist.content)).active.iter_rows()]
    assert table[0][1] == "检查项" and len(table) == 1 + 12


def test_spec_8_refused_exports_answer_a_code_and_are_not_audited(world, client):
    before = audit_seq(world.services, world.a.slug)
    cases = [
        (world.a.bearer("member"), "handover-sheet.pdf", 403, "forbidden"),
        (world.a.bearer("outsider"), "ledger.xlsx", 403, "forbidden"),
        (world.b.bearer("hr"), "ledger.xlsx", 404, "exit_not_found"),
        (world.a.bearer("hr"), "payroll.csv", 422, "unknown_export"),
        (world.a.bearer("hr"), "ledger.pdf", 422, "unknown_export_format"),
    ]
    for headers, what, status, code in cases:
        response = client.get(_url(world, what), headers={**headers, **EN})
        assert (response.status_code, response.json()["error"]) == (status, code), f"{what}: {response.text}"
    assert audit_seq(world.services, world.a.slug) == before
