"""Exit requests over HTTP (issue 13 item 3, SPEC §6 `approval_flow`): a member files one, their
manager and then HR approve it, and the exit is scheduled for the leave date; the refusals a
client meets, each with its code and a message in the reader's language; the tenant's flow.
Decided in Python: SQLite only (tests/integration/test_exit_requests.py covers both databases)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest


decided_in_python = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


def _day(world, days: int) -> str:
    """The enterprise's calendar day `days` from now (A keeps the default time zone)."""
    return (world.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def _approval_flow(world, client) -> None:
    patched = client.patch("/api/v1/policy", json={"exit_automation": "approval_flow"}, headers=world.a.bearer("super"))
    assert patched.status_code == 200, patched.text


@decided_in_python
def test_a_request_goes_from_the_manager_to_hr_and_the_last_approval_schedules_the_exit(world, client):
    a = world.a
    assert client.patch(f"/api/v1/members/{a['member'].member_id}", json={"manager": a["admin"].userid}, headers=a.bearer("super")).status_code == 200
    refused = client.post("/api/v1/me/exit-requests", json={"leave_date": _day(world, 10), "reason": "new job"}, headers={**a.bearer("member"), **ZH})
    assert refused.status_code == 409 and refused.json()["error"] == "exit_trigger_disabled" and "手动发起" in refused.json()["message"]
    _approval_flow(world, client)

    filed = client.post("/api/v1/me/exit-requests", json={"leave_date": _day(world, 10), "reason": "new job", "successor": a["outsider"].userid}, headers=a.bearer("member"))
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert (body["state"], [(s["kind"], s["approver_userid"], s["state"]) for s in body["steps"]]) == ("pending", [("manager", a["admin"].userid, "waiting"), ("hr", None, "upcoming")])
    waiting = client.get("/api/v1/exit-requests?waiting_for_me=true", headers=a.bearer("admin")).json()
    assert [r["id"] for r in waiting["items"]] == [body["id"]] and waiting["items"][0]["can_decide"] is True
    hr_waits = client.get("/api/v1/exit-requests?waiting_for_me=true", headers=a.bearer("hr")).json()["items"]
    assert [r["id"] for r in hr_waits] == [a.extra["exit_request"]]  # alpha-lab-hr's, filed with the world: HR's step is not reached
    assert client.get("/api/v1/me/inbox", headers=a.bearer("admin")).json()["approvals"][0]["id"] == body["id"]

    url = f"/api/v1/exit-requests/{body['id']}"
    not_yours = client.post(f"{url}/approve", json={}, headers={**a.bearer("hr"), **EN})
    assert not_yours.status_code == 403 and not_yours.json()["error"] == "not_your_step" and a["admin"].name in not_yours.json()["message"]
    assert client.get(url, headers=a.bearer("it")).json()["error"] == "exit_request_not_yours"
    step = client.post(f"{url}/approve", headers=a.bearer("admin"))  # no body: no comment
    assert step.status_code == 200 and step.json()["waiting"]["kind"] == "hr", step.text
    done = client.post(f"{url}/approve", json={"comment": "祝前程似锦"}, headers=a.bearer("hr"))
    assert done.status_code == 200, done.text
    exit_id = done.json()["exit_id"]
    shown = client.get(f"/api/v1/exits/{exit_id}", headers=a.bearer("hr")).json()
    assert (shown["state"], shown["type"], shown["trigger"]) == ("scheduled", "voluntary", "approval")
    assert shown["effective_at"] == done.json()["effective_at"] and done.json()["steps"][1]["comment"] == "祝前程似锦"
    again = client.post(f"{url}/reject", json={"comment": "too late"}, headers={**a.bearer("hr"), **EN})
    assert again.status_code == 409 and again.json()["error"] == "exit_request_closed" and "Approved" in again.json()["message"]
    everyone = client.get("/api/v1/exit-requests?state=approved", headers=a.bearer("hr")).json()
    assert [r["id"] for r in everyone["items"]] == [body["id"]]
    assert client.get("/api/v1/exit-requests?state=approved", headers=a.bearer("admin")).status_code == 200  # their own part: no scope asked


@decided_in_python
def test_refusals_name_what_to_do_and_nothing_answers_500(world, client):
    a = world.a
    _approval_flow(world, client)
    member = a.bearer("member")
    cases = [
        ({"leave_date": "2020-01-01", "reason": "x"}, 422, "leave_date_past"),
        ({"leave_date": _day(world, 400), "reason": "x"}, 422, "leave_date_too_late"),
        ({"leave_date": "31/12/2026", "reason": "x"}, 422, "invalid_date"),
        ({"leave_date": _day(world, 3), "reason": "x", "reason_category": "bored"}, 422, "invalid_choice"),
        ({"leave_date": _day(world, 3), "reason": "x", "successor": a["member"].userid}, 422, "successor_invalid"),
        ({"leave_date": _day(world, 3), "reason": "\u202e"}, 422, "invalid_character"),
        ({"leave_date": _day(world, 3), "reason": " "}, 422, "reason_required"),
    ]
    for body, status, code in cases:
        response = client.post("/api/v1/me/exit-requests", json=body, headers=member)
        assert (response.status_code, response.json().get("error")) == (status, code), (body, response.text)
    operator = client.post("/api/v1/me/exit-requests", json={"leave_date": _day(world, 3), "reason": "x"}, headers=world.operator(a.slug))
    assert operator.status_code == 422 and operator.json()["error"] == "member_required"
    filed = client.post("/api/v1/me/exit-requests", json={"leave_date": _day(world, 3), "reason": "x"}, headers=member).json()
    twice = client.post("/api/v1/me/exit-requests", json={"leave_date": _day(world, 4), "reason": "y"}, headers=member)
    assert twice.status_code == 409 and twice.json()["error"] == "exit_request_open"
    empty = client.post(f"/api/v1/exit-requests/{filed['id']}/reject", json={"comment": ""}, headers=a.bearer("hr"))
    assert empty.status_code == 422
    assert client.post(f"/api/v1/exit-requests/{filed['id']}/withdraw", headers=a.bearer("hr")).status_code == 403
    assert client.post(f"/api/v1/exit-requests/{filed['id']}/withdraw", headers=member).json()["state"] == "withdrawn"
    assert client.get("/api/v1/exit-requests/999999", headers=a.bearer("hr")).status_code == 404
    assert client.get("/api/v1/exit-requests?state=nonsense", headers=a.bearer("hr")).status_code == 422


@decided_in_python
def test_the_flow_is_read_by_the_directory_and_set_by_a_super_admin_with_old_and_new_audited(world, client):
    a = world.a
    default = client.get("/api/v1/exit-request-flow", headers=a.bearer("hr")).json()
    assert (default["configured"], [s["text"] for s in default["steps"]]) == (False, ["manager", "hr"])
    assert client.put("/api/v1/exit-request-flow", json={"steps": ["hr"]}, headers=a.bearer("hr")).status_code == 403
    bad = client.put("/api/v1/exit-request-flow", json={"steps": ["manager", "boss"]}, headers={**a.bearer("super"), **EN})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_flow_step" and "member:USERID" in bad.json()["message"]
    saved = client.put("/api/v1/exit-request-flow", json={"steps": ["department_leader", f"member:{a['admin'].userid}", "hr"]}, headers=a.bearer("super"))
    assert saved.status_code == 200 and [s["text"] for s in saved.json()["steps"]] == ["department_leader", f"member:{a['admin'].userid}", "hr"]
    (event,) = client.get("/api/v1/audit?action=exit_request.flow_changed", headers=a.bearer("super")).json()["items"]
    assert event["details"]["before"] == ["manager", "hr"] and event["details"]["after"][1] == f"member:{a['admin'].userid}"
