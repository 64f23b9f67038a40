"""The HR leave-date feed over the API (issue 13 item 2, R-EXIT-8, SPEC §6): POST /api/v1/departures
where exits start from the HR system, refused naming the mode elsewhere; each departure's outcome;
a scheduled exit moved with POST /api/v1/exits/{id}/reschedule; the limit of a request."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from offboard.actions.context import tenant_transaction
from offboard.actions.policy import set_policy
from offboard.domain.departures import MAX_LINES
from tests.support.db import audit_seq

ZH = {"Accept-Language": "zh-CN"}


def _day(world, days: int) -> str:
    return (world.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def _hr_sync(world) -> None:
    with tenant_transaction(world.services, world.a.slug) as uow:
        set_policy(uow, {"exit_automation": "hr_sync"})


def test_spec_6_the_feed_answers_409_naming_the_mode_where_exits_start_by_hand(world, client):
    before = audit_seq(world.services, world.a.slug)
    body = {"departures": [{"userid": "alpha-member", "leave_date": _day(world, 5)}]}
    response = client.post("/api/v1/departures", json=body, headers={**world.a.bearer("hr"), **ZH})
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "exit_trigger_disabled" and "手动发起" in response.json()["message"]
    assert audit_seq(world.services, world.a.slug) == before


def test_r_exit_8_departures_become_scheduled_exits_that_can_be_moved_and_the_same_request_changes_nothing(world, client):
    _hr_sync(world)
    headers = world.a.bearer("hr")
    day = _day(world, 5)
    body = {"departures": [{"userid": "alpha-member", "leave_date": day, "reason": "resigned", "reason_category": "辞职"}, {"userid": "ghost", "leave_date": day}]}
    refused = client.post("/api/v1/departures", json=body, headers=headers)
    assert refused.status_code == 200, refused.text
    report = refused.json()
    assert report["applied"] is False and report["counts"] == {"invalid": 1, "scheduled": 1}
    assert report["lines"][1]["issues"][0]["code"] == "member_not_found" and "ghost" in report["lines"][1]["issues"][0]["message"]
    accepted = client.post("/api/v1/departures", json={**body, "accept_valid": True}, headers=headers).json()
    line = accepted["lines"][0]
    assert accepted["applied"] is True and (line["outcome"], line["exit_state"], line["leave_date"]) == ("scheduled", "scheduled", day)
    exit_id = line["exit_id"]
    shown = client.get(f"/api/v1/exits/{exit_id}", headers=headers).json()
    assert (shown["trigger"], shown["reason_category"], shown["effective_at"][:10]) == ("feed", "resignation", day)

    listed = client.get("/api/v1/departures", headers=headers).json()
    assert [(d["userid"], d["leave_date"], d["exit_id"], d["exit_state"], d["current"]) for d in listed["items"]] == [("alpha-member", day, exit_id, "scheduled", True)]
    seq = audit_seq(world.services, world.a.slug)
    again = client.post("/api/v1/departures", json={**body, "accept_valid": True}, headers=headers).json()
    assert again["counts"] == {"invalid": 1, "unchanged": 1} and audit_seq(world.services, world.a.slug) == seq

    later = (world.clock.now() + timedelta(days=9)).isoformat()
    assert client.post(f"/api/v1/exits/{exit_id}/reschedule", json={"effective_at": later[:19]}, headers=headers).json()["error"] == "timezone_required"
    moved = client.post(f"/api/v1/exits/{exit_id}/reschedule", json={"effective_at": later}, headers=headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["state"] == "scheduled" and moved.json()["effective_at"] == later
    cancelled = client.post(f"/api/v1/exits/{exit_id}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    refused_move = client.post(f"/api/v1/exits/{exit_id}/reschedule", json={"effective_at": later}, headers={**headers, **ZH})
    assert refused_move.status_code == 409 and refused_move.json()["error"] == "exit_state_conflict"


def test_r_exit_8_a_request_holds_at_most_the_limit_and_says_so(world, client):
    _hr_sync(world)
    body = {"departures": [{"userid": f"someone{i}", "leave_date": _day(world, 5)} for i in range(MAX_LINES + 1)]}
    response = client.post("/api/v1/departures", json=body, headers=world.a.bearer("hr"))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "too_many_departures" and str(MAX_LINES) in response.json()["message"]


def test_spec_9_hostile_values_in_every_field_of_a_departure_never_answer_5xx(world, client):
    """The feed reaches its lines only where it is enabled, which the generated-input walks of
    tests/api/test_hostile_inputs.py (an enterprise that starts exits by hand) never see."""
    from tests.api.test_hostile_inputs import FIXED_DATES, MORE_DATES, core_texts, more_texts

    _hr_sync(world)
    headers = world.a.bearer("super")
    dates = [value for _name, value in FIXED_DATES + MORE_DATES] + ["2026-12-31", "20261231", "2026-W53-4", "2026-12-31T18:00+08:00"]
    # A lone surrogate is refused for the whole body at the HTTP edge (invalid_character): left out here.
    texts = [value for _name, value in core_texts(64) + more_texts(64) if not any("\ud800" <= ch <= "\udfff" for ch in value)]
    lines = [{"userid": "alpha-member", "leave_date": d} for d in dates]
    lines += [{"userid": t[:64] or "x", "leave_date": "2026-12-31"} for t in texts]
    for field in ("reason", "reason_category", "successor"):
        lines += [{"userid": "alpha-outsider", "leave_date": "2026-12-31", field: t[: 2000 if field == "reason" else 16 if field == "reason_category" else 64] or "x"} for t in texts]
    lines += [{"userid": "alpha-outsider", "leave_date": "2026-12-31", "acceptors": {t[:24] or "k": "alpha-admin"}} for t in texts[:8]]
    for chunk in range(0, len(lines), 200):
        response = client.post("/api/v1/departures", json={"departures": lines[chunk : chunk + 200], "accept_valid": True}, headers=headers)
        assert response.status_code == 200, response.text[:500]  # every line answered, none a 5xx
    exit_id = client.post("/api/v1/departures", json={"departures": [{"userid": "alpha-it", "leave_date": _day(world, 5)}]}, headers=headers).json()["lines"][0]["exit_id"]
    for value in dates:
        response = client.post(f"/api/v1/exits/{exit_id}/reschedule", json={"effective_at": value}, headers=headers)
        assert response.status_code < 500, (value, response.text[:300])
