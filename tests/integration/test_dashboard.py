"""The dashboard's figures and the exits list's filters (issue 9 item 5), on SQLite and PostgreSQL.

One small company (tests/support/exits.py, WeCom profile, Asia/Shanghai) with exits started at
known moments of a controlled clock, some on either side of a month's midnight in Shanghai that
falls on the evening before in UTC; the clock then stands at 2026-11-02 09:00 in Shanghai.

    exit        leaver (primary dept)   reason        takes effect (Shanghai)   state
    too old     ann   (Sales)           resignation   2025-11-20 12:00          open
    first month bob   (root)            retirement    2025-12-01 00:30          open
    June        lone  (Legal)           contract_end  2026-06-15 10:00          open
    October     sam   (East < Sales)    dismissal     2026-10-31 23:30          open
    November    leo   (East < Sales)    resignation   2026-11-01 00:30          open (customers waiting, records)
    November    rita  (East < Sales)    resignation   2026-11-02 08:00          open (a reimbursement), restore ends in 23 h
    restored    tina  (Sales)           resignation   2026-09-10 10:00          restored
    cancelled   cat   (Legal)           other         2026-11-20 (scheduled)    cancelled
    scheduled   mona  (Sales)           transfer      2026-11-12 (in 10 days)   scheduled
    later       eve   (root)            other         2026-12-12 (in 40 days)   scheduled
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from offboard.actions import exits as exit_actions
from offboard.actions import inheritance
from offboard.actions import members as member_actions
from offboard.actions import restore as restore_actions
from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.api.app import create_app
from offboard.domain.lifecycle import leave_moment
from offboard.queries import checklist as cl_queries
from offboard.queries import dashboard as dash
from offboard.queries.checklist_facts import facts_of_exits
from offboard.store.tables import exits
from tests.support.exits import Company, give_records, ledger, make_company, start, totp_now

SHANGHAI = timedelta(hours=8)
NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def local(*parts: int) -> datetime:
    """A moment given in Shanghai time, as UTC."""
    return datetime(*parts, tzinfo=UTC) - SHANGHAI


def act(company: Company, by: str | None, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


@pytest.fixture
def world(services, clock):
    clock.current = local(2025, 10, 1, 9, 0)
    company = make_company(services, profile="wecom")
    d = company.departments
    with tenant_transaction(services, company.slug) as uow:
        for userid, dept in (("ann", d["Sales"]), ("bob", d["root"]), ("cat", d["Legal"]), ("eve", d["root"])):
            company.ids[userid] = member_actions.add_member(uow, userid=userid, name=userid.title(), department_ids=[dept])
    exit_ids: dict[str, int] = {}

    def at(moment: datetime, userid: str, reason: str, **kwargs) -> int:
        clock.current = moment
        exit_ids[userid] = start(company, userid, reason_category=reason, **kwargs).id
        return exit_ids[userid]

    at(local(2025, 11, 20, 12, 0), "ann", "resignation")
    at(local(2025, 12, 1, 0, 30), "bob", "retirement")
    at(local(2026, 6, 15, 10, 0), "lone", "contract_end")
    at(local(2026, 9, 10, 10, 0), "tina", "resignation")
    clock.advance(hours=1)
    act(company, "hanna", restore_actions.restore_exit, exit_ids["tina"], totp=totp_now("hanna", services), reason="mistaken exit")
    at(local(2026, 10, 31, 23, 30), "sam", "dismissal", successor="mona")
    give_records(company, "leo")  # devices, third-party grants, an open reimbursement
    give_records(company, "rita", devices_n=0, grants=0, open_reimbursements=1, messages_n=0)
    at(local(2026, 11, 1, 0, 30), "leo", "resignation", successor="mona")
    waiting = [r for r in ledger(company, exit_ids["leo"]) if r.state == "waiting" and r.kind == "external_contact"]
    clock.advance(minutes=5)
    act(company, "hanna", inheritance.record_result, waiting[0].correlation_id, "refused")
    at(local(2026, 11, 2, 8, 0), "rita", "resignation", successor="mona")
    clock.current = NOW
    exit_ids["cat"] = start(company, "cat", reason_category="other", effective_at=leave_moment("2026-11-20", "Asia/Shanghai")).id
    act(company, "hanna", exit_actions.cancel_exit, exit_ids["cat"])
    at(NOW, "mona", "transfer", effective_at=NOW + timedelta(days=10))
    at(NOW, "eve", "other", effective_at=NOW + timedelta(days=40))
    company.exit_ids = exit_ids
    return company


def figures(company: Company) -> dash.Dashboard:
    with tenant_read(company.services, company.slug, "hanna") as (conn, tenant, actor):
        return dash.dashboard(conn, tenant, actor, company.services.clock.now())


def test_issue_9_exits_per_month_by_reason_in_the_enterprise_time_zone(world):
    found = figures(world).exits_by_month
    assert [m.key for m in found.months] == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert (found.months[0].first, found.months[0].last) == ("2025-12-01", "2025-12-31")
    assert (found.months[-1].first, found.months[-1].last) == ("2026-11-01", "2026-11-30")
    assert found.months[2].last == "2026-02-28"
    by_reason = {s.reason_category: s.counts for s in found.by_reason}
    assert set(by_reason) == {"resignation", "dismissal", "contract_end", "retirement", "transfer", "other"}
    zero = [0] * 12

    def only(month: int, n: int) -> list[int]:
        return [n if i == month else 0 for i in range(12)]

    # bob's 00:30 on Dec 1 is Nov 30 in UTC, sam's 23:30 on Oct 31 is in October, leo's 00:30 on
    # Nov 1 in November; ann is older than the 12 months, tina was restored, cat cancelled.
    assert by_reason["retirement"] == only(0, 1)
    assert by_reason["contract_end"] == only(6, 1)
    assert by_reason["dismissal"] == only(10, 1)
    assert by_reason["resignation"] == only(11, 2)
    assert by_reason["transfer"] == by_reason["other"] == zero
    assert found.total == 5
    assert found.states == ["open", "finalized"]


def test_issue_9_exits_per_month_by_top_level_department(world):
    found = figures(world).exits_by_month
    d = world.departments
    by_department = [(s.department_id, s.name, s.subtree, s.counts, s.total) for s in found.by_department]
    assert by_department == [
        (d["Sales"], "Sales", True, [0] * 10 + [1, 2], 3),  # sam, leo and rita of East, inside Sales
        (d["root"], "Acme", False, [1] + [0] * 11, 1),  # bob, a member of the root itself
        (d["Legal"], "Legal", True, [0] * 6 + [1] + [0] * 5, 1),
    ]


def test_issue_9_open_checklist_items_by_owner_role_match_the_board(world):
    found = {o.role: o for o in figures(world).open_items}
    with tenant_read(world.services, world.slug, "hanna") as (conn, tenant, actor):
        board = cl_queries.checklist_board(conn, tenant, actor, world.services.clock.now())
    assert [found["hr"].items, found["it"].items] == [len(board.hr), len(board.it)]
    assert [found["hr"].exits, found["it"].exits] == [len({i.exit_id for i in board.hr}), len({i.exit_id for i in board.it})]
    # leo: customers (1, 2), reimbursement (4), grants (8), devices (12); rita: reimbursement (4).
    assert (found["hr"].items, found["hr"].exits, found["it"].items, found["it"].exits) == (4, 2, 2, 1)


def test_issue_9_set_based_checklist_facts_equal_the_facts_of_each_exit(world):
    with tenant_read(world.services, world.slug, "hanna") as (conn, tenant, _actor):
        rows = conn.execute(exits.select().where(exits.c.tenant_id == tenant.id)).all()
        batched = facts_of_exits(conn, tenant.id, rows, world.services.clock.now())
        one_by_one = {r.id: cl_queries.facts(conn, tenant.id, r, world.services.clock.now()) for r in rows}
    assert len(rows) == 10
    assert batched == one_by_one


def test_issue_9_restore_windows_ending_and_scheduled_exits_ahead(world):
    found = figures(world)
    # rita's 24 h window ends at 08:00 tomorrow; leo's ended at 00:30 today, sam's before.
    assert [(e.member.userid, e.at) for e in found.restore_ending] == [("rita", (local(2026, 11, 3, 8, 0)).isoformat())]
    assert [(e.member.userid, e.exit_id) for e in found.scheduled] == [("mona", world.exit_ids["mona"])]
    assert found.scheduled[0].at == (NOW + timedelta(days=10)).isoformat()


def test_issue_9_customer_transfers_waiting_and_refused(world):
    transfers = figures(world).customer_transfers
    rows = [r for r in ledger(world) if r.kind in ("external_contact", "customer_group")]
    newest = {}
    for r in rows:
        newest[(r.exit_id, r.kind, r.resource_id)] = r
    expected = Counter((r.kind, r.state) for r in newest.values() if r.state in ("waiting", "refused", "acceptor_full"))
    counts = {(c.kind, c.state): c.count for c in transfers.counts}
    assert counts == {(k, s): expected.get((k, s), 0) for k in ("external_contact", "customer_group") for s in ("waiting", "refused", "acceptor_full")}
    assert counts[("external_contact", "refused")] == 1 and counts[("external_contact", "waiting")] == 1  # leo's two customers, one refused
    assert {(e.member.userid, e.kind, e.state, e.count) for e in transfers.exits} == {("leo", k, s, n) for (k, s), n in expected.items()}


# --- through the API -------------------------------------------------------------------------


@pytest.fixture
def api(world):
    created = act(world, "hanna", token_actions.create_token, name="console", service=False, scopes=list(token_actions.SCOPES))
    return TestClient(create_app(world.services), headers={"Authorization": f"Bearer {created.token}"})


def listed(api: TestClient, **params) -> list[str]:
    response = api.get("/api/v1/exits", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return sorted(item["userid"] for item in body["items"])


def test_issue_9_each_dashboard_figure_is_the_total_of_the_list_behind_it(api, world):
    body = api.get("/api/v1/dashboard").json()
    months = body["exits_by_month"]["months"]
    states = body["exits_by_month"]["states"]
    checked = 0
    for series in body["exits_by_month"]["by_reason"]:
        for month, n in zip(months, series["counts"]):
            assert len(listed(api, reason=series["reason_category"], state=states, **{"from": month["first"], "to": month["last"]})) == n
            checked += n
    for series in body["exits_by_month"]["by_department"]:
        for month, n in zip(months, series["counts"]):
            people = listed(api, department=series["department_id"], subdepartments=series["subtree"], state=states, **{"from": month["first"], "to": month["last"]})
            assert len(people) == n
    assert checked == body["exits_by_month"]["total"] == 5
    assert listed(api, reason="resignation", state=states, **{"from": "2026-11-01", "to": "2026-11-30"}) == ["leo", "rita"]


def test_issue_9_exits_list_filters(api, world):
    d = world.departments
    assert listed(api, q="RI") == ["rita"]  # part of a userid or name, any case
    assert listed(api, q="%") == []  # text to find, not a pattern
    assert listed(api, department=d["Sales"]) == ["ann", "leo", "mona", "rita", "sam", "tina"]
    assert listed(api, department=d["East"]) == ["leo", "rita", "sam"]
    assert listed(api, department=d["root"], subdepartments=False) == ["bob", "eve"]
    assert listed(api, state="scheduled") == ["eve", "mona"]
    assert listed(api, state=["restored", "cancelled"]) == ["cat", "tina"]
    assert listed(api, reason="other") == ["cat", "eve"]
    # Days in Shanghai: sam's 23:30 on Oct 31 and leo's 00:30 on Nov 1 fall on either side.
    assert listed(api, **{"from": "2026-10-31", "to": "2026-10-31"}) == ["sam"]
    assert listed(api, **{"from": "2026-11-01", "to": "2026-11-02"}) == ["leo", "rita"]
    assert listed(api, **{"from": "2026-11-12"}) == ["cat", "eve", "mona"]
    assert listed(api, to="2025-12-01") == ["ann", "bob"]
    assert listed(api, q="sa", department=d["Sales"], state="open") == ["sam"]


def test_issue_9_exits_list_pages_keep_their_filters(api, world):
    first = api.get("/api/v1/exits", params={"department": world.departments["Sales"], "limit": 4}).json()
    second = api.get("/api/v1/exits", params={"department": world.departments["Sales"], "limit": 4, "offset": 4}).json()
    assert first["total"] == second["total"] == 6
    assert len(first["items"]) == 4 and len(second["items"]) == 2
    assert {i["userid"] for i in first["items"]} | {i["userid"] for i in second["items"]} == {"ann", "leo", "mona", "rita", "sam", "tina"}


def test_issue_9_exits_list_has_checklist_progress_and_signoffs(api, world):
    items = {i["userid"]: i for i in api.get("/api/v1/exits").json()["items"]}
    with tenant_read(world.services, world.slug, "hanna") as (conn, tenant, actor):
        for userid in ("leo", "rita", "mona"):
            one = cl_queries.checklist(conn, tenant, actor, world.exit_ids[userid], world.services.clock.now())
            assert (items[userid]["checklist_done"], items[userid]["checklist_total"]) == (sum(i.done for i in one.items), len(one.items)), userid
    # leo has 1, 2, 4, 8, 12 and 11 (sealed at finalization) open; rita 4 and 11; mona only 11.
    assert [(items[u]["checklist_done"], items[u]["checklist_total"]) for u in ("leo", "rita", "mona")] == [(6, 12), (10, 12), (11, 12)]
    assert items["tina"]["checklist_done"] is None and items["cat"]["checklist_total"] is None  # restored, cancelled
    assert items["leo"]["department"] == "East" and items["bob"]["department"] == "Acme"
    assert all(i["signed_off"] == [] for i in items.values())


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "2026-13-01"}, 422, "invalid_date"),
        ({"to": "yesterday"}, 422, "invalid_date"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, 422, "invalid_date_range"),
        ({"department": 999999}, 404, "department_not_found"),
        ({"state": "gone"}, 422, "invalid_choice"),
        ({"reason": "boredom"}, 422, "invalid_choice"),
    ],
)
def test_issue_9_exits_list_refuses_bad_filters_with_a_stable_code(api, params, status, code):
    response = api.get("/api/v1/exits", params=params)
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
