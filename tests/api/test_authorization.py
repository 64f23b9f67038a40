"""SPEC §3.2 over HTTP: who may do what, table-driven, in tenant A.

Each row is a request built afresh for every actor (its own new target member or department,
so the actors do not step on each other) and the status each actor must get. A refusal must
change nothing: the tenant's audit chain, which every change writes (INV-5), stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import insert

from offboard.actions import departments as dept_actions
from offboard.actions import exits as exit_actions
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_transaction
from offboard.store import ids
from offboard.store.tables import external_contacts, reimbursements
from tests.api.conftest import World, fresh
from tests.support.db import audit_seq

ACTORS = ("super", "admin", "hr", "it", "member", "service", "service_unscoped", "operator")

# Who may do what is decided in Python (offboard.domain.authz) from role rows; the tables that
# also run writes particular to a dialect (member and department changes, exits, the last super
# admin under the tenant lock) run on both databases, the rest on SQLite.
decided_in_python = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def row(*statuses: int) -> dict[str, int]:
    assert len(statuses) == len(ACTORS)
    return dict(zip(ACTORS, statuses))


def _member(w: World, dept: int, roles: tuple[str, ...] = (), *, customers: int = 0, open_reimbursement: bool = False) -> int:
    with tenant_transaction(w.services, w.a.slug) as uow:
        member_id = member_actions.add_member(uow, userid=fresh("alpha-t"), name="Alpha Target", department_ids=[dept])
        for role in roles:
            role_actions.grant_role(uow, member_id, role, scope=[dept] if role == "admin" else None)
        tid, now = uow.tenant_id, uow.now
        for contact in ids.next_ids(uow.conn, external_contacts, tid, customers):
            uow.conn.execute(insert(external_contacts).values(tenant_id=tid, id=contact, owner_id=member_id, version=1, created_at=now, name="Alpha Customer", company="Alpha Client"))
        if open_reimbursement:
            (claim,) = ids.next_ids(uow.conn, reimbursements, tid, 1)
            uow.conn.execute(insert(reimbursements).values(tenant_id=tid, id=claim, member_id=member_id, title="Taxi", amount_cents=4200, status="open", created_at=now))
    return member_id


def _exit(w: World, member_id: int) -> int:
    """A removal that took effect, started by the operator with no successor (customers stay unassigned)."""
    with tenant_transaction(w.services, w.a.slug) as uow:
        return exit_actions.start_exit(uow, member_id, type="removal", reason_category="dismissal", reason="test").id


def _fresh_code(w: World, who: str) -> str:
    """The actor's TOTP code of a new 30 s step (each code is accepted once); tokens have none."""
    if who not in w.a.people:
        return "000000"
    w.clock.advance(seconds=30)
    return w.a[who].code(w.clock)


def _department(w: World, parent: int) -> int:
    with tenant_transaction(w.services, w.a.slug) as uow:
        return dept_actions.add_department(uow, fresh("Alpha Unit "), parent)


Request = Callable[[World, str], tuple[str, str, object]]  # (world, actor) -> (method, url, json body)


def _run(world: World, client, table: list[tuple[str, Request, dict[str, int]]]) -> None:
    problems = []
    for name, make, expected in table:
        for actor in ACTORS:
            method, url, body = make(world, actor)
            before = audit_seq(world.services, world.a.slug)
            response = client.request(method, url, headers=world.headers_for(world.a, actor), json=body)
            want = expected[actor]
            if response.status_code != want:
                problems.append(f"{name} as {actor}: {response.status_code}, want {want}: {response.text[:160]}")
            elif want == 403 and audit_seq(world.services, world.a.slug) != before:
                problems.append(f"{name} as {actor}: refused, yet the audit chain grew")
            elif want == 403 and response.json()["error"] not in ("forbidden", "operator_only", "scope_escalation", "scope_missing", "person_required"):
                problems.append(f"{name} as {actor}: 403 with code {response.json()['error']}")
    assert not problems, "\n".join(problems)


def sales(w: World) -> int:
    return w.a.sales


def ops(w: World) -> int:
    return w.a.ops


def get(path: str) -> Request:
    return lambda w, _who: ("GET", path, None)


# The tables. Columns: super admin, admin (scope: Sales), hr, it, plain member, service token with
# every scope, service token with none, operator (token bound to no tenant + X-Offboard-Tenant).
#                                                                super adm  hr   it   mem  svc  none op


