"""Exit requests approved through a flow (issue 13 item 3, SPEC §6 `approval_flow`, the feishu
preset): the chain manager → HR whose last approval schedules the exit, which the reconciler
fires on its day (R-EXIT-8); a rejection, a withdrawal, only the right approver; the trigger
refused in another mode; one open request; an approver who leaves has their pending steps moved
(R-POST-2) by a single exit and by a bulk exit; a blocked last approval keeps the request.

Storage matters for the chain, the moves (one correlated UPDATE per batch) and the partial unique
index: those run on SQLite and PostgreSQL, the rest on SQLite.

The company (tests/support/exits.py): sam and rita report to leo, who leads East and reports to
mona, who leads Sales; hanna is HR, ivan IT, boss and deputy super admins, lone leads Legal alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from offboard.actions import bulk_exits
from offboard.actions import exit_requests as er
from offboard.actions import exits as exit_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.actions.policy import set_policy
from offboard.bootstrap import build
from offboard.cli.main import main
from offboard.domain import bulk_file
from offboard.domain.errors import OffboardError
from offboard.jobs import reconciler
from offboard.jobs.bulk import run_jobs
from offboard.queries.inbox import inbox
from offboard.store import audit_log
from offboard.store.tables import exit_requests, exits, members
from tests.support.db import audit_seq
from tests.support.exits import make_company

TZ = ZoneInfo("Asia/Shanghai")  # make_company's enterprises keep the default time zone
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _act(company, by: str | None, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def _refused(company, by: str | None, fn, *args, **kwargs) -> OffboardError:
    before = audit_seq(company.services, company.slug)
    with pytest.raises(OffboardError) as refused:
        _act(company, by, fn, *args, **kwargs)
    assert audit_seq(company.services, company.slug) == before, "refused, yet the audit trail grew"
    return refused.value


def _day(clock, days: int) -> str:
    """The enterprise's calendar day `days` from the fake clock's now."""
    return (clock.now().astimezone(TZ).date() + timedelta(days=days)).isoformat()


def _file(company, userid: str, clock, *, days: int = 5, **kwargs):
    kwargs.setdefault("reason", "a new job")
    return _act(company, userid, er.file_request, userid, leave_date=_day(clock, days), **kwargs)


def _steps(view) -> list[tuple]:
    return [(s.kind, s.approver_name, s.state) for s in view.steps]


def _box(company, userid: str, clock):
    with tenant_read(company.services, company.slug, userid) as (conn, tenant, actor):
        return inbox(conn, tenant, actor, clock.now())


def _events(company, action: str) -> list[dict]:
    with company.services.db.read() as conn:
        return audit_log.page(conn, company.tenant_id, before=None, limit=100, action=action)


def _status(company, userid: str) -> str:
    with company.services.db.read() as conn:
        return conn.execute(select(members.c.status).where(members.c.id == company[userid])).scalar_one()


def _exits_of(company, userid: str) -> list:
    with company.services.db.read() as conn:
        return list(conn.execute(select(exits).where(exits.c.member_id == company[userid])))


def test_the_approval_chain_manager_then_hr_schedules_the_exit_and_it_fires_on_the_leave_date(services, clock):
    company = make_company(services, profile="feishu")  # exits start from an approved exit request
    filed = _file(company, "sam", clock, reason="离开去读书", successor="rita")
    assert (filed.state, _steps(filed)) == ("pending", [("manager", "Leo", "waiting"), ("hr", None, "upcoming")])
    assert [r.id for r in _box(company, "leo", clock).approvals] == [filed.id] and _box(company, "leo", clock).to_do == 1
    assert _box(company, "hanna", clock).approvals == []  # HR's step is not reached yet

    passed = _act(company, "leo", er.approve, filed.id, comment="同意，交接给 rita")
    assert _steps(passed) == [("manager", "Leo", "approved"), ("hr", None, "waiting")] and passed.steps[0].comment == "同意，交接给 rita"
    assert _box(company, "leo", clock).approvals == [] and [r.id for r in _box(company, "hanna", clock).approvals] == [filed.id]
    assert _exits_of(company, "sam") == []  # nothing before the last approval

    done = _act(company, "hanna", er.approve, filed.id)
    assert (done.state, done.exit_state, done.steps[1].decided_by_name) == ("approved", "scheduled", "Hanna")
    (scheduled,) = _exits_of(company, "sam")
    assert (scheduled.id, scheduled.type, scheduled.trigger, scheduled.state) == (done.exit_id, "voluntary", "approval", "scheduled")
    leave_day = date.fromisoformat(filed.leave_date)
    assert scheduled.effective_at == datetime(leave_day.year, leave_day.month, leave_day.day, 23, 59, 59, tzinfo=TZ)  # the end of that day there
    assert (scheduled.successor_id, scheduled.reason, scheduled.requested_by) == (company["rita"], "离开去读书", f"member:{company['sam']}")
    (origin,) = _events(company, "exit.scheduled")
    assert origin["details"]["exit_request_id"] == filed.id and origin["actor"] == f"member:{company['hanna']}"  # the exit shows where it came from
    assert [e["action"] for e in _events(company, "exit_request.approved")] == ["exit_request.approved"]
    assert [r.state for r in _box(company, "sam", clock).my_requests] == ["approved"]

    assert reconciler.reconcile(services).took_effect == 0 and _status(company, "sam") == "active"  # nothing before the day (R-EXIT-8)
    clock.advance(days=6)
    assert reconciler.reconcile(services).took_effect == 1
    assert _status(company, "sam") == "exited" and _exits_of(company, "sam")[0].state == "open"


@sqlite_only
def test_a_rejection_ends_the_request_and_the_member_reads_why_in_their_inbox(services, clock):
    company = make_company(services, profile="feishu")
    filed = _file(company, "sam", clock)
    assert _refused(company, "leo", er.reject, filed.id, comment="  ").code == "comment_required"
    rejected = _act(company, "leo", er.reject, filed.id, comment="项目上线前请留下")
    assert (rejected.state, _steps(rejected)) == ("rejected", [("manager", "Leo", "rejected"), ("hr", None, "closed")])
    (told,) = _box(company, "sam", clock).my_requests
    assert (told.state, told.last_decision.decided_by_name, told.last_decision.comment) == ("rejected", "Leo", "项目上线前请留下")
    assert _refused(company, "hanna", er.approve, filed.id).code == "exit_request_closed"
    assert _exits_of(company, "sam") == [] and _events(company, "exit_request.rejected")[0]["details"]["comment"] == "项目上线前请留下"


@sqlite_only
def test_one_open_request_per_member_withdrawn_by_them_alone_while_pending(services, clock):
    company = make_company(services, profile="feishu")
    filed = _file(company, "sam", clock)
    again = _refused(company, "sam", er.file_request, "sam", leave_date=_day(clock, 9), reason="again")
    assert (again.code, again.status) == ("exit_request_open", 409) and f"id {filed.id}" in again.render()
    assert _refused(company, "rita", er.withdraw, filed.id).code == "forbidden"
    assert _refused(company, "leo", er.withdraw, filed.id).code == "forbidden"  # the approver rejects, never withdraws
    withdrawn = _act(company, "sam", er.withdraw, filed.id)
    assert (withdrawn.state, _steps(withdrawn)) == ("withdrawn", [("manager", "Leo", "closed"), ("hr", None, "closed")])
    assert _refused(company, "sam", er.withdraw, filed.id).code == "exit_request_closed"
    assert _box(company, "leo", clock).approvals == []
    assert _file(company, "sam", clock).state == "pending"  # a new one, once the other is withdrawn


@sqlite_only
def test_only_the_waiting_steps_approver_decides_hr_any_hr_member_a_super_admin_any_step(services, clock):
    company = make_company(services, profile="feishu")
    filed = _file(company, "sam", clock)
    for by, code in (("rita", "not_your_step"), ("hanna", "not_your_step"), ("mona", "not_your_step"), ("sam", "own_exit_request")):
        refused = _refused(company, by, er.approve, filed.id)
        assert (refused.code, refused.status) == (code, 403), by
    assert "Leo" in _refused(company, "rita", er.reject, filed.id, comment="no").render()  # names whom it waits for
    passed = _act(company, "deputy", er.approve, filed.id)  # a super admin unblocks the step of an absent manager
    assert passed.steps[0].decided_by_name == "Deputy" and passed.waiting.kind == "hr"
    assert _refused(company, "hanna", er.reject, filed.id, comment="no", step=1).code == "exit_request_moved_on"  # decided on what they saw
    for by in ("ivan", "rita", "leo"):
        assert _refused(company, by, er.approve, filed.id).code == "not_your_step", by
    assert _refused(company, None, er.approve, filed.id).code == "forbidden"  # the operator is nobody's approver
    assert _act(company, "hanna", er.approve, filed.id).state == "approved"


@sqlite_only
def test_disabled_mode_refuses_naming_it_and_approval_flow_replaces_the_self_service_exit(services, clock):
    company = make_company(services)  # dingtalk: exits start from the HR system
    refused = _refused(company, "sam", er.file_request, "sam", leave_date=_day(clock, 5), reason="new job")
    assert (refused.code, refused.status) == ("exit_trigger_disabled", 409) and "from the HR system" in refused.render()
    assert "HR 系统" in refused.render("zh-CN")

    _act(company, None, set_policy, {"exit_automation": "approval_flow"})
    filed = _file(company, "sam", clock)
    self_service = _refused(company, "sam", exit_actions.start_exit, "sam", type="voluntary", reason_category="resignation", reason="now")
    assert self_service.code == "exit_trigger_disabled" and "exit request" in self_service.render()
    assert _refused(company, "hanna", exit_actions.start_exit, "rita", type="removal", reason_category="other", reason="x", trigger="approval").code == "trigger_approval"
    assert _act(company, "hanna", exit_actions.start_exit, "tina", type="removal", reason_category="dismissal", reason="HR's removal stays").state == "open"

    _act(company, None, set_policy, {"exit_automation": "manual"})  # the mode changes while sam's request waits
    late = _refused(company, "leo", er.approve, filed.id)
    assert late.code == "exit_trigger_disabled" and "by hand" in late.render()
    assert _act(company, "leo", er.reject, filed.id, comment="exits are started by HR now").state == "rejected"  # it can still end


@sqlite_only
def test_a_member_with_an_open_exit_files_no_request_and_one_leaving_otherwise_has_theirs_cancelled(services, clock):
    company = make_company(services, profile="feishu")
    _act(company, "hanna", exit_actions.start_exit, "rita", type="removal", reason_category="contract_end", reason="x", effective_at=clock.now() + timedelta(days=3))
    assert _refused(company, "rita", er.file_request, "rita", leave_date=_day(clock, 9), reason="y").code == "exit_exists"
    filed = _file(company, "sam", clock)
    _act(company, "hanna", exit_actions.start_exit, "sam", type="removal", reason_category="dismissal", reason="removed first")
    cancelled = _act(company, "hanna", lambda u: er.queries.show_request(u.conn, u.tenant, u.actor, filed.id))
    assert (cancelled.state, [s.state for s in cancelled.steps]) == ("cancelled", ["closed", "closed"])
    assert _box(company, "leo", clock).approvals == [] and len(_events(company, "exit_request.cancelled")) == 1


def test_r_post_2_an_approver_who_leaves_has_their_pending_steps_moved_to_their_manager_or_hr(services, clock):
    """leo leaves while three requests wait on him: sam's (leo is his manager) moves to leo's
    manager mona; tina's (a flow naming leo) too; mona's own, naming leo, goes to HR, since one
    never approves one's own exit. The statement is one UPDATE correlated to each step's row."""
    company = make_company(services, profile="feishu")
    sam = _file(company, "sam", clock)
    _act(company, "boss", er.set_flow, ["member:leo", "hr"])
    tina, mona = _file(company, "tina", clock), _file(company, "mona", clock)
    assert {r.id for r in _box(company, "leo", clock).approvals} == {sam.id, tina.id, mona.id}
    _act(company, "hanna", exit_actions.start_exit, "leo", type="removal", reason_category="dismissal", reason="left", successor="rita")
    after = {v.id: _act(company, "hanna", lambda u, i=v.id: er.queries.show_request(u.conn, u.tenant, u.actor, i)) for v in (sam, tina, mona)}
    moved = {i: (v.steps[0].kind, v.steps[0].approver_name, v.steps[0].moved_from_name, v.steps[0].state) for i, v in after.items()}
    assert moved == {sam.id: ("manager", "Mona", "Leo", "waiting"), tina.id: ("member", "Mona", "Leo", "waiting"), mona.id: ("hr", None, "Leo", "waiting")}
    events = {e["targets"][1]: e for e in _events(company, "exit_request.step_moved")}
    assert set(events) == {f"exit_request:{i}" for i in (sam.id, tina.id, mona.id)}
    assert events[f"exit_request:{mona.id}"]["details"]["steps"] == [{"position": 1, "from": company["leo"], "to": None, "state": "waiting"}]
    assert {r.id for r in _box(company, "mona", clock).approvals} == {sam.id, tina.id}
    assert _act(company, "mona", er.approve, sam.id).waiting.kind == "hr"  # no process stalls
    assert {r.id for r in _box(company, "hanna", clock).approvals} == {sam.id, mona.id}


@contextmanager
def _updates_of(services, table: str) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(f"UPDATE {table.upper()} "):
            sent.append(statement)

    event.listen(services.db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(services.db.engine, "before_cursor_execute", record)


def test_r_post_2_a_bulk_exit_moves_the_pending_steps_of_its_leavers_in_one_statement(services, clock):
    company = make_company(services, profile="feishu")
    sam = _file(company, "sam", clock)  # waits on leo, whose manager mona stays
    _act(company, "boss", er.set_flow, ["member:lone", "hr"])
    tina = _file(company, "tina", clock)  # waits on lone, who has no manager
    departures = bulk_file.read(b"userid,successor\nleo,rita\nlone,mona\n", "layoff.csv", "Asia/Shanghai")
    with tenant_transaction(services, company.slug, "hanna") as uow:
        job = bulk_exits.create(uow, departures, "layoff.csv", bulk_exits.Defaults(reason_category="dismissal", reason="reorganisation"))
    with tenant_transaction(services, company.slug, "hanna") as uow:
        bulk_exits.confirm(uow, job)
    with _updates_of(services, "exit_request_steps") as sent:
        run_jobs(services)
    assert _status(company, "leo") == _status(company, "lone") == "exited"
    assert len(sent) == 1  # both leavers' steps, one statement for the batch
    views = {i: _act(company, "hanna", lambda u, i=i: er.queries.show_request(u.conn, u.tenant, u.actor, i)) for i in (sam.id, tina.id)}
    assert [(v.steps[0].approver_name, v.steps[0].kind, v.steps[0].moved_from_name) for v in views.values()] == [("Mona", "manager", "Leo"), (None, "hr", "Lone")]
    assert len(_events(company, "exit_request.step_moved")) == 2


@sqlite_only
def test_r_exit_5_a_last_approval_whose_exit_is_blocked_is_refused_and_the_request_stays_at_its_step(services, clock):
    """boss, the primary super admin, has not handed the role over (R-EXIT-3): HR's approval
    cannot schedule his exit, so it is refused with the plan's blocker and nothing is lost."""
    company = make_company(services, profile="feishu")
    filed = _file(company, "boss", clock)
    assert [(s.kind, s.state, s.note) for s in filed.steps] == [("manager", "skipped", "no_manager"), ("hr", "waiting", None)]
    blocked = _refused(company, "hanna", er.approve, filed.id, comment="ok")
    assert (blocked.code, blocked.status) == ("exit_blocked", 409) and "Super admin role not handed over" in blocked.render()
    again = _act(company, "hanna", lambda u: er.queries.show_request(u.conn, u.tenant, u.actor, filed.id))
    assert (again.state, again.waiting.position, again.waiting.state, again.steps[1].comment) == ("pending", 2, "waiting", None)
    assert _exits_of(company, "boss") == []


