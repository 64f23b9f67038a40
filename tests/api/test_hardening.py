"""Issue 7, class by class: each test fails on the behaviour the adversarial review found.

SPEC §9: a 500 on any input is a bug, and no request may stall another. ASVS 4.0.3 §2.2.1
(throttling), §3.4 (cookies), §14.4 (security headers). Times are the FakeClock's; the stall
test alone runs a real uvicorn server on loopback, and measures the other request's latency
against the error path's own duration, never against a fixed budget.
"""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, update

from offboard import logs
from offboard.actions import auth
from offboard.api.app import create_app
from offboard.crypto import signing
from offboard.settings import WebSettings, parse_networks
from offboard.store.tables import exits, login_throttle
from tests.api.conftest import World, csrf_of, sign_in, start_login, submit_totp
from tests.support.db import actions_since, audit_seq, snapshot
from tests.support.live import serving

http_layer_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class _SlowToRender(RuntimeError):
    """An error whose text takes a second to produce, as a rich traceback with locals did."""

    def __str__(self) -> str:
        time.sleep(1.5)
        return "slow to render"


# --- 1. one 500 must not stall the server -------------------------------------------------------


@http_layer_only
def test_issue_7_an_unexpected_error_does_not_stall_other_requests(world: World):
    """The 500 path runs off the event loop: /healthz answers while the error is still being
    logged, and the log is one JSON line without local variables."""
    sink = io.StringIO()
    logs.configure(stream=sink, force=True)
    app = create_app(world.services)

    def boom():
        secret_local = "LOCAL-VALUE-" * 1000  # noqa: F841 - must never reach the log
        raise _SlowToRender()

    app.add_api_route("/api/v1/test-boom", boom, methods=["GET"])
    try:
        with serving(app, log_level="critical") as base:
            result: dict[str, float | int] = {}

            def call_boom():
                start = time.perf_counter()
                result["boom_status"] = httpx.get(f"{base}/api/v1/test-boom", timeout=30).status_code
                result["boom_seconds"] = time.perf_counter() - start

            worker = threading.Thread(target=call_boom)
            worker.start()
            time.sleep(0.3)  # the error path is now inside the slow rendering
            start = time.perf_counter()
            health = httpx.get(f"{base}/healthz", timeout=30)
            health_seconds = time.perf_counter() - start
            worker.join()
    finally:
        logs.configure(force=True)
    assert health.status_code == 200
    assert result["boom_status"] == 500
    assert result["boom_seconds"] >= 1.5
    # The health check did not wait for the error path (it took 1.5 s on its own).
    assert health_seconds < result["boom_seconds"] / 2, (health_seconds, result["boom_seconds"])
    lines = [line for line in sink.getvalue().splitlines() if "unexpected_error" in line]
    assert len(lines) == 1, sink.getvalue()[:2000]
    event = json.loads(lines[0])
    assert event["path"] == "/api/v1/test-boom" and event["level"] == "error"
    assert "LOCAL-VALUE" not in lines[0] and len(lines[0]) <= logs.MAX_EVENT
    assert "_SlowToRender" in event["exception"]


def test_issue_7_log_lines_are_bounded_whatever_their_values():
    sink = io.StringIO()
    logs.configure(stream=sink, force=True)
    try:
        import structlog

        structlog.get_logger("t").warning("big", value="x" * 100_000, nested={"k": "y" * 100_000})
    finally:
        logs.configure(force=True)
    line = sink.getvalue().strip()
    assert "\n" not in line and len(line) <= logs.MAX_EVENT
    assert json.loads(line)["event"] == "big"


# --- 2. inputs that reached a 500 ---------------------------------------------------------------


@http_layer_only
def test_issue_7_non_ascii_csrf_pre_and_header_values_are_refused_with_403(world: World, client):
    """hmac.compare_digest raises on non-ASCII str; every comparison of a submitted secret is
    now made on bytes and simply does not match."""
    client.get("/login")
    login = client.post("/login", data={"tenant": world.a.slug, "userid": "x", "password": "y", "pre": "密码é"})
    assert login.status_code == 403 and "csrf_failed" in login.text
    csrf = sign_in(client, world, world.a, "super")
    assert csrf
    form = client.post("/logout", data={"csrf": "ｃｓｒｆ令牌"})
    assert form.status_code == 403
    header = client.patch(f"/api/v1/members/{world.a['member'].member_id}", json={"title": "x"}, headers={"X-CSRF-Token": "\u00e9\u00e8".encode("latin-1")})
    assert header.status_code == 403 and header.json()["error"] == "csrf_failed"


