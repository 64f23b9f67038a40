"""Power changing hands over HTTP (R-ADM-1..3, R-EXC-1): the handover in the three platforms'
modes with each party's own code, the acceptance link the console's QR code carries, the
emergency window's revert, unfreezing, and the backup super admin; refusals are 4xx with codes
and change nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from tests.support.db import audit_seq


def _code(world, key: str) -> str:
    world.clock.advance(seconds=31)  # a code is accepted once: a fresh 30 s step
    return world.a[key].code(world.clock)


def _policy(client, world, **settings) -> None:
    response = client.patch("/api/v1/policy", json=settings, headers=world.a.bearer("super"))
    assert response.status_code == 200, response.text


def test_r_adm_1_r_adm_2_wecom_start_accept_through_the_link_then_revert_inside_the_window(world, client):
    a = world.a
    assert client.get("/api/v1/handovers/current", headers=a.bearer("super")).json()["error"] == "no_handover"
    _policy(client, world, admin_handover="dual_verification")
    started = client.post("/api/v1/handovers", json={"to": a["admin"].userid, "totp": _code(world, "super")}, headers=a.bearer("super"))
    assert started.status_code == 201, started.text
    view = started.json()
    assert view["state"] == "pending" and view["link"] and view["accept_url"] == f"http://testserver/handover/accept/{view['link']}"
    pending = client.get("/api/v1/handovers/current", headers=a.bearer("admin")).json()  # the nominee reads it, never the secret
    assert pending["state"] == "pending" and pending["link"] is None and "accept_url" not in pending
    again = client.post("/api/v1/handovers", json={"to": a["hr"].userid, "totp": _code(world, "super")}, headers=a.bearer("super"))
    assert again.status_code == 409 and again.json()["error"] == "handover_pending"

    before = audit_seq(world.services, a.slug)
    wrong = client.post("/api/v1/handovers/accept", json={"totp": "000000", "link": view["link"]}, headers=a.bearer("admin"))
    assert wrong.status_code == 401
    not_yours = client.post("/api/v1/handovers/accept", json={"totp": _code(world, "hr")}, headers=a.bearer("hr"))
    assert not_yours.status_code == 404 and not_yours.json()["error"] == "no_handover_for_you"
    assert client.get("/api/v1/handovers/current", headers=a.bearer("super")).json()["state"] == "pending"
    assert audit_seq(world.services, a.slug) > before  # the wrong code is recorded, nothing moved

    accepted = client.post("/api/v1/handovers/accept", json={"totp": _code(world, "admin"), "link": view["link"]}, headers=a.bearer("admin"))
    assert accepted.status_code == 200, accepted.text
    done = accepted.json()
    assert done["state"] == "completed" and done["window_until"] and done["link"] is None
    current = client.get("/api/v1/handovers/current", headers=a.bearer("admin")).json()
    assert current["state"] == "completed" and current["link"] is None
    old = client.get(f"/api/v1/members/{a['super'].member_id}", headers=a.bearer("admin")).json()
    until = datetime.fromisoformat(done["window_until"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(old["emergency_until"]) == until  # the member says until when they keep emergency powers
    assert client.get(f"/api/v1/members/{a['admin'].member_id}", headers=a.bearer("admin")).json()["emergency_until"] is None

    reverted = client.post("/api/v1/handovers/revert", json={"totp": _code(world, "super")}, headers=a.bearer("super"))
    assert reverted.status_code == 200 and reverted.json()["state"] == "reverted", reverted.text


def test_r_adm_1_dingtalk_moves_power_at_once_and_feishu_escrow_goes_through_a_custodian(world, client):
    a = world.a
    _policy(client, world, admin_handover="escrow")
    escrow = client.post("/api/v1/handovers", json={"to": a["admin"].userid, "custodian": a["it"].userid, "totp": _code(world, "super")}, headers=a.bearer("super"))
    assert escrow.status_code == 201, escrow.text
    assert escrow.json()["custodian_userid"] == a["it"].userid and escrow.json()["state"] == "pending"
    cancelled = client.post("/api/v1/handovers/cancel", json={"totp": _code(world, "super")}, headers=a.bearer("super"))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled", cancelled.text

    _policy(client, world, admin_handover="immediate")
    at_once = client.post("/api/v1/handovers", json={"to": a["hr"].userid, "totp": _code(world, "super")}, headers=a.bearer("super"))
    assert at_once.status_code == 201, at_once.text
    assert at_once.json()["state"] == "completed" and at_once.json()["accept_url"] is None and at_once.json()["window_until"] is None
    no_window = client.post("/api/v1/handovers/revert", json={"totp": _code(world, "super")}, headers=a.bearer("super"))
    assert no_window.status_code == 409 and no_window.json()["error"] == "no_emergency_window"
    roles = {r["role"]: r.get("rank") for r in client.get(f"/api/v1/members/{a['hr'].member_id}", headers=a.bearer("hr")).json()["roles"]}
    assert roles.get("super_admin") == "primary"


def test_r_exc_1_unfreeze_with_the_code_and_r_adm_3_the_backup_super_admin_set_replaced_removed(world, client):
    a = world.a
    frozen = client.post(f"/api/v1/members/{a['member'].member_id}/freeze", json={"reason": "phone lost"}, headers=a.bearer("super"))
    assert frozen.status_code == 200, frozen.text
    wrong = client.post(f"/api/v1/members/{a['member'].member_id}/unfreeze", json={"totp": "000000"}, headers=a.bearer("super"))
    assert wrong.status_code == 401
    back = client.post(f"/api/v1/members/{a['member'].member_id}/unfreeze", json={"totp": _code(world, "super")}, headers=a.bearer("super"))
    assert back.status_code == 200 and back.json() == {"member_id": a["member"].member_id, "userid": a["member"].userid, "status": "active"}
    not_frozen = client.post(f"/api/v1/members/{a['member'].member_id}/unfreeze", json={"totp": _code(world, "super")}, headers=a.bearer("super"))
    assert not_frozen.status_code == 409 and not_frozen.json()["error"] == "member_not_frozen"

    assert client.delete("/api/v1/backup-admin", headers=a.bearer("super")).json()["error"] == "no_backup_admin"
    named = client.put("/api/v1/backup-admin", json={"member": a["admin"].userid}, headers=a.bearer("super"))
    assert named.status_code == 200 and named.json() == {"userid": a["admin"].userid, "replaced": None}, named.text
    replaced = client.put("/api/v1/backup-admin", json={"member": a["hr"].userid}, headers=a.bearer("super"))
    assert replaced.json() == {"userid": a["hr"].userid, "replaced": a["admin"].userid}
    removed = client.delete("/api/v1/backup-admin", headers=a.bearer("super"))
    assert removed.status_code == 200 and removed.json() == {"userid": a["hr"].userid}
    assert client.put("/api/v1/backup-admin", json={"member": "nobody-here"}, headers=a.bearer("super")).status_code == 404


def test_r_adm_1_only_a_super_admin_hands_power_over_and_bodies_are_checked(world, client):
    a = world.a
    before = audit_seq(world.services, a.slug)
    refused = client.post("/api/v1/handovers", json={"to": a["member"].userid, "totp": _code(world, "hr")}, headers=a.bearer("hr"))
    assert refused.status_code == 403
    assert client.put("/api/v1/backup-admin", json={"member": a["member"].userid}, headers=a.bearer("hr")).status_code == 403
    assert client.post("/api/v1/handovers", json={"to": a["member"].userid, "totp": "12345"}, headers=a.bearer("super")).status_code == 422
    assert client.post("/api/v1/handovers/accept", json={"totp": "123456", "link": "not a link!"}, headers=a.bearer("member")).status_code == 422
    assert audit_seq(world.services, a.slug) == before


def test_r_adm_1_a_wrong_code_starts_nothing_and_a_service_token_is_no_person(world, client):
    a = world.a
    wrong = client.post("/api/v1/handovers", json={"to": a["admin"].userid, "totp": "000000"}, headers=a.bearer("super"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad_totp"
    current = client.get("/api/v1/handovers/current", headers=a.bearer("super"))
    assert current.status_code == 404 and current.json()["error"] == "no_handover" and current.json()["message"]
    service = {"Authorization": f"Bearer {a.service_token}"}
    by_service = client.post("/api/v1/handovers", json={"to": a["admin"].userid, "totp": _code(world, "super")}, headers=service)
    assert by_service.status_code == 403 and by_service.json()["error"] == "person_required"
    assert client.get("/api/v1/handovers/current", headers=a.bearer("super")).status_code == 404


def test_r_adm_1_r_exc_1_members_who_are_not_super_admins_get_403(world, client):
    a = world.a
    member = a.bearer("member")
    assert client.get("/api/v1/handovers/current", headers=member).status_code == 403
    assert client.delete("/api/v1/backup-admin", headers=a.bearer("hr")).status_code == 403
    frozen = client.post(f"/api/v1/members/{a['outsider'].member_id}/freeze", json={"reason": "laptop stolen"}, headers=a.bearer("super"))
    assert frozen.status_code == 200, frozen.text
    refused = client.post(f"/api/v1/members/{a['outsider'].member_id}/unfreeze", json={"totp": _code(world, "member")}, headers=member)
    assert refused.status_code == 403
    started = client.post("/api/v1/handovers", json={"to": a["admin"].userid, "totp": _code(world, "super")}, headers=a.bearer("super"))
    assert started.status_code == 201, started.text
    assert client.get("/api/v1/handovers/current", headers=member).status_code == 403  # not a party
    seen = client.get("/api/v1/handovers/current", headers=a.bearer("admin"))
    assert seen.status_code == 200 and seen.json()["to_userid"] == a["admin"].userid and seen.json()["link"] is None
    assert client.post("/api/v1/handovers/cancel", json={"totp": _code(world, "admin")}, headers=a.bearer("admin")).json()["error"] == "no_pending_handover"


def test_r_adm_3_inv_1_the_backup_named_by_id_is_never_removed_as_the_last_super_admin(world, client):
    a = world.a
    named = client.put("/api/v1/backup-admin", json={"member": a["admin"].member_id}, headers=a.bearer("super"))
    assert named.status_code == 200 and named.json() == {"userid": a["admin"].userid, "replaced": None}, named.text
    again = client.put("/api/v1/backup-admin", json={"member": a["admin"].userid}, headers=a.bearer("super"))
    assert again.status_code == 409 and again.json()["error"] == "already_backup"
    stepped_down = client.delete(f"/api/v1/members/{a['super'].member_id}/roles/super_admin", headers=a.bearer("super"))
    assert stepped_down.status_code == 204, stepped_down.text
    before = audit_seq(world.services, a.slug)
    last = client.delete("/api/v1/backup-admin", headers=a.bearer("admin"))
    assert last.status_code == 409 and last.json()["error"] == "last_super_admin", last.text
    assert audit_seq(world.services, a.slug) == before
    roles = {r["role"]: r.get("rank") for r in client.get(f"/api/v1/members/{a['admin'].member_id}", headers=a.bearer("admin")).json()["roles"]}
    assert roles.get("super_admin") == "backup"
