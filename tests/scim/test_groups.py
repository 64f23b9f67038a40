"""SCIM 2.0 Groups over HTTP (RFC 7643 §4.2, RFC 7644; issue 13): each department is a Group,
its members are the members directly in it, and a member added or removed is a member moved
through the directory's own action, audited. The request shapes Entra ID and Okta really send
are replayed below as they send them. SQLite: the storage is the directory's, tested on both
databases elsewhere."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from offboard.actions import scim as scim_actions
from offboard.actions.context import tenant_transaction
from offboard.api.app import create_app
from offboard.store.tables import audit_events, audit_side, departments, member_departments
from tests.scim.conftest import GROUP, PATCH_OP, Provider
from tests.support.db import actions_since, audit_seq, tree_problems
from tests.support.exits import make_company

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


# What Entra ID sends (its group provisioning, as captured from its requests).
def entra_add_member(member_id: int) -> dict:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"value": str(member_id)}]}]}


def entra_remove_member(member_id: int) -> dict:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": f'members[value eq "{member_id}"]'}]}


def entra_remove_members_by_value(*member_ids: int) -> dict:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": str(m)} for m in member_ids]}]}


def entra_rename(name: str) -> dict:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "displayName", "value": name}]}


# What Okta sends (Group Push).
def okta_rename(group_id: str, name: str) -> dict:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": name}}]}


def okta_members(add: list[tuple[int, str]] = (), remove: list[tuple[int, str]] = ()) -> dict:
    operations = []
    if remove:
        operations += [{"op": "remove", "path": f'members[value eq "{m}"]'} for m, _name in remove]
    if add:
        operations.append({"op": "add", "path": "members", "value": [{"value": str(m), "display": name} for m, name in add]})
    return {"schemas": [PATCH_OP], "Operations": operations}


def _patch(provider: Provider, group_id: int | str, body: dict, **headers: str):
    return provider.send("PATCH", f"/Groups/{group_id}", body, **headers)


def _member_ids(group: dict) -> list[int]:
    return sorted(int(m["value"]) for m in group.get("members", []))


def _departments_of(provider: Provider, member_id: int) -> list[int]:
    with provider.company.services.db.read() as conn:
        rows = conn.execute(
            select(member_departments.c.department_id)
            .where(member_departments.c.tenant_id == provider.company.tenant_id, member_departments.c.member_id == member_id)
            .order_by(member_departments.c.is_primary.desc(), member_departments.c.department_id)
        )
        return list(rows.scalars())


def _events_since(provider: Provider, seq: int) -> list[tuple[str, list[str], dict]]:
    with provider.company.services.db.read() as conn:
        rows = conn.execute(
            select(audit_events.c.action, audit_events.c.targets, audit_side.c.details)
            .join(audit_side, (audit_side.c.tenant_id == audit_events.c.tenant_id) & (audit_side.c.seq == audit_events.c.seq))
            .where(audit_events.c.tenant_id == provider.company.tenant_id, audit_events.c.seq > seq)
            .order_by(audit_events.c.seq)
        )
        return [(r.action, r.targets, r.details) for r in rows]


def _tree_is_consistent(provider: Provider) -> None:
    with provider.company.services.db.read() as conn:
        assert tree_problems(conn, provider.company.tenant_id) == []


def test_issue_13_departments_are_groups_with_their_members(provider):
    d = provider.company.departments
    types = {t["id"]: t for t in provider.get("/ResourceTypes").json()["Resources"]}
    assert types["Group"]["endpoint"] == "/Groups" and types["Group"]["schema"] == GROUP
    (schema,) = [s for s in provider.get("/Schemas").json()["Resources"] if s["id"] == GROUP]
    (members,) = [a for a in schema["attributes"] if a["name"] == "members"]
    subs = {a["name"]: a for a in members["subAttributes"]}
    assert subs["display"]["mutability"] == "readOnly" and subs["type"]["canonicalValues"] == ["User"]
    listed = provider.get("/Groups").json()
    assert listed["totalResults"] == 4 and [g["id"] for g in listed["Resources"]] == [str(d[n]) for n in ("root", "Sales", "East", "Legal")]
    east = provider.get(f"/Groups/{d['East']}")
    assert east.status_code == 200 and east.headers["etag"] == east.json()["meta"]["version"]
    east = east.json()
    assert east["displayName"] == "East" and east["meta"]["resourceType"] == "Group" and east["meta"]["lastModified"]
    leo = provider.company["leo"]
    assert {"value": str(leo), "$ref": f"http://testserver/scim/v2/Users/{leo}", "type": "User", "display": "Leo"} in east["members"]
    assert _member_ids(east) == sorted(provider.company[u] for u in ("leo", "sam", "rita"))  # direct members only: not Sales's
    assert _member_ids(provider.get(f"/Groups/{d['Sales']}").json()) == sorted(provider.company[u] for u in ("mona", "tina"))
    for missing in ("999999", "abc", "0"):
        answer = provider.get(f"/Groups/{missing}")
        assert answer.status_code == 404 and "urn:ietf:params:scim:api:messages:2.0:Error" in answer.json()["schemas"]


def test_issue_13_groups_are_filtered_paged_and_read_without_members(provider):
    d = provider.company.departments
    # Entra looks a group up by its name, without its members
    entra = provider.get("/Groups", params={"filter": 'displayName eq "sales"', "excludedAttributes": "members"}).json()
    assert [g["id"] for g in entra["Resources"]] == [str(d["Sales"])] and "members" not in entra["Resources"][0]
    assert "members" not in provider.get(f"/Groups/{d['East']}", params={"excludedAttributes": "members"}).json()
    assert [g["displayName"] for g in provider.get("/Groups", params={"filter": 'displayName co "a"'}).json()["Resources"]] == ["Acme", "Sales", "East", "Legal"]
    assert [g["displayName"] for g in provider.get("/Groups", params={"filter": 'displayName sw "LE"'}).json()["Resources"]] == ["Legal"]
    rita = provider.company["rita"]
    assert [g["id"] for g in provider.get("/Groups", params={"filter": f'members eq "{rita}"'}).json()["Resources"]] == [str(d["East"])]
    assert provider.get("/Groups", params={"filter": f'id eq "{d["Legal"]}" and members[value eq "{rita}"]'}).json()["totalResults"] == 0
    page = provider.get("/Groups", params={"startIndex": 2, "count": 2}).json()
    assert page["totalResults"] == 4 and page["itemsPerPage"] == 2 and [g["id"] for g in page["Resources"]] == [str(d["Sales"]), str(d["East"])]
    assert provider.get("/Groups", params={"count": 0}).json()["totalResults"] == 4
    found = provider.send("POST", "/Groups/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'displayName eq "East"', "attributes": ["displayName"]})
    assert found.status_code == 200 and set(found.json()["Resources"][0]) <= {"schemas", "id", "displayName"}
    everything = provider.send("POST", "/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'displayName eq "Legal"'}).json()
    assert [(r["meta"]["resourceType"], r["displayName"]) for r in everything["Resources"]] == [("Group", "Legal")]  # no User has that name
    before = audit_seq(provider.company.services, provider.company.slug)
    for bad in ('userName eq "leo"', 'displayName eq "a" or', 'members co "1"', 'members[display eq "Leo"]'):
        answer = provider.get("/Groups", params={"filter": bad})
        assert answer.status_code == 400 and answer.json()["scimType"] == "invalidFilter", (bad, answer.text)
    assert audit_seq(provider.company.services, provider.company.slug) == before


def test_issue_13_a_group_created_is_a_department_under_the_root_and_a_duplicate_name_is_409(provider):
    d, sam = provider.company.departments, provider.company["sam"]
    before = audit_seq(provider.company.services, provider.company.slug)
    created = provider.send("POST", "/Groups", {"schemas": [GROUP], "displayName": "运营部", "externalId": "8e1c-ops", "members": [{"value": str(sam), "display": "Sam"}]})
    assert created.status_code == 201, created.text
    group = created.json()
    assert created.headers["location"].endswith(f"/scim/v2/Groups/{group['id']}") and created.headers["etag"] == group["meta"]["version"]
    assert group["displayName"] == "运营部" and group["externalId"] == "8e1c-ops" and _member_ids(group) == [sam]
    with provider.company.services.db.read() as conn:
        row = conn.execute(select(departments).where(departments.c.tenant_id == provider.company.tenant_id, departments.c.id == int(group["id"]))).one()
    assert (row.parent_id, row.name, row.external_id, row.headcount) == (d["root"], "运营部", "8e1c-ops", 1)
    assert _departments_of(provider, sam) == [d["East"], int(group["id"])]  # joined, still in East
    assert actions_since(provider.company.services, provider.company.slug, before) == ["department.added", "member.updated"]
    assert provider.get("/Groups", params={"filter": "externalId eq 8e1c-ops"}).json()["totalResults"] == 1  # Entra's unquoted value
    seq = audit_seq(provider.company.services, provider.company.slug)
    for duplicate in ({"displayName": "SALES"}, {"displayName": "运营部"}, {"displayName": "Other", "externalId": "8e1c-ops"}):
        again = provider.send("POST", "/Groups", {"schemas": [GROUP], **duplicate})
        assert again.status_code == 409 and again.json()["scimType"] == "uniqueness", (duplicate, again.text)
    for bad in (
        {"displayName": ""},
        {},
        {"displayName": "X", "members": [{"value": "leo"}]},
        {"displayName": "X", "members": [{"value": "999999"}]},
        {"displayName": "X", "members": [{"value": str(d["Legal"]), "type": "Group"}]},
    ):
        answer = provider.send("POST", "/Groups", {"schemas": [GROUP], **bad})
        assert answer.status_code == 400, (bad, answer.text)
    assert audit_seq(provider.company.services, provider.company.slug) == seq


def test_issue_13_entra_moves_members_in_and_out_and_every_move_is_audited(provider):
    d, sam, hanna = provider.company.departments, provider.company["sam"], provider.company["hanna"]
    legal = d["Legal"]
    version = provider.get(f"/Groups/{legal}").json()["meta"]["version"]
    before = audit_seq(provider.company.services, provider.company.slug)
    assert _patch(provider, legal, entra_add_member(hanna)).status_code == 204
    assert _departments_of(provider, hanna) == [legal]  # only in the root, so moved out of it
    assert _patch(provider, legal, entra_add_member(sam)).status_code == 204
    assert _departments_of(provider, sam) == [d["East"], legal]
    (action, targets, details), _second = _events_since(provider, before)
    assert (action, targets) == ("member.updated", [f"member:{hanna}"])
    assert details["before"]["department_ids"] == [d["root"]] and details["after"]["department_ids"] == [legal]
    group = provider.get(f"/Groups/{legal}").json()
    assert _member_ids(group) == sorted([provider.company["lone"], hanna, sam]) and group["meta"]["version"] != version
    seq = audit_seq(provider.company.services, provider.company.slug)
    assert _patch(provider, legal, entra_add_member(sam)).status_code == 204  # a member already in it: nothing to do
    assert audit_seq(provider.company.services, provider.company.slug) == seq
    assert _patch(provider, legal, entra_remove_member(hanna)).status_code == 204
    assert _departments_of(provider, hanna) == [d["root"]]  # her only department left: placed in the root
    assert _patch(provider, legal, entra_remove_members_by_value(sam, provider.company["lone"])).status_code == 204
    assert _departments_of(provider, sam) == [d["East"]] and _departments_of(provider, provider.company["lone"]) == [d["root"]]
    assert _member_ids(provider.get(f"/Groups/{legal}").json()) == []
    assert actions_since(provider.company.services, provider.company.slug, seq) == ["member.updated"] * 3
    _tree_is_consistent(provider)
    # the root is where a member without a department is: they cannot leave it for nowhere
    refused = _patch(provider, d["root"], entra_remove_member(hanna))
    assert refused.status_code == 409 and "(scim_member_only_in_root)" in refused.json()["detail"] and "hanna" in refused.json()["detail"]
    assert _patch(provider, legal, entra_rename("Legal & Compliance")).status_code == 204
    assert provider.get(f"/Groups/{legal}").json()["displayName"] == "Legal & Compliance"


def test_issue_13_okta_renames_with_a_path_less_replace_and_pushes_members(provider):
    d, mona, tina = provider.company.departments, provider.company["mona"], provider.company["tina"]
    sales = d["Sales"]
    before = audit_seq(provider.company.services, provider.company.slug)
    renamed = _patch(provider, sales, okta_rename(str(sales), "Sales China"), **{})
    assert renamed.status_code == 204, renamed.text
    ((action, targets, details),) = _events_since(provider, before)
    assert (action, targets, details) == ("department.updated", [f"department:{sales}"], {"before": {"name": "Sales"}, "after": {"name": "Sales China"}})
    assert _patch(provider, sales, okta_rename(str(sales), "legal")).status_code == 409  # a sibling's name, but for case
    pushed = _patch(provider, sales, okta_members(add=[(provider.company["ivan"], "Ivan")], remove=[(tina, "Tina")]))
    assert pushed.status_code == 204, pushed.text
    assert _member_ids(provider.get(f"/Groups/{sales}").json()) == sorted([mona, provider.company["ivan"]])
    assert _departments_of(provider, tina) == [d["root"]]
    _tree_is_consistent(provider)


def test_issue_13_put_replaces_the_name_and_the_members_it_names_and_keeps_those_it_does_not(provider):
    d, lone, rita = provider.company.departments, provider.company["lone"], provider.company["rita"]
    legal = d["Legal"]
    kept = provider.send("PUT", f"/Groups/{legal}", {"schemas": [GROUP], "displayName": "Law"})
    assert kept.status_code == 200, kept.text
    assert kept.json()["displayName"] == "Law" and _member_ids(kept.json()) == [lone]  # no members named: they stay
    replaced = provider.send("PUT", f"/Groups/{legal}", {"schemas": [GROUP], "displayName": "Law", "members": [{"value": str(rita)}]})
    assert replaced.status_code == 200 and _member_ids(replaced.json()) == [rita]
    assert _departments_of(provider, lone) == [d["root"]] and _departments_of(provider, rita) == [d["East"], legal]
    emptied = provider.send("PUT", f"/Groups/{legal}", {"schemas": [GROUP], "displayName": "Law", "members": []})
    assert emptied.status_code == 200 and "members" not in emptied.json()
    _tree_is_consistent(provider)


def test_issue_13_a_stale_if_match_is_412_and_the_version_follows_the_members(provider):
    d = provider.company.departments
    legal = d["Legal"]
    first = provider.get(f"/Groups/{legal}").json()["meta"]
    provider.clock.advance(hours=1)
    assert _patch(provider, legal, entra_add_member(provider.company["ivan"]), **{"If-Match": first["version"]}).status_code == 204
    second = provider.get(f"/Groups/{legal}").json()["meta"]
    assert second["version"] != first["version"] and second["lastModified"] > first["lastModified"]
    stale = _patch(provider, legal, entra_rename("Nope"), **{"If-Match": first["version"]})
    assert stale.status_code == 412
    assert provider.send("DELETE", f"/Groups/{legal}", None, **{"If-Match": first["version"]}).status_code == 412
    assert provider.get(f"/Groups/{legal}").json()["displayName"] == "Legal"
    unchanged = provider.get(f"/Groups/{legal}", headers={"If-None-Match": second["version"]})
    assert unchanged.status_code == 304


def test_issue_13_a_departed_member_stays_listed_until_the_user_is_deleted(provider):
    east, sam = provider.company.departments["East"], provider.company["sam"]
    assert provider.patch(sam, {"op": "Replace", "path": "active", "value": "False"}).status_code in (200, 204)
    assert sam in _member_ids(provider.get(f"/Groups/{east}").json())  # readable as a User, so listed (RFC 7644 §3.6)
    version = provider.get(f"/Groups/{east}").json()["meta"]["version"]
    assert provider.send("DELETE", f"/Users/{sam}").status_code == 204
    after = provider.get(f"/Groups/{east}").json()
    assert sam not in _member_ids(after) and after["meta"]["version"] != version
    assert provider.get("/Groups", params={"filter": f'members eq "{sam}"'}).json()["totalResults"] == 0
    refused = _patch(provider, east, entra_add_member(sam))
    assert refused.status_code == 400 and "(scim_member_not_found)" in refused.json()["detail"]


def test_issue_13_only_an_empty_department_without_sub_departments_is_deleted(provider):
    d = provider.company.departments
    before = audit_seq(provider.company.services, provider.company.slug)
    for group, code, words in (
        (d["Legal"], "department_has_members", "still has 1 member(s)"),
        (d["Sales"], "department_has_subdepartments", "has 1 sub-department(s)"),
        (d["root"], "scim_root_department", "the enterprise itself"),
    ):
        refused = provider.send("DELETE", f"/Groups/{group}")
        assert refused.status_code == 409 and f"({code})" in refused.json()["detail"] and words in refused.json()["detail"], refused.text
    assert audit_seq(provider.company.services, provider.company.slug) == before
    assert _patch(provider, d["Legal"], entra_remove_member(provider.company["lone"])).status_code == 204
    seq = audit_seq(provider.company.services, provider.company.slug)
    assert provider.send("DELETE", f"/Groups/{d['Legal']}").status_code == 204
    assert actions_since(provider.company.services, provider.company.slug, seq) == ["department.dissolved"]
    assert provider.get(f"/Groups/{d['Legal']}").status_code == 404 and provider.send("DELETE", f"/Groups/{d['Legal']}").status_code == 404
    with provider.company.services.db.read() as conn:
        status = conn.execute(select(departments.c.status).where(departments.c.tenant_id == provider.company.tenant_id, departments.c.id == d["Legal"])).scalar_one()
    assert status == "dissolved"  # kept with its history, gone for SCIM
    again = provider.send("POST", "/Groups", {"schemas": [GROUP], "displayName": "Legal"})
    assert again.status_code == 201  # a dissolved department's name is free again


def test_issue_13_a_page_of_groups_with_their_members_is_a_fixed_number_of_statements(provider):
    def reads(params: dict) -> list[str]:
        """The statements of the read of the groups (authentication aside)."""
        seen: list[str] = []

        def record(_conn, _cursor, statement, *_args) -> None:
            seen.append(statement)

        event.listen(provider.company.services.db.engine, "before_cursor_execute", record)
        try:
            page = provider.get("/Groups", params=params)
        finally:
            event.remove(provider.company.services.db.engine, "before_cursor_execute", record)
        assert page.status_code == 200
        return [s for s in seen if "departments" in s]

    assert len(reads({})) == 3  # the total, the page, its members
    for n in range(6):
        created = provider.send("POST", "/Groups", {"schemas": [GROUP], "displayName": f"Team {n}", "members": [{"value": str(provider.company["ivan"])}]})
        assert created.status_code == 201
    assert len(reads({})) == 3 and len(reads({"count": 5})) == 3
    assert len(reads({"excludedAttributes": "members"})) == 2


def test_inv_8_a_token_of_another_enterprise_sees_and_changes_no_group(provider, services, clock):
    ops = provider.send("POST", "/Groups", {"schemas": [GROUP], "displayName": "Ops"}).json()["id"]
    nina = provider.send("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "nina", "displayName": "Nina"}).json()["id"]
    other = make_company(services, slug="globex")  # ids are per enterprise: its departments and members reuse acme's
    with tenant_transaction(services, other.slug, "boss") as uow:
        token = scim_actions.create_token(uow, "Entra ID").token
    intruder = Provider(other, TestClient(create_app(services)), token, clock)
    listed = intruder.get("/Groups").json()
    assert listed["totalResults"] == 4 and "Ops" not in {g["displayName"] for g in listed["Resources"]}
    assert intruder.get("/Groups", params={"filter": 'displayName eq "Ops"'}).json()["totalResults"] == 0
    before = audit_seq(services, provider.company.slug)
    assert intruder.get(f"/Groups/{ops}").status_code == 404
    assert intruder.send("PATCH", f"/Groups/{ops}", entra_rename("Ours")).status_code == 404
    assert intruder.send("PUT", f"/Groups/{ops}", {"schemas": [GROUP], "displayName": "Ours"}).status_code == 404
    assert intruder.send("DELETE", f"/Groups/{ops}").status_code == 404
    refused = intruder.send("PATCH", f"/Groups/{other.departments['Legal']}", entra_add_member(int(nina)))
    assert refused.status_code == 400 and "(scim_member_not_found)" in refused.json()["detail"]
    assert audit_seq(services, provider.company.slug) == before
    assert provider.get(f"/Groups/{ops}").json()["displayName"] == "Ops"
