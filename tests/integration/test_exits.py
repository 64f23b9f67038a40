"""The exit engine through the service layer, on SQLite and PostgreSQL: plan, exit, scheduled
exits, asynchronous customer transfers, inheritance, restore, the checklist and finalization
(SPEC §4-7, INV-2/3/4/7). Small hand-made tenants (tests/support/exits.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from offboard.queries import checklist as cl_queries
from offboard.queries.checklist import ChecklistBoard
from offboard.queries import exits as exit_queries
from offboard.actions import checklist as cl_actions
from offboard.actions import departments as dept_actions
from offboard.actions import exits as exit_actions
from offboard.actions import inheritance
from offboard.actions import members as member_actions
from offboard.actions import restore as restore_actions
from offboard.actions import roles as role_actions
from offboard.jobs import reconciler
from offboard.actions import tokens as token_actions
from offboard.actions.auth import authenticate_bearer, authenticate_session
from offboard.domain.lifecycle import retention_end
from offboard.actions import auth
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import ResourceKind
from offboard.store import repo
from offboard.store.tables import api_tokens as api_tokens_table
from offboard.store.tables import (
    app_grants,
    calendars,
    departments,
    devices,
    documents,
    exit_plans,
    external_contacts,
    members,
    messages,
    roles,
    sessions,
)
from tests.support.db import actions_since, audit_seq, snapshot
from tests.support.exits import (
    TABLE_KINDS,
    Company,
    add_approval_template_task,
    count,
    give,
    give_records,
    ledger,
    make_company,
    open_session,
    owned_by,
    owner,
    resource,
    start,
    totp_now,
)
from tests.support.invariants import all_problems

K = ResourceKind


def refused(fn, *args, **kwargs) -> OffboardError:
    with pytest.raises(OffboardError) as exc:
        fn(*args, **kwargs)
    return exc.value


def act(company: Company, by: str | None, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def checklist(company: Company, exit_id: int) -> dict:
    with tenant_read(company.services, company.slug, "hanna") as (conn, tenant, actor):
        return cl_queries.checklist(conn, tenant, actor, exit_id, company.services.clock.now())


def open_items(company: Company, exit_id: int) -> dict[str, dict]:
    return {i.key: i.detail for i in checklist(company, exit_id).items if not i.done}


def member_row(company: Company, userid: str):
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        return conn.execute(select(members).where(members.c.tenant_id == tenant.id, members.c.id == company[userid])).one()


def headcounts(company: Company) -> dict[str, tuple[int, str]]:
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        rows = {r.id: (r.headcount, r.status) for r in conn.execute(select(departments).where(departments.c.tenant_id == tenant.id))}
    return {name: rows[i] for name, i in company.departments.items()}


def assert_invariants(company: Company) -> None:
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        assert all_problems(conn, tenant.id) == {}


def restore(company: Company, exit_id: int, by: str = "hanna", reason: str = "mistaken exit"):
    company.services.clock.advance(seconds=31)  # a fresh TOTP step: each code is accepted once
    return act(company, by, restore_actions.restore_exit, exit_id, totp=totp_now(by, company.services), reason=reason)


def clear_manager(company: Company, userid: str) -> None:
    act(company, None, member_actions.update_member, userid, changes={}, clear_manager=True)


def sweep(company: Company) -> dict:
    return reconciler.reconcile(company.services).as_dict()


# --- R-EXIT-5 plan before act --------------------------------------------------------------------------


def test_r_exit_5_plan_stores_an_id_and_digest_and_changes_nothing_else(services):
    company = make_company(services)
    before = snapshot(services)
    plan = act(company, "hanna", exit_actions.plan, "leo", successor="sam")
    after = snapshot(services)
    changed = {t for t in before["counts"] if before["counts"][t] != after["counts"][t]}
    assert changed == {"exit_plans", "audit_events", "audit_side"}
    assert after["counts"]["exit_plans"] == before["counts"]["exit_plans"] + 1
    assert re.fullmatch(r"[0-9a-f]{64}", plan.digest)
    assert plan.ok and plan.blockers == []
    assert {k.kind: (k.count, k.acceptor) for k in plan.kinds} == {
        **{k.value: (2, "sam") for k in TABLE_KINDS},
        "direct_report": (2, "sam"),
        "department_leader": (1, "sam"),
    }
    with tenant_read(services, "acme") as (conn, tenant, _):
        stored = conn.execute(select(exit_plans).where(exit_plans.c.tenant_id == tenant.id, exit_plans.c.id == plan.plan_id)).one()
    assert (stored.member_id, stored.digest) == (company["leo"], plan.digest)
    assert member_row(company, "leo").status == "active"
    assert owned_by(company, "leo")["document"] == 2
    assert ledger(company) == []


def test_r_exit_5_exit_by_plan_id_is_refused_as_plan_stale_when_the_data_changed(services):
    company = make_company(services)
    plan = act(company, "hanna", exit_actions.plan, "leo", successor="sam")
    give(company, "leo", 1, kinds=[K.DOCUMENT])  # a new document for the leaver since the plan
    before = snapshot(services)
    err = refused(start, company, plan_id=plan.plan_id)
    assert (err.code, err.status) == ("plan_stale", 409)
    assert snapshot(services) == before
    fresh = act(company, "hanna", exit_actions.plan, "leo", successor="sam")
    assert fresh.digest != plan.digest
    result = start(company, plan_id=fresh.plan_id)
    assert result.state == "open" and result.plan_id == fresh.plan_id
    assert result.successor_id == company["sam"]  # the choices come from the stored plan
    assert result.ledger["document"] == {"done": 3}


def test_r_exit_5_a_plan_of_another_member_is_not_found(services):
    company = make_company(services)
    plan = act(company, "hanna", exit_actions.plan, "rita")
    err = refused(start, company, "leo", plan_id=plan.plan_id)
    assert (err.code, err.status) == ("plan_not_found", 404)


def test_r_exit_5_blockers_refuse_the_exit_and_name_why(services):
    company = make_company(services)
    start(company, "tina", successor="mona")
    plan = act(company, "hanna", exit_actions.plan, "leo", successor="tina")
    assert [b.code for b in plan.blockers] == ["acceptor_invalid"]
    for successor, code in (("tina", "acceptor_invalid"), ("leo", "acceptor_is_leaver")):
        plan = act(company, "hanna", exit_actions.plan, "leo", successor=successor)
        assert [b.code for b in plan.blockers] == [code]
        err = refused(start, company, successor=successor)
        assert (err.code, err.status) == ("exit_blocked", 409)
    # A successor who is leaving too (a scheduled exit of their own) is refused as well.
    start(company, "rita", effective_at=services.clock.now() + timedelta(days=3))
    plan = act(company, "hanna", exit_actions.plan, "leo", successor="rita")
    assert [b.code for b in plan.blockers] == ["acceptor_leaving"]
    assert refused(start, company, successor="rita").code == "exit_blocked"
    assert member_row(company, "leo").status == "active"
    err = refused(start, company, successor="nobody")
    assert err.code == "member_not_found"


# --- R-EXIT-1 access cut --------------------------------------------------------------------------------


def test_r_exit_1_access_is_cut_at_exit_and_inv_7_revoked_credentials_are_rejected(services):
    company = make_company(services)
    give_records(company, "leo")
    act(company, None, role_actions.grant_role, "leo", "admin", scope=[company.departments["East"]])
    session = open_session(company, "leo")
    personal = act(company, "leo", token_actions.create_token, name="cli", service=False, scopes=["plan"])
    service = act(company, None, token_actions.create_token, name="hr-sync", service=True, scopes=["plan"])
    assert authenticate_bearer(services, personal.token).actor.userid == "leo"
    assert authenticate_session(services, session).actor.userid == "leo"
    before = headcounts(company)
    start(company, by="boss", successor="sam")

    leo = member_row(company, "leo")
    assert leo.status == "exited" and leo.exited_at == services.clock.now()
    assert count(company, sessions, sessions.c.member_id == company["leo"], sessions.c.revoked_at.is_(None)) == 0
    assert count(company, api_tokens_table, api_tokens_table.c.member_id == company["leo"], api_tokens_table.c.revoked_at.is_(None)) == 0
    for check, token in ((authenticate_bearer, personal.token), (authenticate_session, session)):
        err = refused(check, services, token)
        assert err.status == 401
    assert authenticate_bearer(services, service.token).actor.kind == "service"  # the tenant's token survives
    assert count(company, roles, roles.c.member_id == company["leo"], roles.c.status != "suspended") == 0
    assert count(company, roles, roles.c.member_id == company["leo"]) == 1
    assert count(company, devices, devices.c.member_id == company["leo"], devices.c.status != "wipe_pending") == 0
    after = headcounts(company)
    for name in ("root", "Sales", "East"):
        assert after[name][0] == before[name][0] - 1
    assert after["Legal"] == before["Legal"]
    err = refused(act, company, "leo", exit_actions.plan, "leo")
    assert err.code == "actor_inactive"  # the departed member can no longer act
    assert_invariants(company)


def test_r_exit_3_a_super_admin_is_refused_until_handed_over_and_the_last_one_never_leaves(services):
    company = make_company(services)
    err = refused(start, company, "deputy", by="boss")
    assert (err.code, err.status) == ("exit_blocked", 409)
    assert err.params["blockers"].values == ("super_admin_not_handed_over",) and "Super admin role not handed over" in str(err)
    err = refused(start, company, "boss", by="boss", type="voluntary")
    assert err.code == "exit_blocked"
    act(company, "boss", role_actions.remove_role, "deputy", "super_admin")
    err = refused(start, company, "boss", by="boss", type="voluntary")
    assert err.code == "exit_blocked" and "last_super_admin" in err.params["blockers"].values and "Last super admin" in str(err)
    assert start(company, "deputy", by="boss").state == "open"
    with tenant_read(services, "acme") as (conn, tenant, _):
        assert all_problems(conn, tenant.id) == {}


def test_r_exit_2_a_voluntary_exit_is_only_the_members_own(services):
    company = make_company(services)
    for by in ("hanna", "boss", "mona"):
        err = refused(start, company, "leo", by=by, type="voluntary")
        assert (err.code, err.status) == ("forbidden", 403)
    result = start(company, "leo", by="leo", type="voluntary", successor="sam")
    assert (result.type, result.trigger, result.state) == ("voluntary", "self", "open")
    assert result.requested_by == f"member:{company['leo']}"


def test_r_exit_4_hr_removes_members_but_not_admins(services):
    company = make_company(services)
    act(company, None, role_actions.grant_role, "rita", "admin", scope=[company.departments["East"]])
    err = refused(start, company, "rita")
    assert (err.code, err.status) == ("forbidden", 403)
    for by in ("ivan", "sam"):  # IT and ordinary members do not remove anyone
        assert refused(start, company, "tina", by=by).status == 403
    assert start(company, "rita", by="boss").trigger == "admin"
    result = start(company, "tina", by="hanna")
    assert (result.type, result.trigger) == ("removal", "hr")


def test_r_exit_4_a_member_with_an_open_exit_gets_exit_exists_naming_it(services):
    company = make_company(services)
    first = start(company, "leo", successor="sam")
    err = refused(start, company, "leo", successor="sam")
    assert (err.code, err.status) == ("exit_exists", 409)
    assert f"id {first.id}" in str(err) and "Open" in str(err) and err.params["state"].value == "open"
    scheduled = start(company, "rita", effective_at=services.clock.now() + timedelta(days=2))
    err = refused(start, company, "rita")
    assert err.code == "exit_exists" and f"id {scheduled.id}" in str(err)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_r_exit_4_a_reason_is_required(services, reason):
    company = make_company(services)
    before = snapshot(services)
    err = refused(start, company, "leo", reason=reason)
    assert (err.code, err.status) == ("reason_required", 422)
    assert snapshot(services) == before


# --- R-EXIT-8 scheduled exits ---------------------------------------------------------------------------


def test_r_exit_8_nothing_happens_before_the_effective_time_and_a_late_sweep_catches_up(services, clock):
    company = make_company(services)
    result = start(company, "leo", successor="sam", effective_at=clock.now() + timedelta(hours=48))
    assert result.state == "scheduled" and result.ledger == {}
    give(company, "leo", 1, kinds=[K.DOCUMENT])  # after scheduling: the exit re-plans when it takes effect
    clock.advance(hours=47)
    assert sweep(company)["took_effect"] == 0
    assert member_row(company, "leo").status == "active"
    session = open_session(company, "leo")  # he can still sign in
    assert authenticate_session(services, session).actor.userid == "leo"
    assert owned_by(company, "leo")["document"] == 3
    assert ledger(company) == []
    clock.advance(hours=200)  # the worker was down: the first sweep after catches up
    report = sweep(company)
    assert report["took_effect"] == 1 and report["failed"] == []
    summary = exit_summary(company, result.id)
    assert summary.state == "open" and summary.member.status == "exited"
    assert summary.ledger["document"] == {"done": 3}
    assert owned_by(company, "leo") == {}
    assert count(company, sessions, sessions.c.member_id == company["leo"], sessions.c.revoked_at.is_(None)) == 0
    assert sweep(company)["took_effect"] == 0  # running it again does nothing more
    assert_invariants(company)


def exit_summary(company: Company, exit_id: int) -> dict:
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        return exit_queries.exit_summary(conn, tenant.id, exit_id)


def test_r_exit_8_a_scheduled_exit_can_be_cancelled_before_it_takes_effect(services, clock):
    company = make_company(services)
    result = start(company, "leo", effective_at=clock.now() + timedelta(days=1))
    cancelled = act(company, "hanna", exit_actions.cancel_exit, result.id)
    assert cancelled.state == "cancelled"
    clock.advance(days=2)
    assert sweep(company)["took_effect"] == 0
    assert member_row(company, "leo").status == "active"
    err = refused(act, company, "hanna", exit_actions.cancel_exit, result.id)
    assert err.code == "exit_state_conflict"
    again = start(company, "leo", successor="sam")  # no open exit any more
    assert again.state == "open"
    err = refused(act, company, "hanna", exit_actions.cancel_exit, again.id)
    assert (err.code, err.status) == ("exit_state_conflict", 409)


def test_r_exit_8_a_scheduled_exit_whose_successor_left_meanwhile_fails_in_the_sweep_and_waits(services, clock):
    company = make_company(services)
    result = start(company, "leo", successor="sam", effective_at=clock.now() + timedelta(hours=5))
    start(company, "sam", successor="rita")
    clock.advance(hours=6)
    report = sweep(company)
    assert report["took_effect"] == 0
    assert [(f["exit_id"], f["error"]) for f in report["failed"]] == [(result.id, "exit_blocked")]
    assert exit_summary(company, result.id).state == "scheduled"
    assert member_row(company, "leo").status == "active"


# --- R-ORG-1 departments emptied by exits ----------------------------------------------------------------


def test_r_org_1_the_only_member_leaving_makes_the_department_pending_and_restore_activates_it(services):
    company = make_company(services)
    before = headcounts(company)
    plan = act(company, "hanna", exit_actions.plan, "lone")
    (warning,) = [w for w in plan.warnings if w.code == "departments_pending_dissolution"]
    assert warning.params["names"] == "Legal"
    result = start(company, "lone")
    after = headcounts(company)
    assert after["Legal"] == (0, "pending_dissolution")
    assert after["root"] == (before["root"][0] - 1, "active")
    assert after["Sales"] == before["Sales"] and after["East"] == before["East"]
    assert_invariants(company)
    restore(company, result.id)
    assert headcounts(company) == before
    assert_invariants(company)


def test_r_org_1_members_moved_under_a_pending_department_make_it_active_again(services):
    company = make_company(services)
    start(company, "lone")
    assert headcounts(company)["Legal"] == (0, "pending_dissolution")
    act(company, None, dept_actions.move_department, company.departments["East"], company.departments["Legal"])
    assert headcounts(company)["Legal"] == (3, "active")
    assert_invariants(company)


def test_r_org_1_a_department_with_members_left_stays_active(services):
    company = make_company(services)
    start(company, "leo", successor="sam")
    assert headcounts(company)["East"] == (2, "active")


# --- R-ORG-2 customers under wecom and the other profiles -------------------------------------------------


def test_r_org_2_wecom_customer_groups_stay_restricted_while_waiting_and_are_taken_over_after_24h(services, clock):
    company = make_company(services, profile="wecom")
    groups, contacts = company.resources[K.CUSTOMER_GROUP], company.resources[K.EXTERNAL_CONTACT]
    result = start(company, "leo", successor="sam")
    assert result.ledger["customer_group"] == {"waiting": 2}
    assert result.ledger["external_contact"] == {"waiting": 2}
    assert result.ledger["document"] == {"done": 2}  # the other kinds move at once
    for g in groups:
        row = resource(company, K.CUSTOMER_GROUP, g)
        assert (row.owner_id, row.restricted, row.restricted_reason) == (company["leo"], True, "transfer_waiting")
    assert {owner(company, K.EXTERNAL_CONTACT, c) for c in contacts} == {company["leo"]}
    assert set(open_items(company, result.id)) >= {"external_contacts", "customer_groups"}
    assert_invariants(company)
    clock.advance(hours=23, minutes=59)
    assert sweep(company)["taken_over"] == 0
    assert resource(company, K.CUSTOMER_GROUP, groups[0]).restricted
    clock.advance(minutes=1)
    assert sweep(company)["taken_over"] == 4
    for g in groups:
        row = resource(company, K.CUSTOMER_GROUP, g)
        assert (row.owner_id, row.restricted, row.restricted_reason) == (company["sam"], False, None)
    assert {owner(company, K.EXTERNAL_CONTACT, c) for c in contacts} == {company["sam"]}
    assert exit_summary(company, result.id).ledger["external_contact"] == {"done": 2}
    assert not {"external_contacts", "customer_groups"} & set(open_items(company, result.id))
    assert sweep(company)["taken_over"] == 0
    assert_invariants(company)


def test_r_org_2_a_customers_refusal_is_recorded_by_correlation_id_and_leaves_it_unassigned(services, clock):
    company = make_company(services, profile="wecom")
    result = start(company, "leo", successor="sam")
    rows = {(r.kind, r.resource_id): r for r in ledger(company, result.id)}
    contact, group = company.resources[K.EXTERNAL_CONTACT][0], company.resources[K.CUSTOMER_GROUP][0]
    for kind, rid in ((K.EXTERNAL_CONTACT, contact), (K.CUSTOMER_GROUP, group)):
        outcome = act(company, "hanna", inheritance.record_result, rows[(kind.value, rid)].correlation_id, "refused")
        assert (outcome.state, outcome.resource_id, outcome.replayed) == ("refused", rid, False)
    assert owner(company, K.EXTERNAL_CONTACT, contact) is None
    row = resource(company, K.CUSTOMER_GROUP, group)
    assert (row.owner_id, row.restricted, row.restricted_reason) == (None, True, "owner_left")
    cid = rows[("external_contact", contact)].correlation_id
    assert act(company, "hanna", inheritance.record_result, cid, "refused").replayed is True  # told twice
    err = refused(act, company, "hanna", inheritance.record_result, cid, "done")
    assert (err.code, err.status) == ("transfer_not_waiting", 409)
    assert refused(act, company, "hanna", inheritance.record_result, "0" * 32, "refused").code == "transfer_not_found"
    assert refused(act, company, "hanna", inheritance.record_result, cid, "waiting").code == "invalid_result"
    clock.advance(hours=25)
    assert sweep(company)["taken_over"] == 2  # the refused ones are not taken over
    assert owner(company, K.EXTERNAL_CONTACT, contact) is None
    assert open_items(company, result.id)["external_contacts"] == {"external_contact": 1}
    assert open_items(company, result.id)["customer_groups"] == {"customer_group": 1}
    assert_invariants(company)


def test_r_org_2_an_acceptor_at_the_customer_limit_ends_acceptor_full(services, clock):
    company = make_company(services, profile="wecom", policy={"customer_limit": 3})
    give(company, "sam", 2, kinds=[K.EXTERNAL_CONTACT])
    plan = act(company, "hanna", exit_actions.plan, "leo", successor="sam")
    (warning,) = [w for w in plan.warnings if w.code == "acceptor_near_limit"]
    assert warning.params["over"] == 1
    result = start(company, "leo", successor="sam")
    assert result.ledger["external_contact"] == {"waiting": 1, "acceptor_full": 1}
    full = [r for r in ledger(company, result.id) if r.state == "acceptor_full"]
    assert [r.kind for r in full] == ["external_contact"]
    assert owner(company, K.EXTERNAL_CONTACT, full[0].resource_id) is None
    clock.advance(hours=24)
    sweep(company)
    assert count(company, external_contacts, external_contacts.c.owner_id == company["sam"]) == 3  # the limit, not more
    assert open_items(company, result.id)["external_contacts"] == {"external_contact": 1}
    assert_invariants(company)


def test_r_org_4_a_waiting_transfer_to_an_acceptor_who_left_meanwhile_ends_unassigned(services, clock):
    company = make_company(services, profile="wecom")
    eid = start(company, "leo", successor="sam").id
    clock.advance(hours=1)
    sam_exit = start(company, "sam", successor="tina").id
    clock.advance(hours=24)
    assert sweep(company)["taken_over"] == 0
    assert {owner(company, K.EXTERNAL_CONTACT, c) for c in company.resources[K.EXTERNAL_CONTACT]} == {None}
    for g in company.resources[K.CUSTOMER_GROUP]:
        row = resource(company, K.CUSTOMER_GROUP, g)
        assert (row.owner_id, row.restricted, row.restricted_reason) == (None, True, "owner_left")
    assert "external_contact" not in owned_by(company, "sam")
    assert not {"external_contacts", "customer_groups"} & set(open_items(company, sam_exit))  # sam's exit is not stuck
    assert open_items(company, eid)["customer_groups"] == {"customer_group": 2}  # leo's lists them as unassigned
    assert_invariants(company)
    act(company, "hanna", inheritance.inherit, eid, "customer_group", "tina")
    assert {owner(company, K.CUSTOMER_GROUP, g) for g in company.resources[K.CUSTOMER_GROUP]} == {None}  # waiting for tina now
    clock.advance(hours=24)
    assert sweep(company)["taken_over"] == 2
    assert {owner(company, K.CUSTOMER_GROUP, g) for g in company.resources[K.CUSTOMER_GROUP]} == {company["tina"]}
    assert_invariants(company)


def test_r_org_4_a_done_result_for_an_acceptor_who_left_meanwhile_ends_unassigned(services, clock):
    company = make_company(services, profile="wecom")
    eid = start(company, "leo", successor="sam").id
    start(company, "sam", successor="tina")
    row = next(r for r in ledger(company, eid) if r.kind == "external_contact")
    outcome = act(company, "hanna", inheritance.record_result, row.correlation_id, "done")
    assert outcome.state == "unassigned"
    assert owner(company, K.EXTERNAL_CONTACT, row.resource_id) is None
    assert_invariants(company)


@pytest.mark.parametrize("profile", ["dingtalk", "feishu"])
def test_r_org_2_other_profiles_transfer_customers_at_once(services, profile):
    company = make_company(services, profile=profile)
    result = start(company, "leo", successor="sam")
    assert result.ledger["external_contact"] == {"done": 2}
    assert result.ledger["customer_group"] == {"done": 2}
    for g in company.resources[K.CUSTOMER_GROUP]:
        row = resource(company, K.CUSTOMER_GROUP, g)
        assert (row.owner_id, row.restricted) == (company["sam"], False)
    assert {owner(company, K.EXTERNAL_CONTACT, c) for c in company.resources[K.EXTERNAL_CONTACT]} == {company["sam"]}


# --- R-ORG-4 resolution applied per resource ---------------------------------------------------------------


def test_r_org_4_named_acceptors_then_successor_per_kind(services):
    company = make_company(services)
    start(company, "leo", successor="sam", acceptors={"document": "tina", "approval_template": "mona"})
    assert {owner(company, K.DOCUMENT, d) for d in company.resources[K.DOCUMENT]} == {company["tina"]}
    assert {owner(company, K.APPROVAL_TEMPLATE, d) for d in company.resources[K.APPROVAL_TEMPLATE]} == {company["mona"]}
    assert {owner(company, K.CALENDAR, d) for d in company.resources[K.CALENDAR]} == {company["sam"]}


def test_r_org_4_without_anyone_named_the_manager_receives_everything(services):
    company = make_company(services)
    result = start(company, "leo")
    assert {r.to_member_id for r in ledger(company, result.id)} == {company["mona"]}
    assert owned_by(company, "mona")["document"] == 2


def test_r_org_4_fallbacks_without_successor_or_manager(services):
    """With nobody to receive them, each kind takes its fallback: R-ORG-3 self-built apps kept
    in the enterprise archive, R-POST-3 shared calendars deleted, customers unassigned."""
    company = make_company(services)
    clear_manager(company, "leo")
    result = start(company, "leo")
    states = {kind: set(s) for kind, s in result.ledger.items()}
    assert states == {
        "document": {"kept"},
        "self_built_app": {"kept"},
        "calendar": {"deleted"},
        "internal_group": {"done"},
        "external_contact": {"unassigned"},
        "customer_group": {"unassigned"},
        "direct_report": {"unassigned"},
        "department_leader": {"unassigned"},
        "approval_template": {"unassigned"},
        "approval_task": {"unassigned"},
    }
    for d in company.resources[K.DOCUMENT]:
        row = resource(company, K.DOCUMENT, d)
        assert (row.owner_id, row.archived, row.deleted_at) == (None, True, None)
    # R-POST-3: a calendar is deleted rather than left with a departed owner.
    for c in company.resources[K.CALENDAR]:
        row = resource(company, K.CALENDAR, c)
        assert row.owner_id is None and row.deleted_at is not None
    assert count(company, calendars, calendars.c.owner_id == company["leo"]) == 0
    # Internal groups: the first member who joined (rita joined before sam).
    assert {owner(company, K.INTERNAL_GROUP, g) for g in company.resources[K.INTERNAL_GROUP]} == {company["rita"]}
    for g in company.resources[K.CUSTOMER_GROUP]:
        row = resource(company, K.CUSTOMER_GROUP, g)
        assert (row.owner_id, row.restricted, row.restricted_reason) == (None, True, "owner_left")
    assert member_row(company, "sam").manager_id is None
    assert owned_by(company, "leo") == {}
    assert_invariants(company)


def test_r_org_4_internal_group_fallback_skips_members_who_left(services):
    company = make_company(services)
    clear_manager(company, "leo")
    start(company, "rita", by="hanna")  # rita joined the groups first, but is gone
    start(company, "leo")
    assert {owner(company, K.INTERNAL_GROUP, g) for g in company.resources[K.INTERNAL_GROUP]} == {company["sam"]}


def test_r_data_2_file_policy_delete_deletes_the_leavers_documents(services):
    company = make_company(services, policy={"file_policy": "delete"})
    result = start(company, "leo", successor="sam")
    assert result.ledger["document"] == {"deleted": 2}
    for d in company.resources[K.DOCUMENT]:
        row = resource(company, K.DOCUMENT, d)
        assert row.owner_id is None and row.deleted_at is not None
    assert count(company, documents, documents.c.owner_id == company["sam"]) == 0


def test_r_org_4_a_direct_report_who_is_the_acceptor_gets_the_leavers_manager(services):
    company = make_company(services)
    start(company, "leo", successor="sam")
    assert member_row(company, "sam").manager_id == company["mona"]  # not himself
    assert member_row(company, "rita").manager_id == company["sam"]
    assert_invariants(company)


def test_r_org_4_a_direct_report_acceptor_without_a_usable_manager_stays_unassigned(services):
    company = make_company(services)
    clear_manager(company, "leo")
    result = start(company, "leo", successor="sam")
    assert result.ledger["direct_report"] == {"done": 1, "unassigned": 1}
    assert member_row(company, "sam").manager_id is None
    assert member_row(company, "rita").manager_id == company["sam"]


# --- R-POST-2 approvals ---------------------------------------------------------------------------------


def test_r_post_2_approval_templates_and_pending_tasks_move_to_the_acceptor(services):
    company = make_company(services)
    template, task = add_approval_template_task(company, "leo")
    with services.db.write() as conn:  # a decided task is history: it keeps its approver
        from offboard.store.tables import approval_tasks

        decided = company.resources[K.APPROVAL_TASK][0]
        conn.execute(update(approval_tasks).where(approval_tasks.c.id == decided).values(status="approved"))
    start(company, "leo", successor="sam", acceptors={"approval_task": "tina"})
    assert owner(company, K.APPROVAL_TEMPLATE, template) == company["sam"]
    assert owner(company, K.APPROVAL_TASK, task) == company["tina"]
    assert owner(company, K.APPROVAL_TASK, decided) == company["leo"]
    assert "approval_task" not in owned_by(company, "leo")


# --- R-ORG-5 later inheritance -----------------------------------------------------------------------------


def test_r_org_5_inherit_assigns_the_unassigned_in_one_batch_with_new_ledger_rows(services):
    company = make_company(services)
    clear_manager(company, "leo")
    result = start(company, "leo")
    eid = result.id
    assert open_items(company, eid)["external_contacts"] == {"external_contact": 2}
    first_rows = {r.resource_id: r for r in ledger(company, eid) if r.kind == "external_contact"}
    outcome = act(company, "hanna", inheritance.inherit, eid, "external_contact", "tina")
    assert (outcome.count, outcome.to) == (2, "tina")
    rows = [r for r in ledger(company, eid) if r.kind == "external_contact"]
    assert len(rows) == 4
    new = [r for r in rows if r.id not in {x.id for x in first_rows.values()}]
    assert {(r.state, r.to_member_id) for r in new} == {("done", company["tina"])}
    assert {r.resource_id for r in new} == set(company.resources[K.EXTERNAL_CONTACT])
    assert {owner(company, K.EXTERNAL_CONTACT, c) for c in company.resources[K.EXTERNAL_CONTACT]} == {company["tina"]}
    assert "external_contacts" not in open_items(company, eid)
    err = refused(act, company, "hanna", inheritance.inherit, eid, "external_contact", "tina")
    assert (err.code, err.status) == ("nothing_to_inherit", 409)
    # Customer groups: unrestricted once someone owns them again.
    act(company, "hanna", inheritance.inherit, eid, "customer_group", "tina")
    for g in company.resources[K.CUSTOMER_GROUP]:
        row = resource(company, K.CUSTOMER_GROUP, g)
        assert (row.owner_id, row.restricted) == (company["tina"], False)
    assert_invariants(company)


def test_r_org_5_inherit_refuses_an_invalid_acceptor_and_unauthorized_people(services):
    company = make_company(services)
    clear_manager(company, "leo")
    eid = start(company, "leo").id
    start(company, "rita")
    for to in ("leo", "rita"):
        err = refused(act, company, "hanna", inheritance.inherit, eid, "customer_group", to)
        assert (err.code, err.status) == ("acceptor_invalid", 409)
    start(company, "tina", effective_at=services.clock.now() + timedelta(days=1))  # leaving soon
    assert refused(act, company, "hanna", inheritance.inherit, eid, "customer_group", "tina").code == "acceptor_invalid"
    assert refused(act, company, "ivan", inheritance.inherit, eid, "customer_group", "mona").status == 403
    assert refused(act, company, "hanna", inheritance.inherit, eid, "customer_group", "nobody").code == "member_not_found"
    assert refused(act, company, "hanna", inheritance.inherit, eid, "spaceship", "mona").status == 422
    assert {owner(company, K.CUSTOMER_GROUP, g) for g in company.resources[K.CUSTOMER_GROUP]} == {None}


def test_r_org_5_inherit_of_chosen_ids_only_and_not_of_assigned_ones(services):
    company = make_company(services, per_kind=3)
    clear_manager(company, "leo")
    eid = start(company, "leo", acceptors={"document": "tina"}).id
    first, *rest = company.resources[K.EXTERNAL_CONTACT]
    assert act(company, "hanna", inheritance.inherit, eid, "external_contact", "mona", resource_ids=[first]).count == 1
    assert owner(company, K.EXTERNAL_CONTACT, first) == company["mona"]
    assert {owner(company, K.EXTERNAL_CONTACT, c) for c in rest} == {None}
    err = refused(act, company, "hanna", inheritance.inherit, eid, "external_contact", "mona", resource_ids=[first, rest[0]])
    assert err.code == "not_unassigned"
    assert owner(company, K.EXTERNAL_CONTACT, rest[0]) is None  # all or nothing
    assert refused(act, company, "hanna", inheritance.inherit, eid, "document", "mona").code == "nothing_to_inherit"


def test_r_org_5_results_and_inheritance_in_the_same_clock_reading_touch_only_their_own_rows(services):
    # The clock does not move between these steps: each batch must still apply only its own
    # ledger rows, not an earlier row of the same exit and kind that carries the same stamp.
    company = make_company(services, profile="wecom")
    eid = start(company, "leo", successor="sam").id
    rows = {(r.kind, r.resource_id): r for r in ledger(company, eid)}
    first, second = company.resources[K.CUSTOMER_GROUP]
    act(company, "hanna", inheritance.record_result, rows[("customer_group", first)].correlation_id, "refused")
    act(company, "hanna", inheritance.inherit, eid, "customer_group", "tina", resource_ids=[first])
    row = resource(company, K.CUSTOMER_GROUP, first)
    assert (row.owner_id, row.restricted_reason) == (None, "transfer_waiting")
    act(company, "hanna", inheritance.record_result, rows[("customer_group", second)].correlation_id, "refused")
    assert resource(company, K.CUSTOMER_GROUP, first) == row  # untouched by the second group's result
    (inherited,) = [r for r in ledger(company, eid) if (r.kind, r.resource_id, r.state) == ("customer_group", first, "waiting")]
    act(company, "hanna", inheritance.record_result, inherited.correlation_id, "done")  # tina's customers accepted
    row = resource(company, K.CUSTOMER_GROUP, first)
    assert (row.owner_id, row.restricted, row.version) == (company["tina"], False, inherited.version_after + 1)
    assert_invariants(company)


def test_r_org_5_inherit_direct_reports_to_one_of_them(services):
    company = make_company(services)
    clear_manager(company, "leo")
    eid = start(company, "leo").id
    outcome = act(company, "hanna", inheritance.inherit, eid, "direct_report", "sam")
    assert member_row(company, "rita").manager_id == company["sam"]
    assert member_row(company, "sam").manager_id is None  # never his own manager
    # INV-3: only rita moved, so only she has a new row; sam stays unassigned without one.
    assert outcome.count == 1
    rows = [r for r in ledger(company, eid) if r.kind == "direct_report"]
    assert sorted((r.resource_id, r.state) for r in rows) == sorted([(company["sam"], "unassigned"), (company["rita"], "unassigned"), (company["rita"], "done")])
    err = refused(act, company, "hanna", inheritance.inherit, eid, "direct_report", "sam")
    assert err.code == "nothing_to_inherit"
    act(company, "hanna", inheritance.inherit, eid, "direct_report", "mona")
    assert member_row(company, "sam").manager_id == company["mona"]
    assert_invariants(company)


# --- INV-3 the ledger -----------------------------------------------------------------------------------


def test_inv_3_each_moved_resource_has_exactly_one_ledger_row_with_its_version_after(services):
    company = make_company(services, per_kind=3)
    before = {kind: {rid: resource(company, kind, rid).version for rid in rids} for kind, rids in company.resources.items()}
    eid = start(company, "leo", successor="sam").id
    rows = ledger(company, eid)
    by_kind: dict[str, list] = {}
    for r in rows:
        by_kind.setdefault(r.kind, []).append(r)
    for kind, rids in company.resources.items():
        moved = by_kind[kind.value]
        assert sorted(r.resource_id for r in moved) == sorted(rids)  # one row per resource, none twice
        for r in moved:
            now = resource(company, kind, r.resource_id)
            assert r.version_after == now.version == before[kind][r.resource_id] + 1
            assert (r.from_member_id, r.to_member_id, r.state) == (company["leo"], company["sam"], "done")
    assert sorted(r.resource_id for r in by_kind["direct_report"]) == sorted([company["sam"], company["rita"]])
    assert [r.resource_id for r in by_kind["department_leader"]] == [company.departments["East"]]
    assert len({r.correlation_id for r in rows}) == len(rows)
    assert all(re.fullmatch(r"[0-9a-f]{32}", r.correlation_id) for r in rows)
    assert_invariants(company)


# --- R-EXIT-6 restore ----------------------------------------------------------------------------------


def test_r_exit_6_restore_reverts_untouched_transfers_and_reports_the_touched_one(services):
    """R-EXC-2: a mistaken exit is undone by the restore of R-EXIT-6."""
    company = make_company(services)
    give_records(company, "leo")
    act(company, None, role_actions.grant_role, "leo", "admin", scope=[company.departments["East"]])
    before_heads = headcounts(company)
    eid = start(company, "leo", by="boss", successor="sam").id
    touched = company.resources[K.DOCUMENT][0]
    with services.db.write() as conn:  # sam edits one document after receiving it
        conn.execute(update(documents).where(documents.c.id == touched).values(title="edited", version=documents.c.version + 1))
    result = restore(company, eid)
    assert result.state == "restored"
    rows = ledger(company, eid)
    reverted = [r for r in rows if r.state == "reverted"]
    assert [(r.kind, r.resource_id) for r in result.not_reverted] == [("document", touched)]
    assert sum(result.reverted.values()) == len(reverted) == len(rows) - 1  # INV-3: exactly the reported ones
    assert result.reverted["document"] == 1
    for r in reverted:
        if r.kind in {k.value for k in TABLE_KINDS}:
            assert owner(company, K(r.kind), r.resource_id) == company["leo"]
    assert owner(company, K.DOCUMENT, touched) == company["sam"]
    assert member_row(company, "rita").manager_id == company["leo"]
    assert member_row(company, "sam").manager_id == company["leo"]
    leo = member_row(company, "leo")
    assert (leo.status, leo.exited_at) == ("active", None)
    assert count(company, roles, roles.c.member_id == company["leo"], roles.c.status == "active") == 1
    assert count(company, devices, devices.c.member_id == company["leo"], devices.c.status != "active") == 0
    assert count(company, app_grants, app_grants.c.member_id == company["leo"], app_grants.c.status != "active") == 0
    assert headcounts(company) == before_heads
    with tenant_read(services, "acme") as (conn, tenant, _):
        # The only disagreement between ledger and resources is the edit made outside the ledger.
        assert all_problems(conn, tenant.id) == {"INV-3": [f"document {touched}: version 3, ledger row {not_reverted_row(rows, touched).id} (done) says 2"]}
    # A restored exit is over; the member can leave again later.
    assert refused(restore, company, eid).code == "exit_state_conflict"
    assert start(company, "leo", by="boss", successor="sam").state == "open"


def not_reverted_row(rows, document_id):
    return next(r for r in rows if r.kind == "document" and r.resource_id == document_id)


def test_r_exit_6_restore_needs_the_restorers_second_factor_a_reason_and_the_window(services, clock):
    company = make_company(services)
    eid = start(company, "leo", successor="sam").id
    clock.advance(seconds=31)
    err = refused(act, company, "hanna", restore_actions.restore_exit, eid, totp="000000", reason="oops")
    assert (err.code, err.status) == ("bad_totp", 401)
    err = refused(act, company, "hanna", restore_actions.restore_exit, eid, totp=totp_now("boss", services), reason="oops")
    assert err.code == "bad_totp"  # someone else's code does not do
    err = refused(act, company, "hanna", restore_actions.restore_exit, eid, totp=totp_now("hanna", services), reason=" ")
    assert err.code == "reason_required"
    err = refused(act, company, None, restore_actions.restore_exit, eid, totp="123456", reason="oops")
    assert (err.code, err.status) == ("person_required", 403)
    err = refused(act, company, "ivan", restore_actions.restore_exit, eid, totp=totp_now("ivan", services), reason="oops")
    assert err.status == 403
    assert member_row(company, "leo").status == "exited"
    clock.advance(hours=24)
    err = refused(restore, company, eid)
    assert (err.code, err.status) == ("restore_window_over", 409)
    assert member_row(company, "leo").status == "exited"


def test_r_exit_6_issue_7_wrong_codes_in_the_restore_form_count_against_the_second_factor(services, clock):
    """The restore asks for the code again: a wrong one is refused but recorded (audited, and
    counted by the same throttle as the sign-in), so the form is no way around the back-off."""
    company = make_company(services)
    eid = start(company, "leo", successor="sam").id
    clock.advance(seconds=31)
    seq = audit_seq(services, "acme")
    for _ in range(auth.FREE_FAILURES):
        assert refused(act, company, "hanna", restore_actions.restore_exit, eid, totp="000000", reason="oops").code == "bad_totp"
    assert actions_since(services, "acme", seq) == ["auth.totp_failed"] * auth.FREE_FAILURES
    waiting = refused(act, company, "hanna", restore_actions.restore_exit, eid, totp=totp_now("hanna", services), reason="oops")
    assert waiting.code == "too_many_attempts" and member_row(company, "leo").status == "exited"
    clock.advance(seconds=waiting.retry_after)
    act(company, "hanna", restore_actions.restore_exit, eid, totp=totp_now("hanna", services), reason="oops")
    assert member_row(company, "leo").status == "active"


def test_r_exit_6_a_totp_code_is_accepted_once(services, clock):
    company = make_company(services)
    first = start(company, "leo", successor="sam").id
    second = start(company, "rita", successor="tina").id
    clock.advance(seconds=31)
    code = totp_now("hanna", services)
    act(company, "hanna", restore_actions.restore_exit, first, totp=code, reason="oops")
    err = refused(act, company, "hanna", restore_actions.restore_exit, second, totp=code, reason="oops")
    assert err.code == "bad_totp"


def test_r_exit_6_a_restored_member_whose_manager_left_meanwhile_reports_to_nobody(services, clock):
    company = make_company(services)
    rita_exit = start(company, "rita").id
    leo_exit = start(company, "leo", successor="sam").id  # rita is away: not a direct report to move
    result = restore(company, rita_exit)
    assert result.manager_cleared is True
    assert member_row(company, "rita").manager_id is None  # not the departed leo
    assert_invariants(company)
    # ... so leo's exit can still be finalized (INV-2).
    act(company, "hanna", cl_actions.signoff, leo_exit, "hr")
    act(company, "ivan", cl_actions.signoff, leo_exit, "it")
    clock.advance(hours=24)
    assert sweep(company)["finalized"] == 1
    assert_invariants(company)


def test_r_exit_6_restore_reverts_customer_transfers_still_waiting(services):
    company = make_company(services, profile="wecom")
    eid = start(company, "leo", successor="sam").id
    restore(company, eid)
    for g in company.resources[K.CUSTOMER_GROUP]:
        row = resource(company, K.CUSTOMER_GROUP, g)
        assert (row.owner_id, row.restricted, row.restricted_reason) == (company["leo"], False, None)
    assert {owner(company, K.EXTERNAL_CONTACT, c) for c in company.resources[K.EXTERNAL_CONTACT]} == {company["leo"]}
    assert {r.state for r in ledger(company, eid)} == {"reverted"}
    services.clock.advance(hours=30)
    assert sweep(company)["taken_over"] == 0  # nothing waits any more
    assert_invariants(company)


def test_r_exit_6_restore_brings_back_archived_and_deleted_resources(services):
    company = make_company(services)
    clear_manager(company, "leo")
    eid = start(company, "leo").id
    restore(company, eid)
    for d in company.resources[K.DOCUMENT]:
        row = resource(company, K.DOCUMENT, d)
        assert (row.owner_id, row.archived, row.deleted_at) == (company["leo"], False, None)
    for c in company.resources[K.CALENDAR]:
        row = resource(company, K.CALENDAR, c)
        assert (row.owner_id, row.deleted_at) == (company["leo"], None)
    assert member_row(company, "sam").manager_id == company["leo"]
    assert owned_by(company, "leo")["department_leader"] == 1
    assert_invariants(company)


# --- R-POST-1 third-party grants -------------------------------------------------------------------------


def test_r_post_1_grants_need_reauthorization_until_acknowledged(services):
    company = make_company(services)
    give_records(company, "leo")
    eid = start(company, "leo", successor="sam").id
    assert count(company, app_grants, app_grants.c.member_id == company["leo"], app_grants.c.status == "reauth_required") == 2
    assert open_items(company, eid)["third_party_reauth"] == {"unacknowledged": 2}
    assert refused(act, company, "hanna", cl_actions.acknowledge_grants, eid, "told CRM").status == 403
    assert refused(act, company, "ivan", cl_actions.acknowledge_grants, eid, " ").code == "evidence_required"
    assert refused(act, company, "ivan", cl_actions.acknowledge_grants, eid, "told", app="Other").code == "nothing_to_acknowledge"
    assert act(company, "ivan", cl_actions.acknowledge_grants, eid, "CRM vendor confirmed re-authorization", app="CRM") == 2
    assert "third_party_reauth" not in open_items(company, eid)
    assert refused(act, company, "ivan", cl_actions.acknowledge_grants, eid, "again").code == "nothing_to_acknowledge"


# --- SPEC §7 checklist, sign-off, finalization -----------------------------------------------------------


def make_green(company: Company, eid: int) -> None:
    act(company, "hanna", cl_actions.close_reimbursements, eid, "settled in the finance system (BX-1)")
    act(company, "ivan", cl_actions.acknowledge_grants, eid, "CRM told to re-authorize")
    act(company, "ivan", cl_actions.attest, eid, "access_revoked", "laptop returned, phone wiped remotely")


def test_spec_7_sign_off_is_refused_while_items_are_open_and_names_them(services):
    company = make_company(services)
    give_records(company, "leo")
    eid = start(company, "leo", successor="sam").id
    assert set(open_items(company, eid)) == {"reimbursements_closed", "third_party_reauth", "access_revoked", "chats_sealed"}
    err = refused(act, company, "hanna", cl_actions.signoff, eid, "hr")
    assert (err.code, err.status) == ("checklist_open", 409)
    assert err.params["items"].values == ("reimbursements_closed", "third_party_reauth", "access_revoked")
    for title in ("Reimbursements closed", "Third-party apps re-authorized", "Sessions, tokens and devices revoked"):
        assert title in str(err)
    board = open_items_board(company)
    assert {i.key for i in board.hr} == {"reimbursements_closed"}
    assert {i.key for i in board.it} == {"third_party_reauth", "access_revoked"}
    assert {i.exit_id for i in board.hr + board.it} == {eid}
    err = refused(act, company, "hanna", cl_actions.attest, eid, "documents", "looked")
    assert err.code == "system_verified"
    assert refused(act, company, "hanna", cl_actions.attest, eid, "access_revoked", "wiped").status == 403  # an IT item
    make_green(company, eid)
    assert set(open_items(company, eid)) == {"chats_sealed"}
    assert open_items_board(company) == ChecklistBoard(hr=[], it=[])


def open_items_board(company: Company) -> dict:
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        return cl_queries.open_items_by_role(conn, tenant, company.services.clock.now())


def test_spec_7_item_6_stays_open_until_the_departed_admins_role_is_removed(services):
    company = make_company(services)
    act(company, None, role_actions.grant_role, "leo", "admin", scope=[company.departments["East"]])
    eid = start(company, "leo", by="boss", successor="sam").id
    assert open_items(company, eid)["admin_rights"] == {"admin_roles": 1}  # suspended is not handed over
    act(company, "boss", role_actions.remove_role, "leo", "admin")
    assert "admin_rights" not in open_items(company, eid)


def test_spec_7_two_people_sign_off_and_roles_are_required(services):
    company = make_company(services)
    give_records(company, "leo")
    eid = start(company, "leo", successor="sam").id
    make_green(company, eid)
    assert refused(act, company, "ivan", cl_actions.signoff, eid, "hr").code == "signoff_role_missing"
    assert refused(act, company, None, cl_actions.signoff, eid, "hr").code == "person_required"
    act(company, None, role_actions.grant_role, "hanna", "it")
    act(company, "hanna", cl_actions.signoff, eid, "hr")
    err = refused(act, company, "hanna", cl_actions.signoff, eid, "it")
    assert (err.code, err.status) == ("same_signer", 409)
    assert refused(act, company, "hanna", cl_actions.signoff, eid, "hr").code == "already_signed"
    signed = act(company, "ivan", cl_actions.signoff, eid, "it")
    assert {role: s.userid for role, s in signed.signoffs.items()} == {"hr": "hanna", "it": "ivan"}
    assert signed.state == "open"  # the restore window is still open


def test_spec_7_a_custom_item_is_attested_with_evidence_by_its_owner(services):
    company = make_company(services)
    act(company, "boss", cl_actions.add_item, "badge_returned", "Badge returned", "hr")
    assert refused(act, company, "boss", cl_actions.add_item, "badge_returned", "Again", "hr").code == "item_exists"
    assert refused(act, company, "boss", cl_actions.add_item, "documents", "Docs", "hr").code == "invalid_item_key"
    assert refused(act, company, "hanna", cl_actions.add_item, "laptop", "Laptop", "it").status == 403
    eid = start(company, "leo", successor="sam").id
    assert "badge_returned" in open_items(company, eid)
    assert refused(act, company, "ivan", cl_actions.attest, eid, "badge_returned", "seen").status == 403
    assert refused(act, company, "hanna", cl_actions.attest, eid, "badge_returned", "").code == "evidence_required"
    act(company, "hanna", cl_actions.attest, eid, "badge_returned", "badge #42 returned to reception")
    assert "badge_returned" not in open_items(company, eid)
    assert refused(act, company, "hanna", cl_actions.attest, eid, "badge_returned", "again").code == "already_attested"


def test_spec_7_finalization_waits_for_the_window_and_both_sign_offs_then_retains_chats(services, clock):
    company = make_company(services)
    give_records(company, "leo")
    eid = start(company, "leo", successor="sam").id
    exited_at = member_row(company, "leo").exited_at
    make_green(company, eid)
    assert refused(act, company, None, cl_actions.finalize, eid).code == "restore_window_open"
    act(company, "hanna", cl_actions.signoff, eid, "hr")
    clock.advance(hours=24)
    assert refused(act, company, None, cl_actions.finalize, eid).code == "signoff_missing"
    assert sweep(company)["finalized"] == 0
    act(company, "ivan", cl_actions.signoff, eid, "it")  # the window is over: signing finalizes
    summary = exit_summary(company, eid)
    assert summary.state == "finalized" and summary.member.status == "finalized"
    assert summary.finalized_at is not None
    assert "chats_sealed" not in open_items(company, eid)
    expected = retention_end(exited_at, 180, "Asia/Shanghai")  # the enterprise's calendar
    with tenant_read(services, "acme") as (conn, tenant, _):
        kept = conn.execute(select(messages.c.retained_until).where(messages.c.tenant_id == tenant.id, messages.c.author_id == company["leo"])).scalars().all()
        assert len(kept) == 3 and set(kept) == {expected}
        assert all_problems(conn, tenant.id) == {}  # INV-2: nothing owned by the finalized member
    assert refused(restore, company, eid).code == "exit_state_conflict"


def test_spec_7_the_sweep_finalizes_once_the_window_is_over(services, clock):
    company = make_company(services)
    eid = start(company, "leo", successor="sam").id
    act(company, "hanna", cl_actions.signoff, eid, "hr")
    act(company, "ivan", cl_actions.signoff, eid, "it")
    assert exit_summary(company, eid).state == "open"
    clock.advance(hours=23)
    assert sweep(company)["finalized"] == 0
    clock.advance(hours=1)
    assert sweep(company)["finalized"] == 1
    assert exit_summary(company, eid).state == "finalized"
    assert member_row(company, "leo").status == "finalized"
    assert sweep(company)["finalized"] == 0
    assert_invariants(company)


def test_inv_2_finalization_refuses_while_the_departed_member_still_owns_something(services, clock):
    company = make_company(services)
    eid = start(company, "leo", successor="sam").id
    act(company, "hanna", cl_actions.signoff, eid, "hr")
    act(company, "ivan", cl_actions.signoff, eid, "it")
    (doc,) = give(company, "leo", 1, kinds=[K.DOCUMENT])[K.DOCUMENT]  # e.g. synced late from a connector
    clock.advance(hours=25)
    report = sweep(company)
    assert report["finalized"] == 0
    assert [(f["exit_id"], f["error"]) for f in report["failed"]] == [(eid, "resources_still_owned")]
    assert member_row(company, "leo").status == "exited"
    with services.db.write() as conn:
        conn.execute(update(documents).where(documents.c.id == doc).values(owner_id=company["sam"]))
    assert sweep(company)["finalized"] == 1
    assert_invariants(company)


def test_list_exits_and_summary_show_the_exit(services):
    company = make_company(services)
    eid = start(company, "leo", successor="sam").id
    start(company, "rita", effective_at=services.clock.now() + timedelta(days=1))
    with tenant_read(services, "acme", "hanna") as (conn, tenant, actor):
        listed = exit_queries.list_exits(conn, tenant.id, actor)
        assert [(i.userid, i.state) for i in listed.items] == [("rita", "scheduled"), ("leo", "open")]
        assert exit_queries.list_exits(conn, tenant.id, actor, state="open").total == 1
        assert repo.exit_of(conn, tenant.id, "leo").id == eid
    assert refused(exit_summary, company, 999).code == "exit_not_found"
