"""SCIM 2.0 Users over HTTP (RFC 7643, RFC 7644; issue 13): discovery, filtering and paging,
creation with case-insensitive userName uniqueness, and deprovisioning as the exit lifecycle,
in the request shapes Entra ID and Okta really send. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from offboard.store.tables import audit_events, exits, members, sessions
from tests.scim.conftest import ENTERPRISE, USER
from tests.support.db import actions_since, audit_seq


def _member(provider, userid: str):
    with provider.company.services.db.read() as conn:
        return conn.execute(select(members).where(members.c.tenant_id == provider.company.tenant_id, members.c.userid == userid).order_by(members.c.id.desc())).first()


def _exit(provider, member_id: int):
    with provider.company.services.db.read() as conn:
        return conn.execute(select(exits).where(exits.c.tenant_id == provider.company.tenant_id, exits.c.member_id == member_id).order_by(exits.c.id.desc())).first()


def test_issue_13_discovery_names_what_the_service_supports(provider):
    config = provider.get("/ServiceProviderConfig")
    assert config.status_code == 200 and config.headers["content-type"].startswith("application/scim+json")
    body = config.json()
    assert body["patch"]["supported"] and body["filter"]["supported"] and body["etag"]["supported"]
    assert not body["bulk"]["supported"] and body["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    user_type = next(t for t in provider.get("/ResourceTypes").json()["Resources"] if t["id"] == "User")
    assert user_type["endpoint"] == "/Users" and user_type["schemaExtensions"][0]["schema"] == ENTERPRISE
    assert USER in {s["id"] for s in provider.get("/Schemas").json()["Resources"]}


def test_issue_13_users_are_filtered_in_sql_and_paged(provider):
    leo = provider.company["leo"]
    found = provider.get("/Users", params={"filter": 'userName eq "LEO"'})
    assert found.status_code == 200, found.text
    found = found.json()  # RFC 7643: userName is case-insensitive
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == str(leo) and found["Resources"][0]["userName"] == "leo"
    assert found["Resources"][0]["active"] is True and found["Resources"][0]["meta"]["version"].startswith('W/"')
    everyone = provider.get("/Users").json()
    assert everyone["totalResults"] == 10 and everyone["startIndex"] == 1
    page = provider.get("/Users", params={"startIndex": 3, "count": 2}).json()
    assert page["totalResults"] == 10 and page["itemsPerPage"] == 2 and [r["id"] for r in page["Resources"]] == [r["id"] for r in everyone["Resources"][2:4]]
    okta = provider.get("/Users", params={"filter": 'userName eq "sam"', "startIndex": 1, "count": 100}).json()
    assert [r["userName"] for r in okta["Resources"]] == ["sam"]
    combined = provider.get("/Users", params={"filter": 'userName sw "s" and not (active eq false) or userName eq "boss"'}).json()
    assert sorted(r["userName"] for r in combined["Resources"]) == ["boss", "sam"]
    assert provider.get("/Users", params={"filter": 'meta.lastModified gt "2000-01-01T00:00:00Z"'}).json()["totalResults"] == 10
    assert provider.get("/Users", params={"filter": "emails pr"}).json()["totalResults"] == 0


def test_issue_13_entra_looks_users_up_by_an_unquoted_external_id(provider):
    created = provider.send("POST", "/Users", {"schemas": [USER], "userName": "nina@acme.example", "externalId": "8f2c1e", "displayName": "Nina"})
    assert created.status_code == 201, created.text
    found = provider.get("/Users", params={"filter": "externalId eq 8f2c1e"}).json()
    assert [r["userName"] for r in found["Resources"]] == ["nina@acme.example"]


def test_issue_13_a_filter_that_does_not_parse_is_400_invalid_filter(provider):
    before = audit_seq(provider.company.services, provider.company.slug)
    for bad in ('userName eq "a" or', "userName zz 1", 'nickName eq "x"', "active eq 12"):
        answer = provider.get("/Users", params={"filter": bad})
        assert answer.status_code == 400 and answer.json()["scimType"] == "invalidFilter", (bad, answer.text)
    assert audit_seq(provider.company.services, provider.company.slug) == before


def test_issue_13_a_user_is_created_and_a_duplicate_user_name_is_409_uniqueness(provider):
    body = {
        "schemas": [USER, ENTERPRISE],
        "userName": "Wu.Lei@acme.example",
        "name": {"givenName": "磊", "familyName": "吴"},
        "emails": [{"value": "wu.lei@acme.example", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "13900000000", "type": "mobile"}],
        "title": "销售",
        "active": True,
        ENTERPRISE: {"employeeNumber": "E-1024", "manager": {"value": str(provider.company["mona"])}},
    }
    created = provider.send("POST", "/Users", body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"].endswith(f"/scim/v2/Users/{user['id']}") and created.headers["etag"] == user["meta"]["version"]
    assert user["displayName"] == "吴磊" and user["emails"][0]["value"] == "wu.lei@acme.example" and user["title"] == "销售"
    assert user[ENTERPRISE]["employeeNumber"] == "E-1024" and user[ENTERPRISE]["manager"]["value"] == str(provider.company["mona"])
    member = _member(provider, "Wu.Lei@acme.example")
    assert (member.name, member.mobile, member.employee_number, member.manager_id) == ("吴磊", "13900000000", "E-1024", provider.company["mona"])
    again = provider.send("POST", "/Users", {**body, "userName": "wu.lei@ACME.example"})
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    unknown = provider.send("POST", "/Users", {"schemas": [USER], "userName": "x1", "frobnicate": 1})
    assert unknown.status_code == 400


def test_issue_13_entra_deprovisions_with_a_capitalised_replace_and_a_string_false(provider):
    sam = provider.company["sam"]
    before = audit_seq(provider.company.services, provider.company.slug)
    answer = provider.patch(sam, {"op": "Replace", "path": "active", "value": "False"})
    assert answer.status_code in (200, 204), answer.text
    exit_ = _exit(provider, sam)
    assert (exit_.state, exit_.trigger, exit_.type) == ("open", "scim", "removal")
    assert _member(provider, "sam").status == "exited"
    with provider.company.services.db.read() as conn:
        live = conn.execute(select(func.count()).where(sessions.c.tenant_id == provider.company.tenant_id, sessions.c.member_id == sam, sessions.c.revoked_at.is_(None))).scalar_one()
    assert live == 0  # sessions and tokens revoked at once (R-EXIT-1)
    assert {"exit.started", "member.access_cut", "exit.took_effect"} <= set(actions_since(provider.company.services, provider.company.slug, before))
    read = provider.get(f"/Users/{sam}").json()
    assert read["active"] is False  # still readable after deactivation, as Okta expects
    seq = audit_seq(provider.company.services, provider.company.slug)
    assert provider.patch(sam, {"op": "Replace", "path": "active", "value": "False"}).status_code in (200, 204)
    assert audit_seq(provider.company.services, provider.company.slug) == seq  # repeating it changes nothing


def test_issue_13_okta_deprovisions_with_a_path_less_replace_and_with_put(provider):
    rita, tina = provider.company["rita"], provider.company["tina"]
    assert provider.patch(rita, {"op": "replace", "value": {"active": False}}).status_code in (200, 204)
    assert _exit(provider, rita).trigger == "scim"
    current = provider.get(f"/Users/{tina}").json()
    replaced = provider.send("PUT", f"/Users/{tina}", {"schemas": [USER], "userName": current["userName"], "displayName": current["displayName"], "active": False})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["active"] is False and _exit(provider, tina).trigger == "scim"


def test_issue_13_reactivation_inside_the_window_restores_without_a_code_and_says_so(provider):
    sam = provider.company["sam"]
    provider.patch(sam, {"op": "replace", "path": "active", "value": False})
    provider.clock.advance(hours=2)
    answer = provider.patch(sam, {"op": "replace", "path": "active", "value": True})
    assert answer.status_code in (200, 204), answer.text
    assert _member(provider, "sam").status == "active" and _exit(provider, sam).state == "restored"
    with provider.company.services.db.read() as conn:
        details = conn.execute(select(audit_events.c.action, audit_events.c.actor).where(audit_events.c.tenant_id == provider.company.tenant_id).order_by(audit_events.c.seq.desc()).limit(1)).one()
    assert details.action == "exit.restored" and details.actor.startswith("token:")


def test_issue_13_delete_ends_the_window_and_the_user_is_404_from_then_on(provider):
    sam = provider.company["sam"]
    provider.patch(sam, {"op": "replace", "path": "active", "value": False})
    gone = provider.send("DELETE", f"/Users/{sam}")
    assert gone.status_code == 204, gone.text
    assert provider.get(f"/Users/{sam}").status_code == 404
    assert provider.send("DELETE", f"/Users/{sam}").status_code == 404
    exit_ = _exit(provider, sam)
    assert exit_.restore_until is not None and exit_.state == "open"  # finalized once HR and IT sign off (the checklist)
    assert provider.get("/Users", params={"filter": 'userName eq "sam"'}).json()["totalResults"] == 0


def test_issue_13_a_stale_if_match_is_412(provider):
    leo = provider.company["leo"]
    version = provider.get(f"/Users/{leo}").json()["meta"]["version"]
    assert provider.patch(leo, {"op": "replace", "path": "title", "value": "Lead"}, **{"If-Match": version}).status_code in (200, 204)
    stale = provider.patch(leo, {"op": "replace", "path": "title", "value": "Boss"}, **{"If-Match": version})
    assert stale.status_code == 412
    assert _member(provider, "leo").title == "Lead"


def test_issue_13_deprovisioning_the_last_super_admin_is_refused_naming_r_exit_3(provider):
    boss = provider.company["boss"]
    before = audit_seq(provider.company.services, provider.company.slug)
    # boss is the primary super admin: the role is handed over before its holder leaves
    answer = provider.patch(boss, {"op": "Replace", "path": "active", "value": "False"})
    assert answer.status_code == 409, answer.text
    assert "R-EXIT-3" in answer.json()["detail"]
    assert _member(provider, "boss").status == "active" and audit_seq(provider.company.services, provider.company.slug) == before


def test_issue_13_only_a_scim_token_of_the_enterprise_provisions(provider):
    assert provider.client.get("/scim/v2/Users").status_code == 401
    assert provider.client.get("/scim/v2/Users", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_issue_13_a_search_by_post_and_attributes_asked_for(provider):
    found = provider.send("POST", "/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'userName eq "leo"', "attributes": ["userName"]})
    assert found.status_code == 200, found.text
    (user,) = found.json()["Resources"]
    assert set(user) <= {"schemas", "id", "userName"}
    department = provider.get(f"/Users/{provider.company['leo']}", params={"attributes": f"{ENTERPRISE}:department"}).json()
    assert department[ENTERPRISE]["department"] == "East"  # read-only, returned when asked for
    assert "department" not in provider.get(f"/Users/{provider.company['leo']}").json().get(ENTERPRISE, {})


def test_issue_13_attributes_offboard_does_not_keep_are_dropped_unread(provider):
    body = {"schemas": [USER], "userName": "ola", "name": {"givenName": "Ola", "familyName": "Nordmann"}, "nickName": "O", "addresses": [{"streetAddress": "1 Main St"}], "password": "S3cret!"}
    created = provider.send("POST", "/Users", body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["displayName"] == "Ola Nordmann" and "nickName" not in user and "addresses" not in user and "password" not in user
    assert provider.patch(int(user["id"]), {"op": "replace", "path": "preferredLanguage", "value": "zh-CN"}).status_code in (200, 204)


def test_issue_13_malformed_requests_are_scim_errors_and_change_nothing(provider):
    before = audit_seq(provider.company.services, provider.company.slug)
    leo = provider.company["leo"]
    cases = [
        ("POST", "/Users", b"{not json"),
        ("POST", "/Users", b"[]"),
        ("POST", "/Users", b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": 12}'),
        ("POST", "/Users", b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "' + b"x" * 300 + b'"}'),
        ("PATCH", f"/Users/{leo}", b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "frobnicate", "path": "title", "value": "x"}]}'),
        ("PATCH", f"/Users/{leo}", b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "nosuch.thing", "value": "x"}]}'),
        (
            "PATCH",
            f"/Users/{leo}",
            b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "not-an-id"}]}',
        ),
        ("PUT", "/Users/abc", b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"}'),
        ("GET", "/Users/999999999999999999999", b""),
        ("GET", "/Nothing", b""),
    ]
    for method, path, body in cases:
        answer = provider.client.request(method, f"/scim/v2{path}", content=body, headers=provider.headers)
        assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text)
        assert "urn:ietf:params:scim:api:messages:2.0:Error" in answer.json()["schemas"], answer.text
    assert audit_seq(provider.company.services, provider.company.slug) == before


def test_issue_13_an_enterprise_whose_exits_start_by_hand_refuses_a_scim_deprovisioning(services, clock):
    from offboard.actions import policy as policy_actions
    from offboard.actions import scim as scim_actions
    from offboard.actions.context import tenant_transaction
    from fastapi.testclient import TestClient

    from offboard.api.app import create_app
    from tests.scim.conftest import Provider
    from tests.support.exits import make_company

    company = make_company(services, slug="manual", profile="wecom")  # exits start by hand
    with tenant_transaction(services, company.slug, "boss") as uow:
        token = scim_actions.create_token(uow, "Okta").token
    idp = Provider(company, TestClient(create_app(services)), token, clock)
    sam = company["sam"]
    before = audit_seq(services, company.slug)
    refused = idp.patch(sam, {"op": "replace", "value": {"active": False}})
    assert refused.status_code == 409 and "(exit_trigger_disabled)" in refused.json()["detail"] and "by hand" in refused.json()["detail"]
    assert audit_seq(services, company.slug) == before and idp.get(f"/Users/{sam}").json()["active"] is True
    assert idp.patch(sam, {"op": "replace", "path": "title", "value": "Seller"}).status_code in (200, 204)  # the directory still syncs
    with tenant_transaction(services, company.slug, "boss") as uow:
        policy_actions.set_policy(uow, {"exit_automation": "hr_sync"})
    assert idp.patch(sam, {"op": "replace", "value": {"active": False}}).status_code in (200, 204)
    assert idp.get(f"/Users/{sam}").json()["active"] is False