def test_spec_3_2_member_create_and_update_follow_role_and_admin_scope(world, client):
    def create(dept):
        return lambda w, _who: ("POST", "/api/v1/members", {"userid": fresh("alpha-n"), "name": "Alpha New", "department_ids": [dept(w)]})

    def update(dept):
        return lambda w, _who: ("PATCH", f"/api/v1/members/{_member(w, dept(w))}", {"title": "Lead"})

    def move(src, dst):
        return lambda w, _who: ("PATCH", f"/api/v1/members/{_member(w, src(w))}", {"department_ids": [dst(w)]})

    _run(world, client, [
        ("create in scope", create(sales),           row(201, 201, 201, 403, 403, 201, 403, 201)),
        ("create out of scope", create(ops),         row(201, 403, 201, 403, 403, 201, 403, 201)),
        ("update in scope", update(sales),           row(200, 200, 200, 403, 403, 200, 403, 200)),
        ("update out of scope", update(ops),         row(200, 403, 200, 403, 403, 200, 403, 200)),
        ("move out of scope", move(sales, ops),      row(200, 403, 200, 403, 403, 200, 403, 200)),
        ("move into scope", move(ops, sales),        row(200, 403, 200, 403, 403, 200, 403, 200)),
    ])  # fmt: skip


@decided_in_python
def test_spec_3_2_member_read_follows_role_and_admin_scope(world, client):
    def show(dept):
        return lambda w, _who: ("GET", f"/api/v1/members/{_member(w, dept(w))}", None)

    _run(world, client, [
        ("list", get("/api/v1/members"),             row(200, 200, 200, 200, 403, 200, 403, 200)),
        ("show in scope", show(sales),               row(200, 200, 200, 200, 403, 200, 403, 200)),
        ("show out of scope", show(ops),             row(200, 403, 200, 200, 403, 200, 403, 200)),
    ])  # fmt: skip


@decided_in_python
def test_spec_3_2_role_grant_and_removal_are_for_super_admins_and_the_operator(world, client):
    def grant(role, **extra):
        return lambda w, _who: ("POST", f"/api/v1/members/{_member(w, w.a.sales)}/roles", {"role": role, **{k: f(w) for k, f in extra.items()}})

    def remove(w, _who):
        return "DELETE", f"/api/v1/members/{_member(w, w.a.sales, ('hr',))}/roles/hr", None

    _run(world, client, [
        ("grant it", grant("it"),                                            row(201, 403, 403, 403, 403, 201, 403, 201)),
        ("grant scoped admin", grant("admin", scope=lambda w: [w.a.sales]),  row(201, 403, 403, 403, 403, 201, 403, 201)),
        ("remove hr", remove,                                                row(204, 403, 403, 403, 403, 204, 403, 204)),
    ])  # fmt: skip


def test_spec_3_2_department_create_and_move_follow_role_and_admin_scope(world, client):
    def create(parent):
        return lambda w, _who: ("POST", "/api/v1/departments", {"name": fresh("Alpha New "), "parent_id": parent(w)})

    def move(src, dst):
        return lambda w, _who: ("PATCH", f"/api/v1/departments/{_department(w, src(w))}", {"parent_id": dst(w)})

    _run(world, client, [
        ("create in scope", create(sales),                        row(201, 201, 201, 403, 403, 201, 403, 201)),
        ("create out of scope", create(ops),                      row(201, 403, 201, 403, 403, 201, 403, 201)),
        ("move within scope", move(sales, lambda w: _department(w, w.a.sales)), row(200, 200, 200, 403, 403, 200, 403, 200)),
        ("move out of scope", move(sales, ops),                   row(200, 403, 200, 403, 403, 200, 403, 200)),
        ("move into scope", move(ops, sales),                     row(200, 403, 200, 403, 403, 200, 403, 200)),
    ])  # fmt: skip


@decided_in_python
def test_spec_3_2_service_tokens_are_created_by_super_admins_and_the_operator(world, client):
    def token(service):
        return lambda w, _who: ("POST", "/api/v1/tokens", {"name": "hr-sync", "service": service, "scopes": ["read_directory"]})

    _run(world, client, [
        ("service token", token(True),               row(201, 403, 403, 403, 403, 201, 403, 201)),
        # A personal token needs a person: a service token or the operator has none to own it.
        ("personal token", token(False),             row(201, 201, 201, 201, 201, 422, 422, 422)),
    ])  # fmt: skip


