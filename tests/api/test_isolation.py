"""INV-8 (and R-EXC-3): no answer or change crosses tenants, over every /api/v1 route.

The routes are read from the app, so a new endpoint joins the matrix by itself; one whose
path parameter or body this file cannot fill fails the test until it is taught here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from offboard.store.tables import metadata, tenants
from tests.api.conftest import SIGNED_CALLBACKS, TABLE_OF_PARAM, World, api_operations, ids_only_in, path_params, sign_in

# Variants that differ from the bearer matrix only in how the credential is read run on SQLite.
credential_variant = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# A valid body per operation, naming A's rows wherever the body names a row.
BODIES = {
    ("POST", "/api/v1/tenants"): lambda w: {"slug": "gamma", "name": "Gamma", "admin_userid": "gamma-super", "admin_name": "Gamma Super"},
    ("POST", "/api/v1/departments"): lambda w: {"name": "Planted", "parent_id": w.a.extra["lab"]},
    ("PATCH", "/api/v1/departments/{department_id}"): lambda w: {"leader": "alpha-lab-hr"},
    ("POST", "/api/v1/members"): lambda w: {"userid": "planted", "name": "Planted", "department_ids": [w.a.extra["lab"]]},
    ("PATCH", "/api/v1/members/{member_id}"): lambda w: {"title": "planted", "department_ids": [w.a.extra["lab"]]},
    ("POST", "/api/v1/members/{member_id}/roles"): lambda w: {"role": "it"},
    ("POST", "/api/v1/members/{member_id}/freeze"): lambda w: {"reason": "planted"},
    ("POST", "/api/v1/members/{member_id}/rollback"): lambda w: {"since": "2026-01-01", "totp": "000000", "plan": "0" * 16},
    ("POST", "/api/v1/members/{member_id}/unfreeze"): lambda w: {"totp": "000000"},
    ("POST", "/api/v1/handovers"): lambda w: {"to": "alpha-lab-hr", "totp": "000000"},
    ("POST", "/api/v1/handovers/accept"): lambda w: {"totp": "000000"},
    ("POST", "/api/v1/handovers/cancel"): lambda w: {"totp": "000000"},
    ("POST", "/api/v1/handovers/revert"): lambda w: {"totp": "000000"},
    ("PUT", "/api/v1/backup-admin"): lambda w: {"member": "alpha-lab-hr"},
    ("POST", "/api/v1/tokens"): lambda w: {"name": "probe", "service": True, "scopes": ["read_directory"]},
    ("POST", "/api/v1/me/reverify"): lambda w: {"code": "000000"},
    ("POST", "/api/v1/members/{member_id}/exit-plans"): lambda w: {"successor": "alpha-admin"},
    ("POST", "/api/v1/exits"): lambda w: {"member_id": w.a.extra["lab_hr"], "reason_category": "resignation", "reason": "planted", "successor": "alpha-admin"},
    ("POST", "/api/v1/me/exit"): lambda w: {"reason": "planted"},
    ("POST", "/api/v1/exits/{exit_id}/restore"): lambda w: {"totp": "000000", "reason": "planted"},
    ("POST", "/api/v1/exits/{exit_id}/reschedule"): lambda w: {"effective_at": "2026-12-31T18:00:00+08:00"},
    # A's members' leave dates: B's enterprise starts exits by hand, so its feed refuses (409).
    ("POST", "/api/v1/departures"): lambda w: {"departures": [{"userid": "alpha-lab-hr", "leave_date": "2026-12-31"}], "accept_valid": True},
    ("POST", "/api/v1/exits/{exit_id}/inherit"): lambda w: {"kind": "external_contact", "to": "alpha-admin"},
    ("POST", "/api/v1/transfers/{correlation_id}/result"): lambda w: {"state": "refused"},
    ("POST", "/api/v1/exits/{exit_id}/ledger/bulk"): lambda w: {"action": "result", "state": "refused", "everything": True},
    # A file naming A's members: B's plan finds no such member in B (each line says so).
    ("POST", "/api/v1/exits/bulk"): lambda w: {"departures": [{"userid": "alpha-lab-hr"}, {"userid": "alpha-member"}], "reason_category": "dismissal", "reason": "planted"},
    ("POST", "/api/v1/exits/{exit_id}/checklist/{item}/attest"): lambda w: {"evidence": "planted"},
    ("POST", "/api/v1/exits/{exit_id}/grants/ack"): lambda w: {"evidence": "planted"},
    ("POST", "/api/v1/exits/{exit_id}/reimbursements/close"): lambda w: {"evidence": "planted"},
    ("POST", "/api/v1/exits/{exit_id}/signoff"): lambda w: {"role": "hr"},
    ("PATCH", "/api/v1/policy"): lambda w: {"customer_limit": 12345},  # the caller's own tenant only
    ("POST", "/api/v1/members/{member_id}/holds"): lambda w: {"reason": "planted"},
    ("POST", "/api/v1/holds/{hold_id}/release"): lambda w: {"reason": "planted"},
    ("POST", "/api/v1/members/{member_id}/erasure-requests"): lambda w: {"reason": "planted", "verified": "planted"},
    ("POST", "/api/v1/members/{member_id}/subject-access"): lambda w: {"verified": "planted"},
    ("POST", "/api/v1/webhooks"): lambda w: {"url": "https://planted.example/hooks", "events": ["*"]},
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): lambda w: {"url": "https://planted.example/hooks"},
    # B's enterprise starts exits by hand: its members file no exit request (409).
    ("POST", "/api/v1/me/exit-requests"): lambda w: {"leave_date": "2026-12-31", "reason": "planted", "successor": "alpha-admin"},
    ("POST", "/api/v1/exit-requests/{exit_request_id}/approve"): lambda w: {"comment": "planted"},
    ("POST", "/api/v1/exit-requests/{exit_request_id}/reject"): lambda w: {"comment": "planted"},
    ("PUT", "/api/v1/exit-request-flow"): lambda w: {"steps": ["member:alpha-lab-hr", "hr"]},  # an approver of A: not B's member
}

# The query a route requires, so the request reaches the row it names.
QUERIES = {("GET", "/api/v1/members/{member_id}/rollback"): "since=2026-01-01"}


# Answers that repeat the request (a bulk file's userids, line by line): A's userids in them
# are B's own words; each line must say there is no such member.
ECHOES = {("POST", "/api/v1/exits/bulk")}


def _path_values(world: World) -> dict[str, object]:
    """For each path parameter, a value naming a row of A that B does not have."""
    a, b = world.a, world.b
    values = {"member_id": a.extra["lab_hr"], "department_id": a.extra["lab"], "token_id": a.extra["lab_hr_token"], "exit_id": a.extra["exit"], "job_id": a.extra["job"]}
    values |= {"hold_id": a.extra["hold"], "request_id": a.extra["erasure"], "webhook_id": a.extra["webhook"], "delivery_id": a.extra["delivery"]}
    values["exit_request_id"] = a.extra["exit_request"]
    for param, table in TABLE_OF_PARAM.items():
        assert values[param] in ids_only_in(world.services, table, a.id, b.id), f"{table.name} {values[param]} exists in B too"
    values["role"] = "hr"  # alpha-lab-hr holds it
    values["item"] = "access_revoked"  # the one built-in item a person attests
    values["correlation_id"] = a.extra["correlation_id"]  # A's customer transfer, waiting
    values["what"], values["fmt"] = "handover-sheet", "pdf"  # the export that shows the most of A's exit
    return values


def _a_head(world: World) -> tuple:
    with world.services.db.read() as conn:
        return tuple(conn.execute(select(tenants.c.audit_seq, tenants.c.audit_head).where(tenants.c.id == world.a.id)).one())


def _a_rows(world: World) -> dict[str, int]:
    """The number of A's rows in every table."""
    with world.services.db.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t).where(t.c.tenant_id == world.a.id)).scalar_one() for t in metadata.sorted_tables if "tenant_id" in t.c}


