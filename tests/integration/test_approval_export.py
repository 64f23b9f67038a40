"""R-DATA-3: approval records (approval tasks and reimbursements) are kept until a compliant
deletion, and an admin exports them as CSV (UTF-8 with a byte-order mark, for Excel) or JSON,
filtered by member, state and days of the enterprise's time zone; a task handed over at an
exit still names whom it came from. Taking an export is audited; an export to another data
region needs a recorded legal basis (R-LAW-4). SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, update

from offboard.actions import approval_export
from offboard.actions.context import tenant_transaction
from offboard.domain.errors import Forbidden, NotFound, ValidationError
from offboard.store import ids, repo
from offboard.store.tables import approval_tasks, audit_events, audit_side, members, reimbursements
from tests.support.db import audit_seq
from tests.support.exits import add_approval_template_task, finalize_member, make_company


def take(company, by, **kwargs) -> tuple[approval_export.ApprovalExport, bytes]:
    with tenant_transaction(company.services, company.slug, by) as uow:
        taken = approval_export.export_approvals(uow, **kwargs)
    with company.services.db.read() as conn:
        return taken, b"".join(taken.chunks(conn))


def rows_of(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "Excel reads Chinese from a CSV file only with a byte-order mark"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _details(company, action: str) -> dict:
    with company.services.db.read() as conn:
        return conn.execute(
            select(audit_side.c.details)
            .join(audit_events, (audit_events.c.tenant_id == audit_side.c.tenant_id) & (audit_events.c.seq == audit_side.c.seq))
            .where(audit_events.c.tenant_id == company.tenant_id, audit_events.c.action == action)
            .order_by(audit_events.c.seq.desc())
            .limit(1)
        ).scalar_one()


def _claim(company, userid: str, title: str, status: str, at: datetime, cents: int = 1200) -> int:
    with company.services.db.write() as conn:
        tid = repo.tenant_by_slug(conn, company.slug).id
        (claim,) = ids.next_ids(conn, reimbursements, tid, 1)
        conn.execute(insert(reimbursements).values(tenant_id=tid, id=claim, member_id=company[userid], title=title, amount_cents=cents, status=status, created_at=at))
    return claim


def test_r_data_3_the_csv_reads_back_with_every_approval_record_by_name_and_userid(services, clock):
    company = make_company(services)
    _template, task = add_approval_template_task(company, "mona")
    with services.db.write() as conn:
        conn.execute(update(members).where(members.c.id == company["mona"]).values(name="孟娜"))
        conn.execute(update(approval_tasks).where(approval_tasks.c.id == task).values(title="=HYPERLINK(1)"))
    claim = _claim(company, "tina", "出差报销", "open", datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    taken, content = take(company, "boss")
    rows = rows_of(content)
    assert taken.count == len(rows) == 2 + 1 + 1  # leo's two tasks (make_company), mona's, tina's claim
    assert list(rows[0]) == list(approval_export.COLUMNS)
    by_id = {(r["record"], int(r["id"])): r for r in rows}
    mona = by_id[("approval_task", task)]
    assert (mona["member_name"], mona["member_userid"], mona["template"], mona["state"]) == ("孟娜", "mona", "Discount", "pending")
    assert mona["title"] == "'=HYPERLINK(1)"  # a formula stays text (CSV injection)
    assert mona["created_at"] == "2026-01-01T00:00:00+00:00"
    tina = by_id[("reimbursement", claim)]
    assert (tina["member_userid"], tina["amount_cents"], tina["state"], tina["template"]) == ("tina", "1200", "open", "")
    assert _details(company, "approvals.exported") == {"count": 4, "format": "csv", "filters": {"member": None, "state": None, "from": None, "until": None}, "transfers": []}


def test_r_data_3_filters_keep_a_members_records_including_tasks_handed_over_at_their_exit(services, clock):
    company = make_company(services)
    leo_tasks = company.resources["approval_task"]
    with services.db.write() as conn:
        conn.execute(update(approval_tasks).where(approval_tasks.c.id == leo_tasks[1]).values(status="approved"))
    finalize_member(company, clock)  # leo leaves, sam succeeds him: the pending task goes to sam
    taken, content = take(company, "boss", member="leo", fmt="json")
    document = json.loads(content)
    assert document["format"] == "offboard-approvals/1" and document["count"] == taken.count == len(document["records"])
    tasks = {r["id"]: r for r in document["records"] if r["record"] == "approval_task"}
    assert set(tasks) == set(leo_tasks)
    moved = tasks[leo_tasks[0]]
    assert (moved["member_userid"], moved["handed_over_from_userid"], moved["handed_over_from_name"]) == ("sam", "leo", "Leo")
    assert (tasks[leo_tasks[1]]["member_userid"], tasks[leo_tasks[1]]["state"]) == ("leo", "approved")
    assert {r["title"] for r in document["records"] if r["record"] == "reimbursement"} == {"Taxi", "Hotel"}
    assert document["filters"]["member"] == "leo"

    _taken, content = take(company, "boss", member="leo", state="approved")
    assert [(r["record"], int(r["id"])) for r in rows_of(content)] == [("approval_task", leo_tasks[1])]
    _taken, content = take(company, "boss", member="sam")
    assert [int(r["id"]) for r in rows_of(content) if r["record"] == "approval_task"] == [leo_tasks[0]]


def test_r_data_3_days_are_days_of_the_enterprises_time_zone(services, clock):
    company = make_company(services)  # Asia/Shanghai, UTC+8
    late = _claim(company, "tina", "Late", "closed", datetime(2026, 3, 31, 16, 30, tzinfo=UTC))  # 1 April 00:30 in Shanghai
    early = _claim(company, "tina", "Early", "closed", datetime(2026, 3, 31, 15, 30, tzinfo=UTC))  # 31 March 23:30
    _taken, content = take(company, "boss", member="tina", from_day="2026-04-01")
    assert [int(r["id"]) for r in rows_of(content)] == [late]
    _taken, content = take(company, "boss", member="tina", from_day="2026-03-31", until_day="2026-03-31")
    assert [int(r["id"]) for r in rows_of(content)] == [early]
    for kwargs, code in [
        ({"from_day": "2026-04-31"}, "invalid_date"),
        ({"from_day": "2026-04-02", "until_day": "2026-04-01"}, "invalid_date_range"),
        ({"state": "drop table"}, "invalid_state_filter"),
        ({"fmt": "xlsx"}, "unknown_export_format"),
    ]:
        with pytest.raises(ValidationError) as exc:
            take(company, "boss", **kwargs)
        assert exc.value.code == code
    with pytest.raises(NotFound):
        take(company, "boss", member="nobody")


def test_r_data_3_r_law_4_an_export_to_another_region_is_refused_without_a_legal_basis(services, clock):
    company = make_company(services)
    with services.db.write() as conn:
        conn.execute(update(members).where(members.c.id == company["tina"]).values(region="eu"))
    _claim(company, "tina", "Paris hotel", "closed", datetime(2026, 2, 1, tzinfo=UTC))
    before = audit_seq(services, company.slug)
    with pytest.raises(Forbidden) as exc:
        take(company, "boss", destination="sg")
    assert exc.value.code == "cross_border_basis_required"
    with pytest.raises(Forbidden):  # tina's records are EU data: leaving for the enterprise's region crosses a border too
        take(company, "boss")
    assert audit_seq(services, company.slug) == before  # a refused export is not taken, nor audited
    taken, _content = take(company, "boss", member="leo")  # leo's records stay in cn
    assert taken.transfers == []
    taken, content = take(company, "boss", destination="sg", legal_basis="standard_contract", basis_reference="SCC-2026-3")
    assert {t["from"] for t in taken.transfers} == {"cn", "eu"} and len(rows_of(content)) == taken.count
    assert _details(company, "approvals.exported")["transfers"][0] == {"from": "cn", "to": "sg", "basis": "standard_contract", "reference": "SCC-2026-3"}


def test_r_data_3_hr_and_a_scoped_admin_may_not_export_the_enterprises_approvals(services, clock):
    company = make_company(services)
    before = audit_seq(services, company.slug)
    for who in ("hanna", "leo"):
        with pytest.raises(Forbidden):
            take(company, who)
    assert audit_seq(services, company.slug) == before
    taken, _content = take(company, None)  # the operator (CLI with database access)
    assert taken.count == 2


def test_r_data_3_a_large_export_streams_in_chunks_and_counts_what_it_took(services, clock, monkeypatch):
    monkeypatch.setattr(approval_export, "CHUNK", 3)
    company = make_company(services, per_kind=7)
    taken, content = take(company, "boss", fmt="json")
    assert taken.count == 7 and [r["id"] for r in json.loads(content)["records"]] == sorted(company.resources["approval_task"])
    with tenant_transaction(services, company.slug, "boss") as uow:
        taken = approval_export.export_approvals(uow)
    _claim(company, "tina", "after the count", "open", datetime(2026, 5, 1, tzinfo=UTC))  # added once the export was taken
    with services.db.read() as conn:
        assert len(rows_of(b"".join(taken.chunks(conn)))) == taken.count == 7


def test_r_data_3_the_cli_writes_the_csv_and_json_files(services, clock, capsys, tmp_path):
    from offboard.cli.main import main

    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised on the SQLite file once")
    company = make_company(services)
    db = str(services.db.engine.url.database)

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, "--tenant", company.slug, *args])
        out, err = capsys.readouterr()
        assert (done.value.code or 0) == 0, out + err
        return out

    target = tmp_path / "approvals.csv"
    out = run("approvals", "export", "--by", "boss", "--member", "leo", "-o", str(target))
    assert "2 approval record(s) written to" in out
    assert {r["member_userid"] for r in rows_of(target.read_bytes())} == {"leo"}
    target = tmp_path / "approvals.json"
    run("approvals", "export", "--by", "boss", "--format", "json", "--from", "2025-12-01", "-o", str(target))
    assert json.loads(target.read_text(encoding="utf-8"))["count"] == 2