@decided_in_python
def test_spec_3_2_audit_trail_is_read_and_verified_by_super_admins_and_the_operator(world, client):
    _run(world, client, [
        ("read", get("/api/v1/audit"),               row(200, 403, 403, 403, 403, 200, 403, 200)),
        ("verify", get("/api/v1/audit/verify"),      row(200, 403, 403, 403, 403, 200, 403, 200)),
    ])  # fmt: skip


@decided_in_python
def test_spec_3_2_tenants_are_listed_and_created_by_the_operator_only(world, client):
    def create(w, _who):
        return "POST", "/api/v1/tenants", {"slug": fresh("t-"), "name": "New Co", "admin_userid": "boss", "admin_name": "Boss"}

    _run(world, client, [
        ("list", get("/api/v1/tenants"),             row(403, 403, 403, 403, 403, 403, 403, 200)),
        ("create", create,                           row(403, 403, 403, 403, 403, 403, 403, 201)),
    ])  # fmt: skip


def test_spec_3_2_exit_actions_follow_the_table(world, client):
    def plan(dept):
        return lambda w, _who: ("POST", f"/api/v1/members/{_member(w, dept(w))}/exit-plans", {})

    def own_plan(w, who):
        return ("POST", f"/api/v1/members/{w.a[who].member_id}/exit-plans", {}) if who in w.a.people else plan(sales)(w, who)

    def removal(dept, roles=()):
        return lambda w, _who: ("POST", "/api/v1/exits", {"member_id": _member(w, dept(w), roles), "reason_category": "dismissal", "reason": "test"})

    def restore(dept):
        return lambda w, who: ("POST", f"/api/v1/exits/{_exit(w, _member(w, dept(w)))}/restore", {"totp": _fresh_code(w, who), "reason": "removed by mistake"})

    def inherit(dept):
        return lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w, dept(w), customers=1))}/inherit", {"kind": "external_contact", "to": "alpha-member"})

    def hr_item(w, _who):  # item 4, reimbursements closed: attested by HR
        return "POST", f"/api/v1/exits/{_exit(w, _member(w, w.a.sales, open_reimbursement=True))}/reimbursements/close", {"evidence": "paid"}

    def it_item(w, _who):  # item 12, devices wiped or returned: attested by IT
        return "POST", f"/api/v1/exits/{_exit(w, _member(w, w.a.sales))}/checklist/access_revoked/attest", {"evidence": "laptop returned"}

    _run(world, client, [
        ("plan in scope", plan(sales),                         row(201, 201, 201, 201, 403, 201, 403, 201)),
        ("plan out of scope", plan(ops),                       row(201, 403, 201, 201, 403, 201, 403, 201)),
        ("plan own exit", own_plan,                            row(201, 201, 201, 201, 201, 201, 403, 201)),
        ("removal in scope", removal(sales),                   row(201, 201, 201, 403, 403, 201, 403, 201)),
        ("removal out of scope", removal(ops),                 row(201, 403, 201, 403, 403, 201, 403, 201)),
        # HR may remove members, but not admins (§3.2).
        ("removal of an admin", removal(sales, ("admin",)),    row(201, 201, 403, 403, 403, 201, 403, 201)),
        # A restore re-verifies a person's second factor (R-EXIT-6): no token without a person.
        ("restore in scope", restore(sales),                   row(200, 200, 200, 403, 403, 403, 403, 403)),
        ("restore out of scope", restore(ops),                 row(200, 403, 200, 403, 403, 403, 403, 403)),
        ("inherit in scope", inherit(sales),                   row(200, 200, 200, 403, 403, 200, 403, 200)),
        ("inherit out of scope", inherit(ops),                 row(200, 403, 200, 403, 403, 200, 403, 200)),
        ("attest an HR item", hr_item,                         row(403, 403, 200, 403, 403, 403, 403, 403)),
        ("attest an IT item", it_item,                         row(403, 403, 403, 200, 403, 403, 403, 403)),
    ])  # fmt: skip


def test_r_exit_2_a_member_leaves_by_self_service_and_only_themselves(world, client):
    member = world.a["member"]
    someone = _member(world, world.a.sales)
    for who in ("super", "hr"):
        voluntary_for_other = {"member_id": someone, "type": "voluntary", "reason_category": "resignation", "reason": "not theirs"}
        refused = client.post("/api/v1/exits", headers=world.a.bearer(who), json=voluntary_for_other)
        assert refused.status_code == 403, refused.text
    for who in ("service", "operator"):
        nobody = client.post("/api/v1/me/exit", headers=world.headers_for(world.a, who), json={"reason": "no person"})
        assert nobody.status_code == 422 and nobody.json()["error"] == "member_required"
    left = client.post("/api/v1/me/exit", headers=world.a.bearer("member"), json={"reason": "new job"})
    assert left.status_code == 201, left.text
    assert left.json()["member"]["userid"] == member.userid and left.json()["type"] == "voluntary"
    assert left.headers["Clear-Site-Data"] == '"cache", "storage"'
    # R-EXIT-1: the token that asked is dead at once.
    assert client.get("/api/v1/me", headers=world.a.bearer("member")).json()["error"] == "invalid_token"


