"""GET /api/v1/audit for people (issue 9 item 7): filters by actor, action, member and date in
the enterprise's time zone; the stored fields kept, names and a sentence added in the request's
language; clear refusals of a bad filter. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from offboard.store.tables import members
from tests.api.conftest import ids_only_in

STORED = {"seq", "at", "actor", "action", "targets", "details", "hash"}


def audit(client, world, **params):
    headers = {**world.a.bearer("super"), "Accept-Language": params.pop("locale", "en")}
    return client.get("/api/v1/audit", params={"limit": 500, **params}, headers=headers)


def test_issue_9_events_about_a_member_keep_their_fields_and_add_names_and_a_sentence(world, client):
    leaver = world.a.extra["leaver"]
    everything = audit(client, world).json()["items"]
    about = audit(client, world, member=leaver)
    assert about.status_code == 200
    items = about.json()["items"]
    assert [e["seq"] for e in items] == [e["seq"] for e in everything if f"member:{leaver}" in e["targets"]]
    started = next(e for e in items if e["action"] == "exit.started")
    assert STORED <= set(started) and started["actor"] == "operator"
    assert started["sentence"] == "The operator started the exit of Alpha Leaver"
    assert started["actor_party"]["name"] == "The operator"
    leaver_party = next(p for p in started["target_parties"] if p["kind"] == "member")
    assert leaver_party == {"ref": f"member:{leaver}", "kind": "member", "name": "Alpha Leaver", "member_id": leaver, "person": "Alpha Leaver", "userid": "alpha-leaver", "department": "Alpha Lab"}
    exit_party = next(p for p in started["target_parties"] if p["kind"] == "exit")
    assert exit_party["name"] == "the exit of Alpha Leaver" and exit_party["member_id"] == leaver
    zh = next(e for e in audit(client, world, member=leaver, locale="zh-CN").json()["items"] if e["action"] == "exit.started")
    assert zh["sentence"] == "运维人员 办理了 Alpha Leaver 的离职" and zh["at"] == started["at"]
    shanghai = datetime.fromisoformat(started["at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert started["at_local"] == shanghai.strftime("%Y-%m-%d %H:%M:%S") != started["at"][:19].replace("T", " ")
    assert about.json()["timezone"] == "Asia/Shanghai"


def test_issue_9_events_by_an_actor_and_of_an_action_or_a_prefix(world, client):
    super_ = world.a["super"]
    by = audit(client, world, actor=super_.member_id).json()["items"]
    assert by and {e["actor"] for e in by} == {f"member:{super_.member_id}"}
    token = next(e for e in by if e["action"] == "token.created")
    assert token["sentence"] == 'Alpha Super created API token "super personal"'
    exits_ = audit(client, world, action="exit.").json()["items"]
    assert exits_ and all(e["action"].startswith("exit.") for e in exits_)
    assert {"exit.started", "exit.took_effect", "exit.resources_moved"} <= {e["action"] for e in exits_}
    assert {e["action"] for e in audit(client, world, action="exit.started").json()["items"]} == {"exit.started"}
    both = audit(client, world, actor=super_.member_id, action="token.").json()["items"]
    assert [e["seq"] for e in both] == [e["seq"] for e in by if e["action"].startswith("token.")]


def test_issue_9_dates_are_days_in_the_enterprise_time_zone_and_pages_keep_the_filter(world, client):
    today = world.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    everything = audit(client, world).json()["items"]
    assert len(audit(client, world, **{"from": today.isoformat(), "to": today.isoformat()}).json()["items"]) == len(everything)
    assert audit(client, world, to=(today - timedelta(days=1)).isoformat()).json()["items"] == []
    assert audit(client, world, **{"from": (today + timedelta(days=1)).isoformat()}).json()["items"] == []
    first = audit(client, world, action="member.", limit=3).json()
    second = audit(client, world, action="member.", limit=3, before=first["next_before"]).json()
    expected = [e["seq"] for e in everything if e["action"].startswith("member.")][:6]
    assert [e["seq"] for e in first["items"] + second["items"]] == expected


def test_issue_9_a_bad_filter_is_refused_with_a_code_and_words(world, client):
    for params, code in (
        ({"from": "2026-02-30"}, "invalid_date"),
        ({"to": "yesterday"}, "invalid_date"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "invalid_date_range"),
        ({"member": 2**62}, "unknown_member"),
        ({"actor": 2**62}, "unknown_member"),
    ):
        refused = audit(client, world, **params)
        assert refused.status_code == 422 and refused.json()["error"] == code, (params, refused.text)
    assert "must be a date like 2026-05-31" in audit(client, world, **{"from": "2026-02-30"}).json()["message"]
    assert "日期" in audit(client, world, to="yesterday", locale="zh-CN").json()["message"]
    for other in ids_only_in(world.services, members, world.b.id, world.a.id)[:3]:  # a member of B is no member of A (INV-8)
        assert audit(client, world, member=other).json()["error"] == "unknown_member"
