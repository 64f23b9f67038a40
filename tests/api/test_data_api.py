"""A member's data over HTTP (R-LAW-1, R-LAW-2): the retention view, legal holds, and erasure
requests answered with their schedule; refusals are 4xx JSON with a code and change nothing.
SQLite and PostgreSQL."""

from __future__ import annotations

from tests.support.db import audit_seq


def test_r_law_1_hr_files_an_erasure_for_a_departed_member_and_gets_its_schedule(world, client):
    a = world.a
    leaver = a.extra["leaver"]  # exited, inside the restore window (wecom: whole account)
    refused = client.post(f"/api/v1/members/{leaver}/erasure-requests", json={"reason": "本人申请"}, headers=a.bearer("hr"))
    assert refused.status_code == 422 and refused.json()["error"] == "verification_required"
    again = client.post(f"/api/v1/members/{leaver}/erasure-requests", json={"reason": "本人申请", "verified": "签字申请表"}, headers=a.bearer("hr"))
    assert again.status_code == 409 and again.json()["error"] == "erasure_already_requested"  # the world filed one
    listed = client.get("/api/v1/erasure-requests", headers=a.bearer("hr")).json()
    (request,) = [r for r in listed if r["member_id"] == leaver]
    assert request["state"] == "open" and request["mode"] == "whole_account"
    assert {s["step"]: s["waiting_for"] for s in request["steps"]}["chat"] == "finalization"  # nothing inside the window
    one = client.get(f"/api/v1/erasure-requests/{request['id']}", headers=a.bearer("super"))
    assert one.status_code == 200 and one.json() == request


def test_r_law_1_a_member_files_their_own_request_and_may_not_file_or_read_for_others(world, client):
    a = world.a
    own = client.post(f"/api/v1/members/{a['member'].member_id}/erasure-requests", json={"reason": "离职后删除我的资料"}, headers=a.bearer("member"))
    assert own.status_code == 201, own.text
    assert own.json()["verified"] is None and {s["state"] for s in own.json()["steps"]} == {"pending", "kept"}
    assert client.get(f"/api/v1/members/{a['member'].member_id}/data", headers=a.bearer("member")).status_code == 200
    before = audit_seq(world.services, a.slug)
    other = client.post(f"/api/v1/members/{a['admin'].member_id}/erasure-requests", json={"reason": "x", "verified": "y"}, headers=a.bearer("member"))
    assert other.status_code == 403 and other.json()["error"] == "forbidden"
    assert client.get(f"/api/v1/members/{a['admin'].member_id}/data", headers=a.bearer("member")).status_code == 403
    assert audit_seq(world.services, a.slug) == before


def test_r_law_2_a_legal_hold_over_http_shows_in_the_retention_view_and_is_released_once(world, client):
    a = world.a
    member = a["outsider"].member_id
    assert client.post(f"/api/v1/members/{member}/holds", json={"reason": "仲裁"}, headers=a.bearer("hr")).status_code == 403  # HR places no holds
    bad = client.post(f"/api/v1/members/{member}/holds", json={"reason": "仲裁", "kinds": ["payroll"]}, headers=a.bearer("super"))
    assert bad.status_code == 422
    placed = client.post(f"/api/v1/members/{member}/holds", json={"reason": "仲裁 2026-7", "kinds": ["chat"]}, headers=a.bearer("super"))
    assert placed.status_code == 201, placed.text
    view = placed.json()
    (hold,) = view["holds"]
    assert hold["kinds"] == ["chat"] and hold["released_at"] is None
    assert next(k for k in view["kept"] if k["kind"] == "chat")["held"] is True
    released = client.post(f"/api/v1/holds/{hold['id']}/release", json={"reason": "结案"}, headers=a.bearer("super"))
    assert released.status_code == 200 and released.json()["holds"][0]["released_at"] is not None
    twice = client.post(f"/api/v1/holds/{hold['id']}/release", json={"reason": "结案"}, headers=a.bearer("super"))
    assert twice.status_code == 409 and twice.json()["error"] == "hold_released"
    assert client.post("/api/v1/holds/999999/release", json={"reason": "x"}, headers=a.bearer("super")).status_code == 404


def test_r_law_1_a_scope_the_mode_does_not_take_is_400_with_its_code(world, client):
    a = world.a
    response = client.post(f"/api/v1/members/{a['outsider'].member_id}/erasure-requests", json={"reason": "x", "verified": "y", "level": "L2"}, headers=a.bearer("super"))
    assert response.status_code == 422 and response.json()["error"] == "erasure_scope_not_applicable"
    assert client.get("/api/v1/erasure-requests/999999", headers=a.bearer("super")).status_code == 404


def test_r_law_1_r_law_4_a_copy_of_a_members_personal_data_over_http(world, client):
    a = world.a
    leaver = a.extra["leaver"]
    copy = client.post(f"/api/v1/members/{leaver}/subject-access", json={"verified": "签字申请表"}, headers=a.bearer("hr"))
    assert copy.status_code == 200, copy.text
    assert copy.json()["member"]["id"] == leaver and copy.json()["format"] == "offboard-subject-access/1"
    abroad = client.post(f"/api/v1/members/{leaver}/subject-access", json={"verified": "签字申请表", "destination": "us"}, headers=a.bearer("hr"))
    assert abroad.status_code == 403 and abroad.json()["error"] == "cross_border_basis_required"
    own = client.post(f"/api/v1/members/{a['member'].member_id}/subject-access", json={}, headers=a.bearer("member"))
    assert own.status_code == 200 and own.json()["member"]["userid"] == a["member"].userid


def test_spec_8_the_compliance_report_over_http_as_json_and_pdf_and_in_the_console(world, client):
    a = world.a
    leaver = a.extra["leaver"]
    assert client.post(f"/api/v1/members/{leaver}/compliance-report", headers=a.bearer("hr")).status_code == 403  # HR reads no audit trail
    answer = client.post(f"/api/v1/members/{leaver}/compliance-report", headers={**a.bearer("super"), "Accept-Language": "zh-CN"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["format"] == "offboard-compliance-report/1" and report["data"]["member_id"] == leaver
    assert report["unproven"] == 0 and report["events"] and all(e["proven"] for e in report["events"])
    assert "exit.started" in {e["action"] for e in report["events"]} and report["checkpoint"].startswith("offboard/")
    pdf = client.post(f"/api/v1/members/{leaver}/compliance-report.pdf", headers=a.bearer("super"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["cache-control"] == "no-store"
    assert client.post("/api/v1/members/999999/compliance-report", headers=a.bearer("super")).status_code == 404
