"""R-EXIT-9: people are told what waits for them because someone left."""

from __future__ import annotations

from offboard.actions import checklist as cl_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.jobs import reconciler
from offboard.queries.inbox import Inbox, inbox
from offboard.domain.vocabulary import ResourceKind
from tests.support.exits import give, give_records, make_company, start


def _box(company, userid: str, clock) -> dict:
    with tenant_read(company.services, company.slug, userid) as (conn, tenant, actor):
        return inbox(conn, tenant, actor, clock.now())


def test_r_exit_9_acceptor_manager_hr_and_it_each_see_what_waits_for_them(services, clock):
    """leo leaves without a named successor: his manager mona receives his resources and sees
    her report leaving; HR and IT see the checklist items their role owns; tina sees nothing."""
    company = make_company(services)
    give_records(company, "leo")  # an open reimbursement (HR's item 4), devices to wipe (IT's item 12)
    exit_ = start(company, "leo")
    mona = _box(company, "mona", clock)
    assert {r.exit_id for r in mona.received} == {exit_.id} and all(r.from_userid == "leo" for r in mona.received)
    assert sum(r.count for r in mona.received) > 0
    assert [r.userid for r in mona.reports_leaving] == ["leo"]
    hr, it = _box(company, "hanna", clock), _box(company, "ivan", clock)
    assert hr.checklist and {i.owner for i in hr.checklist} == {"hr"} and {i.exit_id for i in hr.checklist} == {exit_.id}
    assert it.checklist and {i.owner for i in it.checklist} == {"it"}
    assert _box(company, "tina", clock) == Inbox(awaiting_signoff=[], to_accept=[], checklist=[], received=[], reports_leaving=[], locked_accounts=[], to_do=0)


def _act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def _green(company, eid: int) -> None:
    _act(company, "hanna", cl_actions.close_reimbursements, eid, "settled in the finance system (BX-1)")
    _act(company, "ivan", cl_actions.acknowledge_grants, eid, "CRM told to re-authorize")
    _act(company, "ivan", cl_actions.attest, eid, "access_revoked", "laptop returned, phone wiped remotely")


def test_r_exit_9_the_inbox_says_what_to_do_sign_offs_customers_to_accept_and_overdue_items(services, clock):
    """wecom profile: customers wait 24 h for the acceptor. sam is told which customers wait for
    him; once the checklist is done HR and IT each see the exit awaiting their sign-off (and no
    longer once signed); an item still open after the restore window is overdue."""
    company = make_company(services, profile="wecom", policy={"restore_window_hours": 72})
    give_records(company, "leo")
    leo = start(company, "leo", successor="sam")
    sam = _box(company, "sam", clock)
    assert {(r.exit_id, r.from_userid, r.kind, r.state) for r in sam.to_accept} == {(leo.id, "leo", "external_contact", "waiting"), (leo.id, "leo", "customer_group", "waiting")}
    assert all(r.kind not in ("external_contact", "customer_group") or r.state == "done" for r in sam.received)
    assert sam.to_do == len(sam.to_accept) == 2 and not any(r.readable for r in sam.to_accept)  # sam may not open leo's exit
    give(company, "mona", 1, kinds=(ResourceKind.EXTERNAL_CONTACT,))
    mona = start(company, "mona", successor="boss")
    assert {r.exit_id for r in _box(company, "boss", clock).to_accept if r.readable} == {mona.id}  # a super admin may
    hanna = _box(company, "hanna", clock)
    assert hanna.awaiting_signoff == [] and not any(i.overdue for i in hanna.checklist)
    assert hanna.to_do == 0  # open items are listed, but nothing is overdue yet

    _green(company, leo.id)
    assert _box(company, "hanna", clock).awaiting_signoff == []  # the customers still wait (items 1 and 2)
    clock.advance(hours=25)
    assert reconciler.reconcile(services).as_dict()["taken_over"] > 0
    assert _box(company, "sam", clock).to_accept == []
    hanna, ivan = _box(company, "hanna", clock), _box(company, "ivan", clock)
    assert [(a.exit_id, a.role) for a in hanna.awaiting_signoff] == [(leo.id, "hr"), (mona.id, "hr")] and hanna.to_do == 2
    assert [(a.exit_id, a.role) for a in ivan.awaiting_signoff] == [(leo.id, "it"), (mona.id, "it")]
    _act(company, "hanna", cl_actions.signoff, leo.id, "hr")
    assert [a.exit_id for a in _box(company, "hanna", clock).awaiting_signoff] == [mona.id]
    assert [a.exit_id for a in _box(company, "ivan", clock).awaiting_signoff] == [leo.id, mona.id]

    rita = start(company, "rita", successor="sam")
    give_records(company, "rita", devices_n=1, grants=0, open_reimbursements=0, messages_n=0)
    clock.advance(hours=73)  # both restore windows are over; rita's device is still not wiped
    ivan = _box(company, "ivan", clock)
    overdue = [i for i in ivan.checklist if i.overdue]
    assert [(i.exit_id, i.key) for i in overdue] == [(rita.id, "access_revoked")] and ivan.checklist[0].overdue
    assert ivan.to_do == 2 + len(overdue)  # the sign-offs of leo and mona, and rita's overdue item