@sqlite_only
def test_the_flow_is_the_tenants_own_and_applies_to_requests_filed_after_it_changed(services, clock):
    company = make_company(services, profile="feishu")
    before = _file(company, "sam", clock)
    assert _refused(company, "hanna", er.set_flow, ["hr"]).code == "forbidden"  # manage_admins
    assert _refused(company, "boss", er.set_flow, ["member:nobody"]).code == "member_not_found"
    assert _refused(company, "boss", er.set_flow, ["manager", "ceo"]).code == "invalid_flow_step"
    shown = _act(company, "boss", er.set_flow, ["department_leader", "member:lone", "hr"])
    assert [s.text for s in shown.steps] == ["department_leader", "member:lone", "hr"] and shown.configured
    (changed,) = _events(company, "exit_request.flow_changed")
    assert changed["details"]["before"] == ["manager", "hr"] and changed["details"]["after"] == ["department_leader", "member:lone", "hr"]
    rita = _file(company, "rita", clock)
    assert _steps(rita) == [("department_leader", "Leo", "waiting"), ("member", "Lone", "upcoming"), ("hr", None, "upcoming")]
    kept = _act(company, "sam", lambda u: er.queries.show_request(u.conn, u.tenant, u.actor, before.id))
    assert _steps(kept) == _steps(before)  # a request keeps the steps it was filed with


