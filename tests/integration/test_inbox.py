"""R-EXIT-9: people are told what waits for them because someone left."""

from __future__ import annotations

from offboard.actions.context import tenant_read
from offboard.queries.inbox import Inbox, inbox
from tests.support.exits import give_records, make_company, start


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
    assert _box(company, "tina", clock) == Inbox(received=[], reports_leaving=[], checklist=[], locked_accounts=[])