def _requests(world: World):
    """Requests naming A's rows first: a 2xx POST of B may add a row whose id (on SQLite) A
    already uses, after which that id would no longer be A's alone."""
    values = _path_values(world)
    operations = sorted(api_operations(world.app), key=lambda op: not path_params(op[2]))
    for method, path, route in operations:
        if (method, path) in SIGNED_CALLBACKS:
            continue
        params = path_params(route)
        unknown = params - set(values)
        assert not unknown, f"{method} {path}: teach test_isolation how to fill {sorted(unknown)} with an id of tenant A"
        body = None
        if route.body_field is not None:
            make = BODIES.get((method, path))
            assert make is not None, f"{method} {path}: add a body naming A's rows to BODIES"
            body = make(world)
        query = QUERIES.get((method, path))
        yield method, path, path.format(**{p: values[p] for p in params}) + (f"?{query}" if query else ""), bool(params), body


def _check_matrix(world: World, client, headers: dict[str, str]) -> list[str]:
    problems, succeeded = [], 0
    head, rows = _a_head(world), _a_rows(world)
    for method, template, url, names_a_row, body in _requests(world):
        response = client.request(method, url, headers=headers, json=body)
        label = f"{method} {template} -> {response.status_code}"
        succeeded += 200 <= response.status_code < 300
        if response.status_code >= 500:
            problems.append(f"{label}: server error {response.text[:200]}")
        elif names_a_row and response.status_code not in (403, 404):
            problems.append(f"{label}: B reached A's row (want 403 or 404)")
        elif (method, template) in ECHOES and 200 <= response.status_code < 300:
            if {(line["status"], line["issues"][0]["code"]) for line in response.json()["lines"]} != {("invalid", "member_not_found")}:
                problems.append(f"{label}: a line naming A's member was not refused as unknown: {response.text[:300]}")
        elif 200 <= response.status_code < 300 and "alpha" in response.text.lower():
            problems.append(f"{label}: A's data in B's answer: {response.text[:200]}")
        if _a_head(world) != head:  # every change of A writes A's audit chain (INV-5)
            problems.append(f"{label}: A's audit chain changed")
            head = _a_head(world)
    if _a_rows(world) != rows:
        problems.append(f"A's rows changed: {rows} -> {_a_rows(world)}")
    if not succeeded:
        problems.append("B's credential was refused everywhere, so the matrix proved nothing")
    return problems


