"""R-DATA-3 over HTTP: GET /api/v1/approvals/export answers the approval records as a CSV
(UTF-8 with a byte-order mark) or JSON download, no-store, audited; filters by query; HR is
refused, an export to another region needs a legal basis (R-LAW-4), and one enterprise's
download holds none of another's records (INV-8)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import insert

from offboard.store import ids
from offboard.store.tables import approval_tasks, reimbursements
from tests.api.conftest import World
from tests.support.db import actions_since, audit_seq

URL = "/api/v1/approvals/export"


def _records(world: World, org, userid_key: str = "member") -> int:
    """A pending approval task waiting on the org's plain member and a closed reimbursement of theirs."""
    person = org[userid_key]
    at = datetime(2026, 2, 3, 4, 5, tzinfo=UTC)
    with world.services.db.write() as conn:
        (task,) = ids.next_ids(conn, approval_tasks, org.id, 1)
        conn.execute(insert(approval_tasks).values(tenant_id=org.id, id=task, owner_id=person.member_id, version=1, created_at=at, template_id=None, title=f"{org.slug} 请假申请", status="pending"))
        (claim,) = ids.next_ids(conn, reimbursements, org.id, 1)
        conn.execute(insert(reimbursements).values(tenant_id=org.id, id=claim, member_id=person.member_id, title=f"{org.slug} 打车", amount_cents=3600, status="closed", created_at=at))
    return task


def test_r_data_3_the_api_answers_a_csv_download_that_reads_back(world, client):
    _records(world, world.a)
    _records(world, world.b)
    before = audit_seq(world.services, world.a.slug)
    response = client.get(URL, headers=world.a.bearer("super"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv") and response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith('attachment; filename="approvals-alpha-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {(r["record"], r["title"], r["member_userid"], r["member_name"]) for r in rows} == {
        ("approval_task", "alpha 请假申请", world.a["member"].userid, world.a["member"].name),
        ("reimbursement", "alpha 打车", world.a["member"].userid, world.a["member"].name),
    }
    assert "beta" not in response.content.decode("utf-8-sig").lower()  # INV-8
    assert response.headers["x-offboard-records"] == "2"
    assert actions_since(world.services, world.a.slug, before) == ["approvals.exported"]


def test_r_data_3_the_api_filters_and_answers_json(world, client):
    task = _records(world, world.a)
    response = client.get(URL, params={"format": "json", "state": "pending", "from": "2026-02-03", "until": "2026-02-03"}, headers=world.a.bearer("super"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert [(r["record"], r["id"]) for r in document["records"]] == [("approval_task", task)] and document["count"] == 1
    assert document["filters"] == {"member": None, "state": "pending", "from": "2026-02-03", "until": "2026-02-03"}
    assert client.get(URL, params={"member": world.a["member"].userid, "until": "2026-02-02"}, headers=world.a.bearer("super")).content.decode("utf-8-sig").count("\n") == 1  # the header only


def test_r_data_3_the_api_refuses_hr_a_bad_filter_and_a_cross_border_export_without_a_basis(world, client):
    _records(world, world.a)
    before = audit_seq(world.services, world.a.slug)
    refused = client.get(URL, headers={**world.a.bearer("hr"), "Accept-Language": "en"})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert client.get(URL, params={"format": "xlsx"}, headers=world.a.bearer("super")).status_code == 422
    assert client.get(URL, params={"from": "2026-13-01"}, headers=world.a.bearer("super")).json()["error"] == "invalid_date"
    assert client.get(URL, params={"since": "2026-01-01"}, headers=world.a.bearer("super")).status_code == 422  # an unknown parameter is not ignored
    crossing = client.get(URL, params={"to": "eu"}, headers={**world.a.bearer("super"), "Accept-Language": "zh-CN"})
    assert crossing.status_code == 403 and crossing.json()["error"] == "cross_border_basis_required" and "欧盟" in crossing.json()["message"]
    assert audit_seq(world.services, world.a.slug) == before
    allowed = client.get(URL, params={"to": "eu", "legal_basis": "standard_contract", "basis_reference": "SCC-9"}, headers=world.a.bearer("super"))
    assert allowed.status_code == 200