def test_issue_7_totp_codes_in_full_width_digits_are_read_as_digits_and_odd_digits_are_refused(world: World):
    """A Chinese input method types １２３４５６: NFKC makes it 123456. Superscripts and other
    non-decimal "digits" (which str.isdigit accepts) are a wrong code, never a 500."""
    hr = world.a["hr"]
    with world.client("10.20.0.1") as c:
        start_login(c, world.a, hr)
        for odd in ("²³⁴⁵⁶⁷", "١٢٣٤٥٦", "12345６７", "\u0000" * 6):
            refused = submit_totp(c, odd)
            assert refused.status_code == 401, (odd, refused.status_code)
        world.clock.advance(minutes=20)  # past the back-off of those failures
        code = hr.code(world.clock)
        wide = "".join(chr(ord(d) - ord("0") + ord("０")) for d in code)
        assert submit_totp(c, wide).status_code == 303
        assert c.get("/api/v1/me").json()["userid"] == hr.userid


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T20:00:00+00:00", "0001-01-02T00:00:00+00:00"])
def test_issue_7_r_exit_8_leave_dates_outside_a_sane_window_are_refused(world: World, client, moment):
    """Not before the member joined, not more than two years ahead; overflowing offsets included."""
    before = snapshot(world.services)
    r = client.post(
        "/api/v1/exits",
        headers=world.a.bearer("super"),
        json={"member_id": world.a["member"].member_id, "type": "removal", "reason_category": "resignation", "reason": "r", "effective_at": moment},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] in ("leave_date_too_early", "leave_date_too_late")
    assert snapshot(world.services) == before


@http_layer_only
def test_issue_7_integers_beyond_64_bits_in_console_filters_are_a_4xx(world: World, client):
    sign_in(client, world, world.a, "super")
    for value in ("9223372036854775808", "99999999999999999999999", "0"):
        r = client.get(f"/members?department={value}")
        assert 400 <= r.status_code < 500, (value, r.status_code)


# --- 3. a stored extreme value must not break a page for everyone --------------------------------


@http_layer_only
def test_issue_7_pages_survive_an_exit_stored_at_the_edge_of_the_calendar(world: World, client):
    """Written past the entry checks (as older data may be): the list and the page still render."""
    exit_id = world.a.extra["exit"]
    with world.services.db.write() as conn:
        conn.execute(
            update(exits)
            .where(exits.c.tenant_id == world.a.id, exits.c.id == exit_id)
            .values(effective_at=datetime(9999, 12, 31, 20, 0, tzinfo=UTC), restore_until=datetime(9999, 12, 31, 23, 0, tzinfo=UTC))
        )
    sign_in(client, world, world.a, "super")
    for path in ("/exits", f"/exits/{exit_id}", "/inbox", "/checklist", f"/members/{world.a.extra['leaver']}"):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/api/v1/exits/{exit_id}", headers=world.a.bearer("super")).status_code == 200


# --- 4. the second-factor throttle holds across password sign-ins ------------------------------


def test_issue_7_asvs_2_2_1_totp_failures_are_not_reset_by_a_correct_password(world: World):
    """12 password sign-ins each followed by 4 wrong codes checked 45 codes in 2 s: now the
    sixth wrong code in a row waits, however often the password is typed again."""
    it = world.a["it"]
    checked = 0
    with world.client("10.21.0.1") as c:
        for _round in range(3):
            assert start_login(c, world.a, it).status_code == 303
            for _ in range(2):
                r = submit_totp(c, "000000")
                if r.status_code == 429:
                    break
                assert r.status_code == 401
                checked += 1
        assert checked == auth.FREE_FAILURES  # five codes checked in all, then the waits began
        assert start_login(c, world.a, it).status_code == 303  # the password is right...
        waiting = submit_totp(c, it.code(world.clock))  # ...but even the right code waits now
        assert waiting.status_code == 429 and int(waiting.headers["Retry-After"]) >= 1
        world.clock.advance(seconds=int(waiting.headers["Retry-After"]))
        assert submit_totp(c, it.code(world.clock)).status_code == 303


