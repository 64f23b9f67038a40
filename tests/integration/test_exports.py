"""Exports HR takes away (SPEC §7, §8): the ledger and the checklist as XLSX and CSV, the
handover sheet (离职交接单) as a PDF with its Chinese font embedded. Each export is an audited
event in the transaction that reads it; a refused one leaves the audit trail as it was."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import update

from offboard.actions import checklist as cl_actions
from offboard.actions.context import tenant_transaction
from offboard.actions.exports import export
from offboard.domain.errors import Forbidden, ValidationError
from offboard.store import audit_log, repo
from offboard.store.tables import external_contacts, members
from tests.support.db import audit_seq
from tests.support.exits import Company, give_records, ledger, make_company, start


def _export(company: Company, exit_id: int, what: str, fmt: str, *, by: str = "hanna", locale: str = "zh-CN"):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return export(uow, exit_id, what, fmt, locale)


def _last_event(company: Company) -> dict:
    with company.services.db.read() as conn:
        return audit_log.page(conn, repo.tenant_by_slug(conn, company.slug).id, before=None, limit=1)[0]


def _rename(company: Company, userid: str, name: str) -> None:
    with company.services.db.write() as conn:
        conn.execute(update(members).where(members.c.tenant_id == company.tenant_id, members.c.id == company[userid]).values(name=name))


@pytest.fixture
def company(services):
    """Leo (East) left with tina as his successor; tina is 田娜, and one of his customers has a
    name a spreadsheet would take for a formula."""
    company = make_company(services)
    _rename(company, "tina", "田娜")
    with services.db.write() as conn:
        first = company.resources["external_contact"][0]
        conn.execute(update(external_contacts).where(external_contacts.c.tenant_id == company.tenant_id, external_contacts.c.id == first).values(name='=HYPERLINK("http://x","点我")'))
    give_records(company, "leo")
    company.exit_id = start(company, "leo", successor="tina").id
    return company


def test_spec_8_a_ledger_export_is_audited_with_what_format_and_rows(company):
    before = audit_seq(company.services, company.slug)
    found = _export(company, company.exit_id, "ledger", "xlsx")
    rows = ledger(company, company.exit_id)
    assert found.rows == len(rows) > 0
    assert audit_seq(company.services, company.slug) == before + 1
    event = _last_event(company)
    assert event["action"] == "exit.exported"
    assert event["actor"] == f"member:{company['hanna']}"
    assert event["targets"] == [f"exit:{company.exit_id}", f"member:{company['leo']}"]
    assert event["details"]["what"] == "ledger" and event["details"]["format"] == "xlsx" and event["details"]["rows"] == len(rows)
    assert found.media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" in found.content_disposition and found.filename.endswith(".xlsx") and "Leo" in found.filename


def test_spec_7_the_ledger_xlsx_names_resources_and_people_in_the_readers_language(company):
    found = _export(company, company.exit_id, "ledger", "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(found.content)).active
    table = [[c.value for c in row] for row in sheet.iter_rows()]
    headers = table[0]
    assert headers[:6] == ["台账行号", "资源类型", "资源", "资源 ID", "来自", "接收人"]
    assert len(table) == 1 + found.rows
    document = next(r for r in table[1:] if r[1] == "文档")
    assert document[2] == "plan.docx" and document[4] == "Leo" and document[5] == "田娜" and document[6] == "tina" and document[7] == "已完成"
    report = next(r for r in table[1:] if r[1] == "直属下属")
    assert report[2] in ("Sam", "Rita")
    # Text is never a formula, whatever it starts with.
    risky = next(c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=HYPERLINK"))
    assert risky.data_type == "s"


def test_spec_7_the_ledger_csv_is_utf8_with_a_bom_and_quotes_formulas(company):
    found = _export(company, company.exit_id, "ledger", "csv", locale="en")
    assert found.content.startswith(b"\xef\xbb\xbf") and found.media_type.startswith("text/csv")
    table = list(csv.reader(io.StringIO(found.content.decode("utf-8-sig"))))
    assert table[0][:6] == ["Ledger row", "Resource kind", "Resource", "Resource id", "From", "To"]
    assert len(table) == 1 + found.rows == 1 + len(ledger(company, company.exit_id))
    contact = next(r for r in table[1:] if r[1] == "External contact" and r[2].startswith("'="))
    assert contact[2] == "'" + '=HYPERLINK("http://x","点我")' and contact[5] == "田娜" and contact[7] == "Done"


def test_spec_7_the_checklist_export_carries_evidence_and_who_gave_it(company):
    with tenant_transaction(company.services, company.slug, "ivan") as uow:
        cl_actions.attest(uow, company.exit_id, "access_revoked", "笔记本已归还 IT")
    with tenant_transaction(company.services, company.slug, "hanna") as uow:
        cl_actions.close_reimbursements(uow, company.exit_id, "工资结算 BX-7")
    found = _export(company, company.exit_id, "checklist", "xlsx")
    assert found.rows == 12
    table = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(found.content)).active.iter_rows()]
    assert table[0] == ["#", "检查项", "负责角色", "状态", "未完成事项", "凭证", "记录人", "记录时间", "检查项标识"]
    by_key = {r[-1]: r for r in table[1:]}
    assert by_key["access_revoked"][1] == "账号会话与设备注销"
    assert by_key["access_revoked"][5] == "笔记本已归还 IT" and by_key["access_revoked"][6] == "Ivan"
    assert by_key["reimbursements_closed"][5] == "工资结算 BX-7" and by_key["reimbursements_closed"][6] == "Hanna"
    assert by_key["chats_sealed"][3] == "归档结案时完成"
    plain = list(csv.reader(io.StringIO(_export(company, company.exit_id, "checklist", "csv", locale="en").content.decode("utf-8-sig"))))
    assert plain[0][1] == "Item" and {r[-1]: r for r in plain[1:]}["access_revoked"][3] == "Done"


def test_spec_8_a_refused_export_is_not_audited(company):
    before = audit_seq(company.services, company.slug)
    with pytest.raises(Forbidden):
        _export(company, company.exit_id, "handover-sheet", "pdf", by="sam")
    with pytest.raises(ValidationError) as unknown:
        _export(company, company.exit_id, "payroll", "xlsx")
    assert unknown.value.code == "unknown_export"
    with pytest.raises(ValidationError) as wrong:
        _export(company, company.exit_id, "ledger", "pdf")
    assert wrong.value.code == "unknown_export_format"
    assert audit_seq(company.services, company.slug) == before


def test_spec_7_the_handover_sheet_pdf_names_the_successor_and_embeds_a_cjk_font(company, output_path):
    with tenant_transaction(company.services, company.slug, "ivan") as uow:
        cl_actions.attest(uow, company.exit_id, "access_revoked", "笔记本已归还 IT")
        cl_actions.acknowledge_grants(uow, company.exit_id, "CRM 已重新授权")
    with tenant_transaction(company.services, company.slug, "hanna") as uow:
        cl_actions.close_reimbursements(uow, company.exit_id, "工资结算 BX-7")
        cl_actions.signoff(uow, company.exit_id, "hr")
    found = _export(company, company.exit_id, "handover-sheet", "pdf")
    assert found.media_type == "application/pdf" and found.content.startswith(b"%PDF")
    Path(output_path).mkdir(parents=True, exist_ok=True)
    (Path(output_path) / "handover-sheet.pdf").write_bytes(found.content)
    pdf = PdfReader(io.BytesIO(found.content))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "离职交接单" in text
    assert "继任者 田娜 tina" in text
    assert "plan.docx" in text and "Leo" in text
    assert "笔记本已归还 IT — Ivan" in text and "CRM 已重新授权 — Ivan" in text
    assert "签核人：Hanna" in text and "等待 IT 签核" in text
    fonts = {str(font["/BaseFont"]) for page in pdf.pages for font in page["/Resources"]["/Font"].values()}
    cjk = [f for f in fonts if "NotoSansCJK" in f.replace("-", "")]
    assert cjk, f"no Noto Sans CJK font in {fonts}"
    embedded = [font for page in pdf.pages for font in page["/Resources"]["/Font"].values() if "NotoSansCJK" in str(font["/BaseFont"]).replace("-", "")]
    descriptor = embedded[0]["/DescendantFonts"][0].get_object()["/FontDescriptor"] if "/DescendantFonts" in embedded[0] else embedded[0]["/FontDescriptor"]
    assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), "the CJK font is referenced, not embedded"


def test_spec_9_offboard_export_writes_the_file_and_audits_it(company, db_url, tmp_path, monkeypatch):
    from offboard.cli.main import main

    monkeypatch.setenv("OFFBOARD_LANG", "en")
    out = tmp_path / "ledger.csv"
    before = audit_seq(company.services, company.slug)
    with pytest.raises(SystemExit) as done:
        main(["--db", db_url, "--tenant", company.slug, "export", "leo", "--what", "ledger", "--format", "csv", "--out", str(out), "--by", "hanna"])
    assert done.value.code in (0, None)
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert table[0][0] == "Ledger row" and len(table) == 1 + len(ledger(company, company.exit_id))
    assert audit_seq(company.services, company.slug) == before + 1 and _last_event(company)["details"]["format"] == "csv"
    with pytest.raises(SystemExit) as refused:
        main(["--db", db_url, "--tenant", company.slug, "export", "leo", "--what", "ledger", "--format", "pdf", "--by", "hanna"])
    assert refused.value.code == 2
    assert audit_seq(company.services, company.slug) == before + 1
