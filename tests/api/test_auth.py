"""Authentication over HTTP: INV-7 (a revoked session or token is rejected on its next use),
R-EXIT-1 (access cut is immediate), the second factor with replay detection and clock drift,
sign-in throttling (ASVS 4.0.3 §2.2.1) and CSRF.

Time is the FakeClock's: TOTP codes are computed with pyotp for the fake time, throttle
waits are crossed by advancing it. No assertion depends on real time.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from offboard.actions import auth
from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_transaction
from offboard.crypto import signing
from offboard.store.tables import members, tenants
from tests.api.conftest import World, csrf_of, path_params, routes, sign_in, start_login, submit_totp
from tests.support.db import actions_since, audit_seq, snapshot

BAD_TOTP = "That code is wrong, expired or already used; enter the current 6-digit code."

# Checks made in the HTTP layer (forms, headers, redirects) run on SQLite only; whatever
# reads or writes time-dependent rows (tokens, sessions, throttling, TOTP steps) runs on both.
http_layer_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _me(client, headers=None):
    return client.get("/api/v1/me", headers=headers or {})


def _session_token(world: World, client) -> str:
    return signing.unsign(world.app.state.cookie_key, "session", client.cookies["ob_session"])


# --- INV-7 / R-EXIT-1: revoked credentials fail on their next use --------------------------------------


def test_inv_7_revoked_personal_token_is_rejected_on_its_next_use(world, client):
    hr = world.a["hr"]
    assert _me(client, world.a.bearer("hr")).status_code == 200
    revoked = client.delete(f"/api/v1/tokens/{hr.token_id}", headers=world.a.bearer("hr"))
    assert revoked.status_code == 204, revoked.text
    again = _me(client, world.a.bearer("hr"))
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"

    # Revoked by a super admin, from another credential: the same.
    member = world.a["member"]
    assert _me(client, world.a.bearer("member")).status_code == 200
    assert client.delete(f"/api/v1/tokens/{member.token_id}", headers=world.a.bearer("super")).status_code == 204
    rejected = client.get("/api/v1/tokens", headers=world.a.bearer("member"))
    assert rejected.status_code == 401 and rejected.json()["error"] == "invalid_token"


def test_inv_7_expired_token_is_rejected(world, client):
    with tenant_transaction(world.services, world.a.slug, by=world.a["it"].userid) as uow:
        token = token_actions.create_token(uow, name="short", service=False, scopes=["read_directory"], expires_days=1).token
    headers = {"Authorization": f"Bearer {token}"}
    world.clock.advance(days=1, seconds=-1)
    assert _me(client, headers).status_code == 200
    world.clock.advance(seconds=1)
    expired = _me(client, headers)
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"


def test_inv_7_session_is_rejected_after_logout(world, client):
    csrf = sign_in(client, world, world.a, "member")
    assert _me(client).json()["userid"] == "alpha-member"
    cookie = client.cookies["ob_session"]
    out = client.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert _me(client).status_code == 401
    # The browser dropped the cookie; a copy kept by someone else is dead on the server too.
    client.cookies.set("ob_session", cookie)
    replayed = _me(client)
    assert replayed.status_code == 401 and replayed.json()["error"] == "session_expired"
    assert client.get("/").headers["location"].startswith("/login")


def test_inv_7_session_expires_after_its_lifetime(world, client):
    sign_in(client, world, world.a, "member")
    world.clock.advance(hours=11, minutes=59)
    assert _me(client).status_code == 200
    world.clock.advance(minutes=1)
    expired = _me(client)
    assert expired.status_code == 401 and expired.json()["error"] == "session_expired"


def test_inv_7_member_set_to_exited_loses_session_and_token_at_once(world, client):
    """R-EXIT-1: whatever made the member exited, nothing of theirs authenticates any more."""
    sign_in(client, world, world.a, "member")
    person = world.a["member"]
    assert _me(client).status_code == 200 and _me(client, world.a.bearer("member")).status_code == 200
    with world.services.db.write() as conn:
        conn.execute(update(members).where(members.c.tenant_id == world.a.id, members.c.id == person.member_id).values(status="exited"))
    session = _me(client)
    assert session.status_code == 401 and session.json()["error"] == "session_expired"
    token = _me(client, world.a.bearer("member"))
    assert token.status_code == 401 and token.json()["error"] == "invalid_token"
    assert client.get("/").headers["location"].startswith("/login")
    # Nor can they sign in again.
    with world.client("10.1.0.1") as fresh:
        assert start_login(fresh, world.a, person).status_code == 401


# --- the second factor -------------------------------------------------------------------------------


@http_layer_only
def test_r_adm_1_members_with_a_role_must_pass_totp(world):
    for i, key in enumerate(("super", "admin", "hr", "it")):
        person = world.a[key]
        with world.client(f"10.0.1.{i}") as client:
            response = start_login(client, world.a, person)
            assert response.status_code == 303 and response.headers["location"].startswith("/login/totp"), key
            pending = _me(client)
            assert pending.status_code == 401 and pending.json()["error"] == "second_factor_required", key
            assert client.get("/").headers["location"].startswith("/login/totp"), key
            # A password-stage session cannot write either.
            blocked = client.post("/api/v1/departments", json={"name": "Nope"}, headers={"X-CSRF-Token": csrf_of(client)})
            assert blocked.status_code == 401 and blocked.json()["error"] == "second_factor_required", key
            done = submit_totp(client, person.code(world.clock))
            assert done.status_code == 303, key
            assert _me(client).json()["userid"] == person.userid


@http_layer_only
def test_r_adm_1_a_plain_member_signs_in_with_the_password_alone(world, client):
    response = start_login(client, world.a, world.a["member"])
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert _me(client).json()["userid"] == "alpha-member"
    assert "ob_device" in client.cookies


def test_r_adm_1_totp_code_is_accepted_once_and_a_replay_is_rejected_and_audited(world):
    hr = world.a["hr"]
    code = hr.code(world.clock)
    with world.client("10.2.0.1") as first:
        start_login(first, world.a, hr)
        assert submit_totp(first, code).status_code == 303
        assert _me(first).status_code == 200
    with world.client("10.2.0.2") as second:
        start_login(second, world.a, hr)
        seq = audit_seq(world.services, world.a.slug)
        replay = submit_totp(second, code)
        assert replay.status_code == 401
        assert BAD_TOTP in replay.text
        assert actions_since(world.services, world.a.slug, seq) == ["auth.totp_replayed"]
        assert _me(second).json()["error"] == "second_factor_required"
        # The action behind the form names the error bad_totp.
        with pytest.raises(auth.Unauthorized) as raised:
            auth.verify_second_factor(world.services, _session_token(world, second), code, client="10.2.0.2")
        assert raised.value.code == "bad_totp"
        # The next step's code is new, so it is accepted.
        world.clock.advance(seconds=30)
        assert submit_totp(second, hr.code(world.clock)).status_code == 303
        assert _me(second).status_code == 200


def test_r_adm_1_totp_accepts_one_step_of_drift_each_way_and_no_more(world):
    it = world.a["it"]
    with world.client("10.3.0.1") as first:
        start_login(first, world.a, it)
        seq = audit_seq(world.services, world.a.slug)
        for steps in (-2, 2):
            refused = submit_totp(first, it.code(world.clock, steps))
            assert refused.status_code == 401, f"a code {steps} steps away was accepted"
        assert actions_since(world.services, world.a.slug, seq) == ["auth.totp_failed", "auth.totp_failed"]
        assert submit_totp(first, it.code(world.clock, -1)).status_code == 303
        assert _me(first).status_code == 200
    with world.client("10.3.0.2") as second:
        start_login(second, world.a, it)
        assert submit_totp(second, it.code(world.clock, +1)).status_code == 303
        assert _me(second).status_code == 200
    with world.client("10.3.0.3") as third:
        # The current step is older than the one just used: that is a replay.
        start_login(third, world.a, it)
        seq = audit_seq(world.services, world.a.slug)
        assert submit_totp(third, it.code(world.clock)).status_code == 401
        assert actions_since(world.services, world.a.slug, seq) == ["auth.totp_replayed"]


# --- throttling (ASVS 4.0.3 §2.2.1) -------------------------------------------------------------------


def test_asvs_2_2_1_after_five_failures_an_account_waits_with_retry_after(world):
    person = world.a["member"]
    with world.client("10.4.0.1") as c:
        for _ in range(5):
            assert start_login(c, world.a, person, password="wrong password").status_code == 401
        throttled = start_login(c, world.a, person)  # even the right password waits
        assert throttled.status_code == 429
        wait = int(throttled.headers["Retry-After"])
        assert wait >= 1
        world.clock.advance(seconds=wait)
        assert start_login(c, world.a, person, password="wrong password").status_code == 401
        longer = start_login(c, world.a, person)
        assert longer.status_code == 429 and int(longer.headers["Retry-After"]) > wait  # the delay grows
        world.clock.advance(seconds=int(longer.headers["Retry-After"]))
        assert start_login(c, world.a, person).status_code == 303
        assert _me(c).json()["userid"] == person.userid


def test_asvs_2_2_1_after_100_failures_the_account_locks_except_for_a_known_device(world, monkeypatch):
    person = world.a["member"]
    with world.client("10.5.0.1") as device:
        assert start_login(device, world.a, person).status_code == 303
        assert "ob_device" in device.cookies
        device.post("/logout", data={"csrf": csrf_of(device)})
        # 100 consecutive failures, spaced beyond every delay and from changing addresses (an
        # attacker's botnet). Argon2 is not what is tested here, so a wrong password fails fast.
        with monkeypatch.context() as m:
            m.setattr(auth, "verify_password", lambda stored, password: False)
            for i in range(auth.HARD_STOP):
                world.clock.advance(minutes=16)
                with pytest.raises(auth.Unauthorized):
                    auth.sign_in(world.services, world.a.slug, person.userid, "guess", client=f"10.6.{i}.1")
        with world.client("10.5.0.2") as stranger:
            locked = start_login(stranger, world.a, person)
            assert locked.status_code == 423
            assert "locked" in locked.text
            assert "ob_session" not in stranger.cookies
        # The owner's browser still gets in: the attacker cannot lock the owner out.
        back = start_login(device, world.a, person)
        assert back.status_code == 303, back.text
        assert _me(device).json()["userid"] == person.userid


def test_asvs_2_2_1_fifty_failures_from_one_address_throttle_that_address(world):
    person = world.a["member"]
    with world.client("10.7.0.1") as noisy:
        noisy.get("/login")
        for i in range(auth.IP_LIMIT):
            r = noisy.post("/login", data={"tenant": world.a.slug, "userid": f"guess-{i}", "password": "x", "pre": noisy.cookies["ob_pre"]})
            assert r.status_code == 401
        blocked = start_login(noisy, world.a, person)
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    with world.client("10.7.0.2") as other:
        assert start_login(other, world.a, person).status_code == 303


# --- CSRF -------------------------------------------------------------------------------------------------


@http_layer_only
def test_csrf_console_session_writes_need_the_csrf_header(world, client):
    csrf = sign_in(client, world, world.a, "super")
    body = {"name": "Via Console"}
    seq = audit_seq(world.services, world.a.slug)
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": csrf[:-1]}):
        refused = client.post("/api/v1/departments", json=body, headers=headers)
        assert refused.status_code == 403 and refused.json()["error"] == "csrf_failed", headers
    cross = client.post("/api/v1/departments", json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.json()["error"] == "cross_site_request"
    referer = client.post("/api/v1/departments", json=body, headers={"X-CSRF-Token": csrf, "Referer": "https://evil.example/page"})
    assert referer.status_code == 403 and referer.json()["error"] == "cross_site_request"
    assert audit_seq(world.services, world.a.slug) == seq
    same_site = client.post("/api/v1/departments", json=body, headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"})
    assert same_site.status_code == 201, same_site.text


@http_layer_only
def test_csrf_sign_in_form_needs_the_pre_session_token(world):
    person = world.a["member"]
    form = {"tenant": world.a.slug, "userid": person.userid, "password": person.password}
    seq = audit_seq(world.services, world.a.slug)
    with world.client("10.8.0.1") as c:
        assert c.post("/login", data={**form, "pre": "guessed"}).status_code == 403  # no ob_pre cookie
        c.get("/login")
        assert c.post("/login", data={**form, "pre": "guessed"}).status_code == 403  # cookie and field differ
        assert c.post("/login", data=form).status_code in (403, 422)  # no field at all
        cross = c.post("/login", data={**form, "pre": c.cookies["ob_pre"]}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        assert "ob_session" not in c.cookies
    assert audit_seq(world.services, world.a.slug) == seq  # refused before any sign-in attempt


@http_layer_only
def test_csrf_totp_and_logout_forms_need_the_session_csrf_token(world, client):
    hr = world.a["hr"]
    start_login(client, world.a, hr)
    assert client.post("/login/totp", data={"code": hr.code(world.clock), "csrf": "forged"}).status_code == 403
    assert _me(client).json()["error"] == "second_factor_required"
    assert submit_totp(client, hr.code(world.clock)).status_code == 303
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert _me(client).status_code == 200  # still signed in


# --- GET changes nothing -------------------------------------------------------------------------------

SIGN_IN_PATHS = ("/login", "/login/totp")


def _heads(world: World) -> list[tuple]:
    with world.services.db.read() as conn:
        return [tuple(h) for h in conn.execute(select(tenants.c.slug, tenants.c.audit_seq, tenants.c.audit_head).order_by(tenants.c.slug))]


# An export is a read the law wants on record (R-DATA-4, issue 9: every export is an audited
# event): the GET that downloads it changes no data but appends `exit.exported` to the trail.
AUDITED_READS = {
    "/api/v1/exits/{exit_id}/export/{what}.{fmt}",
    "/exits/{exit_id}/export/{what}.{fmt}",
    "/exits/{exit_id}/handover-sheet.pdf",
    "/api/v1/approvals/export",
    "/members/{member_id}/compliance-report",
}
EXPORT_EVENTS = {"exit.exported", "approvals.exported", "report.exported"}  # R-DATA-3: the approval records download writes its own; the compliance report page is read on record


def test_spec_9_get_requests_change_nothing(world, client):
    """Safe methods are safe: no GET route adds or removes rows or writes the audit chain, but
    for the audited reads, which write only their own `exit.exported` events."""
    sign_in(client, world, world.a, "super")
    values = {
        "what": "ledger",
        "fmt": "csv",
        "member_id": world.a["member"].member_id,
        "department_id": world.a.sales,
        "token_id": world.a["member"].token_id,
        "role": "hr",
        "exit_id": world.a.extra["exit"],
        "item": "access_revoked",
        "correlation_id": world.a.extra["correlation_id"],
        "job_id": world.a.extra["job"],
        "request_id": world.a.extra["erasure"],
        "link": "A" * 32,  # well formed, so the page looks it up: no handover has it
        "path": "Users",  # SCIM (/scim/v2/{path}): a read of the users, refused without the SCIM token
        "webhook_id": world.a.extra["webhook"],
        "exit_request_id": world.a.extra["exit_request"],
    }
    before = snapshot(world.services)
    before_seq = audit_seq(world.services, world.a.slug)
    checked = []
    for method, path, route in routes(world.app):
        if method != "GET" or path in SIGN_IN_PATHS:
            continue
        params = path_params(route)
        assert params <= set(values), f"GET {path}: teach this test to fill {sorted(params - set(values))}"
        url = re.sub(r"\{(\w+):\w+\}", r"{\1}", path).format(**{p: values[p] for p in params})  # {path:path} is {path}
        for headers in ({}, world.a.bearer("super")) if path.startswith("/api/") else ({},):
            seq = audit_seq(world.services, world.a.slug)
            response = client.get(url, headers=headers)
            assert response.status_code < 500, f"GET {path}: {response.status_code}"
            if path in AUDITED_READS:
                assert set(actions_since(world.services, world.a.slug, seq)) <= EXPORT_EVENTS, f"GET {path} wrote more than its export event"
            else:
                assert audit_seq(world.services, world.a.slug) == seq, f"GET {path} wrote the audit chain"
        checked.append(path)
    after = snapshot(world.services)
    exported = len(actions_since(world.services, world.a.slug, before_seq))
    grown = {table: n - before["counts"][table] for table, n in after["counts"].items() if n != before["counts"][table]}
    assert grown == {table: exported for table in grown} and set(grown) <= {"audit_events", "audit_side"}  # an event and its side row each
    assert {"/api/v1/members", "/api/v1/exits/{exit_id}", "/members", "/audit", "/"} <= set(checked)
    assert AUDITED_READS <= set(checked) and exported >= len(AUDITED_READS)
    assert {"/api/v1/members", "/api/v1/exits/{exit_id}", "/members", "/audit", "/"} <= set(checked)


def test_issue_3_sensitive_changes_from_a_session_need_a_code_again_after_five_minutes(world, client):
    """Role changes over a console session re-verify with TOTP once the last check is over 5 min old."""
    csrf = sign_in(client, world, world.a, "super")
    headers = {"X-CSRF-Token": csrf, "Origin": "http://testserver"}
    target = world.a["member"].member_id
    world.clock.advance(minutes=6)
    seq = audit_seq(world.services, world.a.slug)
    refused = client.post(f"/api/v1/members/{target}/roles", json={"role": "it"}, headers=headers)
    assert refused.status_code == 401 and refused.json()["error"] == "reverification_required"
    assert audit_seq(world.services, world.a.slug) == seq
    wrong = client.post("/api/v1/me/reverify", json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 401
    verified = client.post("/api/v1/me/reverify", json={"code": world.a["super"].code(world.clock)}, headers=headers)
    assert verified.status_code == 204, verified.text
    granted = client.post(f"/api/v1/members/{target}/roles", json={"role": "it"}, headers=headers)
    assert granted.status_code == 201, granted.text
    # A bearer token is the credential of an integration and is never asked for a code.
    world.clock.advance(minutes=30)
    by_token = client.delete(f"/api/v1/members/{target}/roles/it", headers=world.a.bearer("super"))
    assert by_token.status_code == 204, by_token.text