def test_issue_7_ten_wrong_codes_lock_the_second_factor_tell_the_admins_and_an_admin_unlocks(world: World):
    it = world.a["it"]
    seq = audit_seq(world.services, world.a.slug)
    with world.client("10.22.0.1") as c:
        assert start_login(c, world.a, it).status_code == 303
        for i in range(auth.TOTP_LOCK):
            world.clock.advance(minutes=16)  # beyond every back-off: only the count matters
            r = submit_totp(c, "000000")
            assert r.status_code == (423 if i == auth.TOTP_LOCK - 1 else 401), (i, r.status_code)
        assert "Your admins have been told" in r.text  # the member learns it at once
        locked = submit_totp(c, it.code(world.clock))  # and now even the right code is refused
        assert locked.status_code == 423
    assert "auth.second_factor_locked" in actions_since(world.services, world.a.slug, seq)
    with world.client("10.22.0.2") as admin:
        inbox = admin.get("/api/v1/me/inbox", headers=world.a.bearer("super")).json()
        assert [a["userid"] for a in inbox["locked_accounts"]] == [it.userid]
        assert inbox["locked_accounts"][0]["reason"] == "second_factor"
        # A plain member is not told about other people's locks.
        assert admin.get("/api/v1/me/inbox", headers=world.a.bearer("member")).json()["locked_accounts"] == []
        # HR may not unlock; a super admin may.
        assert admin.post(f"/api/v1/members/{it.member_id}/unlock", headers=world.a.bearer("hr")).status_code == 403
        unlocked = admin.post(f"/api/v1/members/{it.member_id}/unlock", headers=world.a.bearer("super"))
        assert unlocked.status_code == 200 and unlocked.json()["locks_cleared"] == 1
        again = admin.post(f"/api/v1/members/{it.member_id}/unlock", headers=world.a.bearer("super"))
        assert again.status_code == 409 and again.json()["error"] == "not_locked"
    assert "auth.unlocked" in actions_since(world.services, world.a.slug, seq)
    with world.client("10.22.0.3") as c:
        world.clock.advance(seconds=30)
        assert start_login(c, world.a, it).status_code == 303
        assert submit_totp(c, it.code(world.clock)).status_code == 303


# --- 5. the per-address throttle must not lock out everyone behind one address ------------------


def _fail_from(c, world: World, n: int) -> None:
    c.get("/login")
    for i in range(n):
        r = c.post("/login", data={"tenant": world.a.slug, "userid": f"nobody-{i}", "password": "x", "pre": c.cookies["ob_pre"]})
        assert r.status_code == 401


def test_issue_7_a_known_device_and_a_correct_second_factor_pass_a_blocked_address(world: World):
    hr, member = world.a["hr"], world.a["member"]
    with world.client("10.23.0.1") as known:
        assert start_login(known, world.a, member).status_code == 303  # leaves a device cookie
        known.post("/logout", data={"csrf": csrf_of(known)})
        with world.client("10.23.0.1") as half:  # HR has typed the password, not yet the code
            assert start_login(half, world.a, hr).status_code == 303
            with world.client("10.23.0.1") as noisy:
                _fail_from(noisy, world, auth.IP_LIMIT)
                assert start_login(noisy, world.a, member).status_code == 429  # a stranger's browser waits
            assert submit_totp(half, hr.code(world.clock)).status_code == 303  # the code passes the block
        assert start_login(known, world.a, member).status_code == 303  # so does the known browser


def test_issue_7_forwarded_addresses_count_only_from_trusted_proxies(world: World):
    """Behind a trusted proxy, each client has its own address; X-Forwarded-For from anyone
    else is ignored, so it cannot be used to dodge the per-address block."""
    member = world.a["member"]
    proxied = create_app(world.services, settings=WebSettings(trusted_proxies=parse_networks("10.24.0.0/16")))
    from fastapi.testclient import TestClient

    with TestClient(proxied, raise_server_exceptions=False, follow_redirects=False, client=("10.24.0.9", 5000)) as proxy:
        proxy.headers["X-Forwarded-For"] = "203.0.113.7"
        _fail_from(proxy, world, auth.IP_LIMIT)
        assert start_login(proxy, world.a, member).status_code == 429
        proxy.headers["X-Forwarded-For"] = "203.0.113.8"  # another person behind the same proxy
        proxy.cookies.clear()
        assert start_login(proxy, world.a, member).status_code == 303
    with world.services.db.read() as conn:
        keys = set(conn.execute(select(login_throttle.c.key).where(login_throttle.c.tenant_id == world.a.id)).scalars())
    assert "ip:203.0.113.7" in keys and "ip:10.24.0.9" not in keys
    with world.client("10.25.0.1") as direct:  # not a trusted proxy: its header is a lie
        direct.headers["X-Forwarded-For"] = "203.0.113.99"
        _fail_from(direct, world, auth.IP_LIMIT)
        assert start_login(direct, world.a, member).status_code == 429