@decided_in_python
def test_r_exit_3_a_super_admin_cannot_simply_leave(world, client):
    before = audit_seq(world.services, world.a.slug)
    refused = client.post("/api/v1/me/exit", headers=world.a.bearer("super"), json={"reason": "bye"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "exit_blocked"
    assert audit_seq(world.services, world.a.slug) == before
    assert client.get("/api/v1/me", headers=world.a.bearer("super")).status_code == 200


def test_spec_3_2_a_scoped_admin_lists_only_members_of_their_departments(world, client):
    listed = client.get("/api/v1/members", headers=world.a.bearer("admin")).json()
    assert {m["userid"] for m in listed["items"]} == {"alpha-admin", "alpha-member", "alpha-lab-hr", "alpha-leaver"}


@decided_in_python
def test_spec_3_2_token_scopes_narrow_what_a_super_admin_token_may_do(world, client):
    with tenant_transaction(world.services, world.a.slug, by="alpha-super") as uow:
        narrow = token_actions.create_token(uow, name="read only", service=False, scopes=["read_directory"]).token
    headers = {"Authorization": f"Bearer {narrow}"}
    before = audit_seq(world.services, world.a.slug)
    created = client.post("/api/v1/members", headers=headers, json={"userid": "alpha-nope", "name": "Nope"})
    assert created.status_code == 403 and created.json()["error"] == "scope_missing"  # the token, not the person, falls short
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    assert client.post(f"/api/v1/members/{world.a['member'].member_id}/roles", headers=headers, json={"role": "it"}).status_code == 403
    assert audit_seq(world.services, world.a.slug) == before
    assert client.get("/api/v1/members", headers=headers).status_code == 200
    # The same person with an all-scopes token may.
    assert client.post("/api/v1/members", headers=world.a.bearer("super"), json={"userid": "alpha-yes", "name": "Yes"}).status_code == 201


@decided_in_python
def test_spec_3_2_a_narrowed_token_cannot_mint_a_wider_token(world, client):
    """Otherwise a read-only token would be one request away from every scope."""
    with tenant_transaction(world.services, world.a.slug, by="alpha-super") as uow:
        narrow = token_actions.create_token(uow, name="read only", service=False, scopes=["read_directory", "manage_tokens"]).token
    headers = {"Authorization": f"Bearer {narrow}"}
    for service in (False, True):
        wider = client.post("/api/v1/tokens", headers=headers, json={"name": "wider", "service": service, "scopes": ["manage_directory"]})
        assert wider.status_code == 403, wider.text
        assert wider.json()["error"] == "scope_escalation"
    same = client.post("/api/v1/tokens", headers=headers, json={"name": "same", "service": True, "scopes": ["read_directory"]})
    assert same.status_code == 201, same.text


def test_r_exit_3_last_super_admin_cannot_be_demoted_over_the_api(world, client):
    boss = world.a["super"]
    for headers in (world.a.bearer("super"), world.operator(world.a.slug), {"Authorization": f"Bearer {world.a.service_token}"}):
        before = audit_seq(world.services, world.a.slug)
        refused = client.delete(f"/api/v1/members/{boss.member_id}/roles/super_admin", headers=headers)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "last_super_admin"
        assert audit_seq(world.services, world.a.slug) == before
    # With a second super admin, the first may go (INV-1 still holds).
    promoted = client.post(f"/api/v1/members/{world.a['hr'].member_id}/roles", headers=world.a.bearer("super"), json={"role": "super_admin"})
    assert promoted.status_code == 201, promoted.text
    assert client.delete(f"/api/v1/members/{boss.member_id}/roles/super_admin", headers=world.operator(world.a.slug)).status_code == 204
    last = client.delete(f"/api/v1/members/{world.a['hr'].member_id}/roles/super_admin", headers=world.operator(world.a.slug))
    assert last.status_code == 409 and last.json()["error"] == "last_super_admin"
