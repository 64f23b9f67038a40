"""SPEC §9 error contract: bad input gets JSON {"error": code, "message": ...} with a 4xx status,
never a 500; codes are language-neutral and messages follow Accept-Language; a refused
request changes nothing (no audit event, no row: INV-5).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from offboard.store.tables import tenants
from tests.api.conftest import api_operations, path_params
from tests.support.db import snapshot

HUGE = 10**30

# Request validation happens in the HTTP layer before any query runs, so these run on SQLite
# only; the tests that reach the database (domain errors, unknown rows) run on both.
http_layer_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _heads(world) -> list[tuple]:
    with world.services.db.read() as conn:
        return [tuple(h) for h in conn.execute(select(tenants.c.slug, tenants.c.audit_seq, tenants.c.audit_head).order_by(tenants.c.slug))]


@pytest.fixture
def send(world, client):
    """Send as A's super admin; assert a JSON error with the status wanted and that nothing changed:
    no audit event after each request (every change writes one, INV-5), no row at the end."""
    before = snapshot(world.services)

    def _send(method: str, url: str, status: int, code: str | None = None, **kwargs):
        headers = {**world.a.bearer("super"), **kwargs.pop("headers", {})}
        response = client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.status_code} {response.text[:300]}"
        assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
        body = response.json()
        assert set(body) == {"error", "message"} and body["message"], body
        if code is not None:
            assert body["error"] == code, body
        assert _heads(world) == before["heads"], f"{method} {url} wrote the audit chain"
        return body

    yield _send
    assert snapshot(world.services) == before, "a refused request changed rows"


@http_layer_only
def test_spec_9_malformed_json_body_is_422(world, send):
    for method, path, route in api_operations(world.app):
        if route.body_field is None or path_params(route):
            continue
        for raw in (b'{"name": ', b"not json", b"[1, 2", b'{"name": "x"} trailing'):
            send(method, path, 422, content=raw, headers={"Content-Type": "application/json"})
    send("POST", "/api/v1/members", 422, content=b"", headers={"Content-Type": "application/json"})
    send("POST", "/api/v1/members", 422, json=["a", "list"])


@http_layer_only
def test_spec_9_unknown_json_field_is_422(world, send):
    send("POST", "/api/v1/members", 422, json={"userid": "alpha-new", "name": "New", "is_admin": True})
    send("PATCH", f"/api/v1/members/{world.a['member'].member_id}", 422, json={"status": "exited"})
    send("POST", "/api/v1/departments", 422, json={"name": "X", "headcount": 5})
    send("POST", "/api/v1/tokens", 422, json={"name": "x", "owner": "alpha-hr"})


@http_layer_only
def test_spec_9_huge_or_non_numeric_ids_in_the_path_are_422(world, send):
    for method, path, route in api_operations(world.app):
        params = path_params(route) - {"role"}
        if not params:
            continue
        for bad in (HUGE, 2**63, 0, -1, "abc", "1.5", "1e3"):
            url = path.format(**{p: (bad if p in params else "hr") for p in path_params(route)})
            body = {"name": "X"} if route.body_field is not None else None
            send(method, url, 422, json=body)


@http_layer_only
def test_spec_9_huge_or_non_numeric_query_values_are_422(world, send):
    for query in (
        f"department={HUGE}",
        "department=abc",
        "department=0",
        f"limit={HUGE}",
        "limit=abc",
        "limit=0",
        "limit=501",
        f"offset={HUGE}",
        "offset=-1",
        "offset=1.5",
    ):
        send("GET", f"/api/v1/members?{query}", 422)
    for query in (f"before={HUGE}", "before=abc", f"limit={HUGE}", "limit=-5"):
        send("GET", f"/api/v1/audit?{query}", 422)


@http_layer_only
def test_spec_9_huge_or_mistyped_numbers_in_a_body_are_422(world, send):
    member = world.a["member"].member_id
    send("POST", "/api/v1/members", 422, json={"userid": "alpha-n", "name": "N", "department_ids": [HUGE]})
    send("POST", "/api/v1/members", 422, json={"userid": "alpha-n", "name": "N", "department_ids": ["sales"]})
    send("POST", "/api/v1/members", 422, json={"userid": "alpha-n", "name": "N", "department_ids": 5})
    send("POST", "/api/v1/departments", 422, json={"name": "N", "parent_id": HUGE})
    send("POST", "/api/v1/departments", 422, json={"name": "N", "parent_id": "root"})
    send("PATCH", f"/api/v1/members/{member}", 422, json={"department_ids": [-1]})
    send("POST", f"/api/v1/members/{member}/roles", 422, json={"role": "admin", "scope": [HUGE]})
    send("POST", "/api/v1/tokens", 422, json={"name": "t", "expires_days": HUGE})
    send("POST", "/api/v1/tokens", 422, json={"name": "t", "expires_days": "soon"})


@http_layer_only
def test_spec_9_unknown_query_parameter_is_422_unknown_parameter(world, send):
    body = send("GET", "/api/v1/members?statu=active", 422, "unknown_parameter")
    assert "statu" in body["message"]
    send("GET", "/api/v1/departments?recursive=1", 422, "unknown_parameter")
    send("POST", "/api/v1/departments?dry_run=1", 422, "unknown_parameter", json={"name": "Dry"})
    send("DELETE", f"/api/v1/tokens/{world.a['member'].token_id}?force=1", 422, "unknown_parameter")


@http_layer_only
def test_spec_9_wrong_method_is_405_json(world, send):
    send("PUT", "/api/v1/members", 405, "method_not_allowed", json={})
    send("DELETE", "/api/v1/departments", 405, "method_not_allowed")
    send("POST", f"/api/v1/members/{world.a['member'].member_id}", 405, "method_not_allowed", json={})


@http_layer_only
def test_spec_9_unknown_path_is_404_json(world, send):
    send("GET", "/api/v1/nothing-here", 404, "not_found")
    send("GET", "/api/v2/members", 404, "not_found")
    send("POST", "/api/v1/members/1/nothing", 404, "not_found", json={})


def test_spec_9_unknown_rows_are_404_even_for_a_request_that_changes_nothing(world, send):
    """An empty PATCH of a department that does not exist was a 500 (StopIteration)."""
    send("PATCH", "/api/v1/departments/999999", 404, "department_not_found", json={})
    send("PATCH", "/api/v1/members/999999", 404, "member_not_found", json={})
    send("GET", "/api/v1/members/999999", 404, "member_not_found")
    send("DELETE", "/api/v1/tokens/999999", 404, "token_not_found")
    send("DELETE", f"/api/v1/members/{world.a['member'].member_id}/roles/emperor", 422, "invalid_choice")


def test_spec_9_messages_follow_accept_language_and_codes_do_not(world, send):
    duplicate = {"userid": "alpha-member", "name": "Again"}
    en = send("POST", "/api/v1/members", 409, "duplicate_userid", json=duplicate, headers={"Accept-Language": "en-US,en;q=0.9"})
    zh = send("POST", "/api/v1/members", 409, "duplicate_userid", json=duplicate, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "already taken" in en["message"]
    assert "已被占用" in zh["message"] and "alpha-member" in zh["message"]
    # Framework-level errors are translated as well.
    en = send("GET", "/api/v1/members?limit=abc", 422, "invalid_input", headers={"Accept-Language": "en"})
    zh = send("GET", "/api/v1/members?limit=abc", 422, "invalid_input", headers={"Accept-Language": "zh-CN"})
    assert en["message"] != zh["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in zh["message"])
    en = send("GET", "/api/v1/nothing-here", 404, "not_found", headers={"Accept-Language": "en"})
    zh = send("GET", "/api/v1/nothing-here", 404, "not_found", headers={"Accept-Language": "zh-CN"})
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["message"]) and not any("\u4e00" <= ch <= "\u9fff" for ch in en["message"])


def test_spec_9_authentication_failures_are_json_with_a_code(world, client):
    for headers, code in (
        ({}, "unauthorized"),
        ({"Authorization": "Bearer nonsense"}, "invalid_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_token"),
        ({"Authorization": "Bearer "}, "invalid_token"),
        ({"Authorization": f"Bearer obt_{10**17}_abcd_efgh"}, "invalid_token"),
        ({"Authorization": f"Bearer obt_{world.a.id}_zz"}, "invalid_token"),
    ):
        response = client.get("/api/v1/members", headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"] == code