def test_inv_8_tenant_b_token_never_reaches_tenant_a_on_any_route(world, client):
    problems = _check_matrix(world, client, world.b.bearer("super"))
    assert not problems, "\n".join(problems)


@credential_variant
def test_inv_8_tenant_b_token_ignores_a_tenant_header_naming_a(world, client):
    """The X-Offboard-Tenant header is the operator's; a tenant-bound token ignores it."""
    problems = _check_matrix(world, client, {**world.b.bearer("super"), "X-Offboard-Tenant": world.a.slug})
    assert not problems, "\n".join(problems)


@credential_variant
def test_inv_8_tenant_b_service_token_never_reaches_tenant_a(world, client):
    problems = _check_matrix(world, client, {"Authorization": f"Bearer {world.b.service_token}"})
    assert not problems, "\n".join(problems)


def test_inv_8_tenant_b_console_session_never_reaches_tenant_a(world, client):
    csrf = sign_in(client, world, world.b, "super")
    assert client.get("/api/v1/me").json()["userid"] == "beta-super"
    problems = _check_matrix(world, client, {"X-CSRF-Token": csrf})
    assert not problems, "\n".join(problems)


def test_inv_8_listings_with_b_credentials_hold_only_b_rows(world, client):
    for who in ("super", "service"):
        headers = world.headers_for(world.b, who)
        listed = client.get("/api/v1/members", params={"limit": 500}, headers=headers).json()
        userids = {m["userid"] for m in listed["items"]}
        assert userids == {p.userid for p in world.b.people.values()}
        assert listed["total"] == len(userids)

        depts = client.get("/api/v1/departments", headers=headers).json()
        assert {d["id"] for d in depts} == {world.b.root, world.b.sales, world.b.ops}
        assert all("alpha" not in d["name"].lower() for d in depts)

        tokens = client.get("/api/v1/tokens", headers=headers).json()
        assert tokens and all(t["owner"] is None or t["owner"].startswith("beta-") for t in tokens)
        assert len(tokens) == 2 + len(world.b.people)

        audit = client.get("/api/v1/audit", params={"limit": 500}, headers=headers)
        assert audit.status_code == 200
        with world.services.db.read() as conn:
            b_seq = conn.execute(select(tenants.c.audit_seq).where(tenants.c.id == world.b.id)).scalar_one()
        assert sorted(e["seq"] for e in audit.json()["items"]) == list(range(1, b_seq + 1))
        assert "alpha" not in audit.text.lower()

        verify = client.get("/api/v1/audit/verify", headers=headers).json()
        assert verify["tenant"] == world.b.slug and verify["ok"] and verify["events"] == b_seq

        assert client.get("/api/v1/me", headers=headers).json()["tenant"] == world.b.slug


def test_inv_8_operator_token_sees_the_tenant_it_names(world, client):
    lab_hr = world.a.extra["lab_hr"]
    for org, other in ((world.a, world.b), (world.b, world.a)):
        headers = world.operator(org.slug)
        listed = client.get("/api/v1/members", params={"limit": 500}, headers=headers)
        assert listed.status_code == 200, listed.text
        userids = {m["userid"] for m in listed.json()["items"]}
        assert {p.userid for p in org.people.values()} <= userids
        assert not any(u.startswith(other.slug) for u in userids)
        depts = client.get("/api/v1/departments", headers=headers).json()
        assert org.sales in {d["id"] for d in depts}
        assert not any(other.slug in d["name"].lower() for d in depts)
    shown = client.get(f"/api/v1/members/{lab_hr}", headers=world.operator(world.a.slug))
    assert shown.status_code == 200 and shown.json()["userid"] == "alpha-lab-hr"
    assert client.get(f"/api/v1/members/{lab_hr}", headers=world.operator(world.b.slug)).status_code == 404
    # Without naming a tenant the operator is refused, not shown some default tenant.
    unnamed = client.get("/api/v1/members", headers=world.operator())
    assert unnamed.status_code == 422 and unnamed.json()["error"] == "tenant_required"


def test_inv_8_a_token_of_a_cannot_be_used_as_if_it_named_b(world, client):
    """A tenant token names its tenant id; rewriting that id does not move it to another tenant."""
    token = world.a["super"].token
    _, a_id, rest = token.split("_", 2)
    forged = f"obt_{world.b.id}_{rest}"
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
