"""Bulk actions on an exit's ledger (R-ORG-2, R-ORG-4, R-ORG-5, SPEC §8, §10), on SQLite and
PostgreSQL: one outcome for many waiting transfers, many waiting transfers handed to another
acceptor, many unassigned resources inherited; one step per action, one audit event per kind
whose digest vouches for exactly the rows it touched, and a confirmed count that must still hold.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from offboard.actions import ledger_bulk, restore
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.domain.errors import Conflict, Forbidden, ValidationError
from offboard.domain.ledger_bulk import Selection
from offboard.domain.vocabulary import ResourceKind
from offboard.store.tables import external_contacts
from tests.integration.test_ledger_steps import events, of_step, python_digest
from tests.support.exits import ledger, make_company, owner, resource, start, totp_now
from tests.support.invariants import all_problems

K = ResourceKind


@pytest.fixture
def company(services):
    """wecom: customers accept within 24 h, so leo's contacts and groups wait after his exit."""
    return make_company(services, profile="wecom", per_kind=4)


def bulk(company, by, exit_id, action, selection, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return ledger_bulk.bulk(uow, exit_id, action, selection, **kwargs)


def current(company, exit_id):
    """The newest ledger row of each resource, by (kind, resource id)."""
    return {(r.kind, r.resource_id): r for r in ledger(company, exit_id)}


def waiting_ids(company, exit_id, kind):
    return [r.correlation_id for r in current(company, exit_id).values() if r.kind == kind and r.state == "waiting"]


def no_problems(company):
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        assert all_problems(conn, tenant.id) == {}


def test_r_org_2_one_outcome_for_many_waiting_transfers_in_one_step_with_one_event_per_kind(company):
    eid = start(company, "leo", successor="sam").id
    chosen = waiting_ids(company, eid, "external_contact")[:3]
    done = bulk(company, "hanna", eid, "result", Selection.of(chosen), expected=3, state="done")
    assert (done.count, done.by_kind, done.state, done.unassigned) == (3, {"external_contact": 3}, "done", 0)
    rows = current(company, eid)
    moved = [r for r in rows.values() if r.correlation_id in chosen]
    assert {r.state for r in moved} == {"done"} and {r.to_member_id for r in moved} == {company["sam"]}
    assert {owner(company, K.EXTERNAL_CONTACT, r.resource_id) for r in moved} == {company["sam"]}
    assert len(waiting_ids(company, eid, "external_contact")) == 1  # the one not chosen still waits
    (step,) = {r.changed_step_id for r in moved}
    ((action, details),) = events(company, "transfer.results")
    assert (action, details["kind"], details["count"], details["state"], details["step_id"]) == ("transfer.results", "external_contact", 3, "done", step)
    assert details["ledger_digest"] == python_digest(of_step(ledger(company, eid), step, "external_contact"))
    # Every customer group that matches, refused: the groups are left without an owner, restricted.
    refused = bulk(company, "hanna", eid, "result", Selection.of(None, kind="customer_group", everything=True), state="refused")
    assert refused.count == 4
    for (kind, rid), r in current(company, eid).items():
        if kind == "customer_group":
            group = resource(company, K.CUSTOMER_GROUP, rid)
            assert (r.state, r.to_member_id, group.owner_id, group.restricted) == ("refused", None, None, True)
    no_problems(company)


def test_a_confirmed_count_that_no_longer_holds_changes_nothing(company):
    eid = start(company, "leo", successor="sam").id
    chosen = waiting_ids(company, eid, "external_contact")
    bulk(company, "hanna", eid, "result", Selection.of(chosen[:1]), state="refused")
    before = ledger(company, eid)
    with pytest.raises(Conflict) as refused:
        bulk(company, "hanna", eid, "result", Selection.of(chosen), expected=4, state="done")
    assert refused.value.code == "selection_changed" and refused.value.params["now"] == 3
    assert ledger(company, eid) == before and len(events(company, "transfer.results")) == 1


def test_r_org_4_an_acceptor_who_left_meanwhile_receives_nothing_from_a_bulk_result(company):
    eid = start(company, "leo", successor="tina").id
    start(company, "tina", successor="mona")
    done = bulk(company, "hanna", eid, "result", Selection.of(None, kind="external_contact", everything=True), state="done")
    assert (done.count, done.unassigned) == (4, 4)
    contacts = [r for r in current(company, eid).values() if r.kind == "external_contact"]
    assert {(r.state, r.to_member_id) for r in contacts} == {("unassigned", None)}
    no_problems(company)


def test_r_org_2_waiting_transfers_handed_to_another_acceptor_wait_again_for_the_new_one(company, clock):
    eid = start(company, "leo", successor="sam").id
    first = waiting_ids(company, eid, "external_contact")
    clock.advance(hours=20)
    moved = bulk(company, "hanna", eid, "reassign", Selection.of(first[:2]), expected=2, to="tina")
    assert (moved.count, moved.to) == (2, "tina")
    rows = ledger(company, eid)
    withdrawn = [r for r in rows if r.correlation_id in first[:2]]
    assert {(r.state, r.to_member_id) for r in withdrawn} == {("unassigned", None)}
    (step,) = {r.changed_step_id for r in withdrawn}
    fresh = [r for r in rows if r.step_id > step]
    assert sorted(r.resource_id for r in fresh) == sorted(r.resource_id for r in withdrawn)
    assert {(r.state, r.to_member_id) for r in fresh} == {("waiting", company["tina"])}
    ((_, details),) = events(company, "transfer.reassigned")
    assert details["count"] == 2 and details["ledger_digest"] == python_digest(of_step(rows, step, "external_contact"))
    (_, given), *_ = [e for e in events(company, "exit.inherited") if e[1]["step_id"] > step]
    assert given["count"] == 2 and given["ledger_digest"] == python_digest(of_step(rows, fresh[0].step_id, "external_contact"))
    # Handing the same rows to tina again applies to nothing: they already go to her.
    again = [r.correlation_id for r in fresh]
    with pytest.raises(Conflict) as refused:
        bulk(company, "hanna", eid, "reassign", Selection.of(again), to="tina")
    assert refused.value.code == "nothing_applies"
    no_problems(company)
    # R-EXIT-6: a restore gives the re-assigned contacts back to the leaver like any other.
    clock.advance(seconds=31)
    with tenant_transaction(company.services, company.slug, "hanna") as uow:
        restore.restore_exit(uow, eid, totp=totp_now("hanna", company.services), reason="mistaken exit")
    assert {owner(company, K.EXTERNAL_CONTACT, rid) for rid in company.resources[K.EXTERNAL_CONTACT]} == {company["leo"]}
    no_problems(company)


def test_r_org_5_unassigned_resources_of_several_kinds_inherited_in_one_action(company):
    eid = start(company, "leo", successor="sam").id
    bulk(company, "hanna", eid, "result", Selection.of(None, everything=True), state="refused")  # every waiting contact and group
    chosen = [r.correlation_id for r in current(company, eid).values() if r.state == "refused"][:5]
    got = bulk(company, "hanna", eid, "inherit", Selection.of(chosen), expected=5, to="tina")
    assert got.count == 5 and sum(got.by_kind.values()) == 5 and set(got.by_kind) == {"external_contact", "customer_group"} & set(got.by_kind)
    inherited = [r for r in current(company, eid).values() if r.to_member_id == company["tina"]]
    assert len(inherited) == 5 and {r.state for r in inherited} == {"waiting"}  # wecom: customers accept again
    assert len(events(company, "exit.inherited")) == len(got.by_kind)
    no_problems(company)


def test_bulk_actions_refuse_clearly_and_change_nothing(company):
    eid = start(company, "leo", successor="sam").id
    chosen = waiting_ids(company, eid, "external_contact")
    before = ledger(company, eid)
    with pytest.raises(ValidationError) as empty:
        Selection.of([])
    assert empty.value.code == "nothing_chosen"
    with pytest.raises(ValidationError) as no_state:
        bulk(company, "hanna", eid, "result", Selection.of(chosen))
    assert no_state.value.code == "result_required"  # no outcome is assumed
    with pytest.raises(ValidationError):
        bulk(company, "hanna", eid, "result", Selection.of(chosen), state="reverted")
    done_rows = [r.correlation_id for r in before if r.state == "done"][:2]
    with pytest.raises(Conflict) as not_waiting:
        bulk(company, "hanna", eid, "result", Selection.of(done_rows), state="refused")
    assert not_waiting.value.code == "nothing_applies"
    with pytest.raises(Conflict) as leaver:
        bulk(company, "hanna", eid, "reassign", Selection.of(chosen), to="leo")
    assert leaver.value.code == "acceptor_invalid"
    with pytest.raises(Forbidden):
        bulk(company, "ivan", eid, "result", Selection.of(chosen), state="done")  # IT does not hand over
    assert ledger(company, eid) == before
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        owners = set(conn.execute(select(external_contacts.c.owner_id).where(external_contacts.c.tenant_id == tenant.id, external_contacts.c.id.in_(company.resources[K.EXTERNAL_CONTACT]))).scalars())
    assert owners == {company["leo"]}  # waiting contacts stay with the leaver until the outcome
