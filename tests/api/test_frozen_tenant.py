"""R-ADM-4 over HTTP: once an enterprise has no active super admin (its only one frozen with
`force` during an incident) every /api/v1 route answers its tokens 423 with how to recover, B
goes on as before, and after the operator's recovery A's tokens work again."""

from __future__ import annotations

from offboard.actions import freeze as freeze_actions
from offboard.actions.context import tenant_transaction
from tests.api.conftest import SIGNED_CALLBACKS, api_operations, path_params
from tests.api.test_isolation import BODIES, QUERIES

OPERATOR_ONLY = {("GET", "/api/v1/tenants"), ("POST", "/api/v1/tenants")}


def test_r_adm_4_a_frozen_enterprise_answers_423_on_every_route_until_the_operator_recovers_it(world, client):
    a = world.a
    with tenant_transaction(world.services, a.slug, a["it"].userid) as uow:
        assert freeze_actions.freeze(uow, a["super"].userid, reason="stolen, mid-incident", force=True).tenant_frozen
    values = {"member_id": a["member"].member_id, "department_id": a.sales, "token_id": a["hr"].token_id, "exit_id": a.extra["exit"], "job_id": a.extra["job"]}
    values |= {"hold_id": a.extra["hold"], "request_id": a.extra["erasure"], "webhook_id": a.extra["webhook"], "delivery_id": a.extra["delivery"]}
    values["exit_request_id"] = a.extra["exit_request"]
    values |= {"role": "hr", "item": "access_revoked", "correlation_id": a.extra["correlation_id"], "what": "ledger", "fmt": "csv"}
    answered = []
    for method, path, route in api_operations(world.app):
        if (method, path) in OPERATOR_ONLY | SIGNED_CALLBACKS:
            continue
        url = path.format(**{p: values[p] for p in path_params(route)})
        query = QUERIES.get((method, path))
        body = BODIES[(method, path)](world) if route.body_field is not None else None
        for key in ("hr", "admin", "member"):
            response = client.request(method, url + (f"?{query}" if query else ""), headers=a.bearer(key), json=body)
            answered.append((method, path, key, response.status_code, response.json().get("error") if response.headers.get("content-type", "").startswith("application/json") else None))
    wrong = [row for row in answered if row[3:] != (423, "tenant_frozen")]
    assert not wrong and len(answered) > 100, wrong[:10]
    sample = client.get("/api/v1/members", headers={**a.bearer("hr"), "Accept-Language": "zh-CN"}).json()
    assert "tenant recover" in sample["message"] and "运维" in sample["message"]
    assert client.get("/api/v1/members", headers=world.b.bearer("hr")).status_code == 200  # B is not touched

    world.clock.advance(seconds=31)  # the operator's recovery (offboard tenant recover), with the new admin's code
    freeze_actions.recover_tenant(world.services, a.slug, new_admin=a["admin"].userid, totp=a["admin"].code(world.clock))
    assert client.get("/api/v1/members", headers=a.bearer("hr")).status_code == 200
