"""The rollback plan over HTTP (R-EXC-1): shown by GET with nothing changed, applied by POST with
the plan's digest and the applier's code; a stale plan, a wrong code, a reader who is not a super
admin and a member of another enterprise are refused; on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.support.db import audit_seq

ZH = {"Accept-Language": "zh-CN"}


def _roles(client, world, member_id: int) -> set[str]:
    detail = client.get(f"/api/v1/members/{member_id}", headers=world.a.bearer("super"))
    assert detail.status_code == 200, detail.text
    return {r["role"] for r in detail.json()["roles"]}


def test_r_exc_1_the_plan_is_shown_then_applied_with_its_digest_and_the_code(world, client):
    a, clock = world.a, world.clock
    clock.advance(minutes=10)
    since = clock.now().isoformat()
    clock.advance(minutes=1)
    outsider, superuser = a["outsider"], a["super"]
    granted = client.post(f"/api/v1/members/{outsider.member_id}/roles", json={"role": "hr"}, headers=a.bearer("super"))
    assert granted.status_code == 201, granted.text

    before = audit_seq(world.services, a.slug)
    shown = client.get(f"/api/v1/members/{superuser.member_id}/rollback", params={"since": since}, headers={**a.bearer("super"), **ZH})
    assert shown.status_code == 200, shown.text
    plan = shown.json()
    assert plan["to_undo"] == 1 and plan["userid"] == superuser.userid
    [item] = plan["items"]
    assert (item["subject"], item["verdict"], item["key"]) == ("role", "undo", [str(outsider.member_id), "hr"])
    assert item["undo"] == f"移除 {outsider.name} 的 HR 角色"
    assert audit_seq(world.services, a.slug) == before  # looking changes nothing

    clock.advance(seconds=31)
    stale = client.post(f"/api/v1/members/{superuser.member_id}/rollback", json={"since": since, "totp": superuser.code(clock), "plan": "0" * 16}, headers=a.bearer("super"))
    assert stale.status_code == 409 and stale.json()["error"] == "rollback_plan_changed"
    wrong = client.post(f"/api/v1/members/{superuser.member_id}/rollback", json={"since": since, "totp": "000000", "plan": plan["digest"]}, headers=a.bearer("super"))
    assert wrong.status_code == 401
    assert _roles(client, world, outsider.member_id) == {"hr"}

    applied = client.post(f"/api/v1/members/{superuser.member_id}/rollback", json={"since": since, "totp": superuser.code(clock), "plan": plan["digest"]}, headers=a.bearer("super"))
    assert applied.status_code == 200, applied.text
    assert applied.json()["undone"] == 1
    assert _roles(client, world, outsider.member_id) == set()
    events = client.get("/api/v1/audit", params={"action": "rollback.applied"}, headers=a.bearer("super"))
    assert events.status_code == 200 and len(events.json()["items"]) == 1


def test_r_exc_1_refusals_over_http(world, client):
    a, b = world.a, world.b
    world.clock.advance(minutes=1)
    since = world.clock.now().isoformat()
    superuser = a["super"]
    assert client.get(f"/api/v1/members/{superuser.member_id}/rollback", params={"since": since}, headers=a.bearer("hr")).status_code == 403
    bad = client.get(f"/api/v1/members/{superuser.member_id}/rollback", params={"since": "not a time!"}, headers=a.bearer("super"))
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_since"
    future = client.get(f"/api/v1/members/{superuser.member_id}/rollback", params={"since": "2999-01-01"}, headers=a.bearer("super"))
    assert future.status_code == 422 and future.json()["error"] == "since_in_future"
    assert client.get(f"/api/v1/members/{2**62}/rollback", params={"since": since}, headers=a.bearer("super")).status_code == 404
    # B's super admin reads no plan of A's members through B's token.
    assert client.get(f"/api/v1/members/{superuser.member_id}/rollback", params={"since": since}, headers=b.bearer("hr")).status_code in (403, 404)
    empty = client.get(f"/api/v1/members/{superuser.member_id}/rollback", params={"since": since}, headers=a.bearer("super")).json()
    assert empty["items"] == []
    nothing = client.post(f"/api/v1/members/{superuser.member_id}/rollback", json={"since": since, "totp": superuser.code(world.clock), "plan": empty["digest"]}, headers=a.bearer("super"))
    assert nothing.status_code == 409 and nothing.json()["error"] == "nothing_to_roll_back"
    malformed = client.post(f"/api/v1/members/{superuser.member_id}/rollback", json={"since": since, "totp": "12ab", "plan": "x"}, headers=a.bearer("super"))
    assert malformed.status_code == 422