def test_one_pending_request_per_member_is_an_index_of_the_database_too(services, clock):
    """The check under the member's lock says it in words; the partial unique index holds even
    for a writer that skipped it."""
    company = make_company(services, profile="feishu")
    filed = _file(company, "sam", clock)
    with services.db.write() as conn, pytest.raises(Exception) as duplicate:
        row = conn.execute(select(exit_requests).where(exit_requests.c.id == filed.id)).one()._asdict()
        conn.execute(exit_requests.insert().values({**row, "id": filed.id + 1}))
    assert "unique" in str(duplicate.value).lower()
    with services.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(exit_requests)).scalar_one() == 1


def test_the_command_line_files_approves_and_shows_in_hrs_words(tmp_path, capsys):
    path = str(tmp_path / "cli.db")
    with pytest.raises(SystemExit):
        main(["--db", path, "db", "upgrade"])
    setup = build(path)  # the command line runs on the real clock: so does this enterprise
    make_company(setup, profile="feishu")
    setup.db.dispose()
    capsys.readouterr()
    day = (datetime.now(TZ).date() + timedelta(days=14)).isoformat()

    def run(*args: str) -> tuple[int, str]:
        try:
            main(["--db", path, *args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, capsys.readouterr().out

    code, out = run("exit-request", "file", "--by", "sam", "--leave-date", day, "--reason", "去读书", "--json")
    request_id = json.loads(out)["id"]
    assert code == 0 and json.loads(out)["waiting"]["approver_userid"] == "leo"
    code, out = run("exit-request", "approve", str(request_id), "--by", "leo", "--comment", "同意")
    assert code == 0 and "Approved" in out and "HR" in out
    code, out = run("exit-request", "approve", str(request_id), "--by", "hanna")
    assert code == 0 and f"scheduled for the end of {day}" in out
    code, out = run("exit-request", "list", "--by", "hanna", "--state", "approved")
    assert code == 0 and "Sam (sam)" in out and "Approved" in out
    code, out = run("exit-request", "flow", "set", "manager", "member:lone", "hr", "--by", "boss")
    assert code == 0 and "member:lone" in out
    code, out = run("exit-request", "flow", "show", "--json")
    assert [s["text"] for s in json.loads(out)["steps"]] == ["manager", "member:lone", "hr"]