@http_layer_only
def test_issue_7_cookies_are_secure_behind_a_trusted_tls_proxy(world: World):
    from fastapi.testclient import TestClient

    proxied = create_app(world.services, settings=WebSettings(trusted_proxies=("127.0.0.1/32",)))
    with TestClient(proxied, raise_server_exceptions=False, follow_redirects=False, client=("127.0.0.1", 5000)) as c:
        page = c.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" in page.headers["set-cookie"].lower()
        assert "strict-transport-security" in page.headers
    with world.client("10.26.0.1") as c:  # untrusted: its X-Forwarded-Proto is ignored
        page = c.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in page.headers["set-cookie"].lower()


# --- 6. scopes: see test_token_scopes.py (every route with a token lacking exactly its scope) ----

# --- 7. userids cannot be enumerated -------------------------------------------------------------


def test_issue_7_known_and_unknown_userids_answer_alike_in_status_and_work(world: World, monkeypatch):
    """Six wrong passwords for a real userid and for an invented one: the same statuses, the
    same body, and one Argon2 verification each (the cost that made the answers 48 ms against 10)."""
    calls: list[str | None] = []
    real = auth.verify_password

    def counting(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    answers = {}
    for userid, address in ((world.a["member"].userid, "10.27.0.1"), ("no-such-person", "10.27.0.2")):
        with world.client(address) as c:
            c.get("/login")
            seen = []
            for _ in range(6):
                r = c.post("/login", data={"tenant": world.a.slug, "userid": userid, "password": "wrong", "pre": c.cookies["ob_pre"]})
                seen.append((r.status_code, r.headers.get("Retry-After")))
            answers[userid] = seen
    known, unknown = answers.values()
    assert known == unknown and known[-1][0] == 429
    assert len(calls) == 10 and all(calls)  # 5 checked per userid, the sixth waited; never a skipped hash
    with world.client("10.27.0.3") as c:
        c.get("/login")
        other = c.post("/login", data={"tenant": "no-such-enterprise", "userid": "x", "password": "y", "pre": c.cookies["ob_pre"]})
        assert other.status_code == 401 and len(calls) == 11


# --- 8. security headers ---------------------------------------------------------------------------


@http_layer_only
def test_issue_7_security_headers_on_pages_api_and_static_files(world: World, client):
    sign_in(client, world, world.a, "super")
    for path in ("/login", "/", "/members", "/api/v1/me", "/api/v1/nothing-here"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store", path
    static = client.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
    assert static.headers["x-content-type-options"] == "nosniff"


# --- 9. input hygiene ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Alpha\x00Null", "Alpha\u202eevil", "\u2066Alpha", "Alpha\x1b[31m"])
def test_issue_7_control_and_bidi_characters_are_refused_in_names(world: World, client, name):
    before = snapshot(world.services)
    created = client.post("/api/v1/members", headers=world.a.bearer("super"), json={"userid": "alpha-x", "name": name})
    assert created.status_code == 422 and created.json()["error"] == "invalid_character", created.text
    patched = client.patch(f"/api/v1/members/{world.a['member'].member_id}", headers=world.a.bearer("super"), json={"name": name})
    assert patched.status_code == 422
    dept = client.post("/api/v1/departments", headers=world.a.bearer("super"), json={"name": name})
    assert dept.status_code == 422
    assert snapshot(world.services) == before


@http_layer_only
def test_issue_7_search_wildcards_match_only_themselves(world: World, client):
    for q in ("%", "_", "\\", "%%", "a_p%a"):
        r = client.get("/api/v1/members", params={"q": q}, headers=world.a.bearer("super"))
        assert r.status_code == 200 and r.json()["total"] == 0, (q, r.json()["total"])
    assert client.get("/api/v1/members", params={"q": "alpha-sup"}, headers=world.a.bearer("super")).json()["total"] == 1


@http_layer_only
def test_issue_7_json_bodies_with_duplicate_keys_are_refused(world: World, client):
    before = snapshot(world.services)
    body = '{"member_id": %d, "type": "removal", "reason_category": "resignation", "reason": "r", "member_id": %d}' % (
        world.a["outsider"].member_id,
        world.a["member"].member_id,
    )
    r = client.post("/api/v1/exits", headers={**world.a.bearer("super"), "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422 and r.json()["error"] == "duplicate_key" and "member_id" in r.json()["message"]
    nested = client.patch(f"/api/v1/members/{world.a['member'].member_id}", headers={**world.a.bearer("super"), "Content-Type": "application/json"}, content='{"title": "a", "title": "b"}')
    assert nested.status_code == 422
    surrogate = client.patch(f"/api/v1/members/{world.a['member'].member_id}", headers={**world.a.bearer("super"), "Content-Type": "application/json"}, content='{"title": "\\ud800"}')
    assert surrogate.status_code == 422 and surrogate.json()["error"] == "invalid_character"
    huge = client.post("/api/v1/departments", headers={**world.a.bearer("super"), "Content-Type": "application/json"}, content='{"name": "' + "x" * (2 * 1024 * 1024) + '"}')
    assert huge.status_code == 413
    assert snapshot(world.services) == before


# --- 10. smaller ------------------------------------------------------------------------------------


@http_layer_only
def test_issue_7_the_sign_in_page_lists_enterprises_only_in_demo_mode(world: World, client, monkeypatch):
    page = client.get("/login").text
    assert world.b.slug not in page and world.a.slug not in page
    from fastapi.testclient import TestClient

    from offboard.web import routes

    monkeypatch.setattr(routes, "_demo_logins", lambda request: [])  # these tenants have no demo personas

    with TestClient(create_app(world.services, demo=True), follow_redirects=False) as demo:
        listed = demo.get("/login").text
        assert world.a.slug in listed and world.b.slug in listed


@http_layer_only
def test_issue_7_the_sign_in_page_remembers_the_enterprise_of_this_browser(world: World, client):
    sign_in(client, world, world.a, "super")
    client.post("/logout", data={"csrf": csrf_of(client)})
    page = client.get("/login").text
    assert f'value="{world.a.slug}"' in page and world.b.slug not in page


@http_layer_only
def test_issue_7_metrics_answer_loopback_or_the_metrics_token_only(world: World):
    from fastapi.testclient import TestClient

    with world.client("10.28.0.1") as remote:
        assert remote.get("/metrics").status_code == 403
    with TestClient(world.app, client=("127.0.0.1", 5000)) as local:
        assert local.get("/metrics").status_code == 200
    tokened = create_app(world.services, settings=WebSettings(metrics_token="m-secret"))
    with TestClient(tokened, raise_server_exceptions=False, client=("10.28.0.2", 5000)) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer m-secret"}).status_code == 200


def test_issue_7_spec_3_2_hr_may_not_edit_an_admin_but_may_edit_a_member(world: World, client):
    before = audit_seq(world.services, world.a.slug)
    for target in ("super", "admin"):
        r = client.patch(f"/api/v1/members/{world.a[target].member_id}", headers=world.a.bearer("hr"), json={"title": "Intern"})
        assert r.status_code == 403, (target, r.text)
    assert audit_seq(world.services, world.a.slug) == before
    ok = client.patch(f"/api/v1/members/{world.a['member'].member_id}", headers=world.a.bearer("hr"), json={"title": "Lead"})
    assert ok.status_code == 200


def test_issue_7_the_session_is_rotated_when_the_second_factor_completes(world: World):
    hr = world.a["hr"]
    with world.client("10.29.0.1") as c:
        start_login(c, world.a, hr)
        before = signing.unsign(world.app.state.cookie_key, "session", c.cookies["ob_session"])
        assert submit_totp(c, hr.code(world.clock)).status_code == 303
        after = signing.unsign(world.app.state.cookie_key, "session", c.cookies["ob_session"])
        assert before and after and before != after
        assert c.get("/api/v1/me").status_code == 200
    with world.client("10.29.0.2") as stale:  # the token seen before the code is worthless now
        stale.cookies.set("ob_session", signing.sign(world.app.state.cookie_key, "session", before))
        assert stale.get("/api/v1/me").status_code == 401
    with pytest.raises(auth.Unauthorized):
        auth.authenticate_session(world.services, before)


@http_layer_only
def test_issue_8_spec_9_api_errors_follow_the_language_cookie_like_the_console(world: World, client):
    """One locale rule for the API and the console: the language chosen in the console wins
    over Accept-Language, for API errors and for refusals made before any route runs."""
    missing = f"/api/v1/members/{2**62}"
    client.cookies.set("ob_lang", "en")
    english = client.get(missing, headers={**world.a.bearer("super"), "Accept-Language": "zh-CN"})
    assert english.status_code == 404 and english.json()["message"].isascii()
    duplicate = client.post("/api/v1/departments", headers={**world.a.bearer("super"), "Accept-Language": "zh-CN", "Content-Type": "application/json"}, content='{"name": "a", "name": "b"}')
    assert duplicate.status_code == 422 and duplicate.json()["message"].isascii()
    client.cookies.set("ob_lang", "zh-CN")
    chinese = client.get(missing, headers={**world.a.bearer("super"), "Accept-Language": "en"})
    assert chinese.status_code == 404 and not chinese.json()["message"].isascii()
