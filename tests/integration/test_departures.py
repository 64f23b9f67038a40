"""The HR leave-date feed (issue 13 item 2, R-EXIT-8, SPEC §6 `hr_sync`) on SQLite and PostgreSQL:
each line a scheduled exit that the reconciler's sweep fires when due, also after the worker was
down or when the date had passed already; the same file again changes nothing; a scheduled exit
cancelled or moved before it fires; the trigger refused in another automation mode; bad lines."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from offboard.actions import departures as feed_actions
from offboard.actions import exits as exit_actions
from offboard.actions.context import tenant_transaction
from offboard.bootstrap import build
from offboard.cli.main import main
from offboard.domain import bulk_file
from offboard.domain.errors import OffboardError
from offboard.jobs import reconciler
from offboard.store import audit_log
from offboard.store.tables import departures, exits, members
from tests.support.db import audit_seq
from tests.support.exits import make_company

TZ = ZoneInfo("Asia/Shanghai")  # make_company's enterprises keep the default time zone


def _import(company, text: str, *, by: str = "hanna", accept_valid: bool = False, name: str = "hr.csv") -> feed_actions.DepartureImport:
    with tenant_transaction(company.services, company.slug, by) as uow:
        read = bulk_file.read(text.encode("utf-8"), name, uow.tenant.timezone)
        return feed_actions.import_departures(uow, read, name, accept_valid=accept_valid).in_language("en")


def _outcomes(result) -> dict[str, str]:
    return {line.userid: line.outcome for line in result.lines}


def _exit_of(company, userid: str):
    with company.services.db.read() as conn:
        return conn.execute(select(exits).where(exits.c.member_id == company[userid]).order_by(exits.c.id.desc())).first()


def _status(company, userid: str) -> str:
    with company.services.db.read() as conn:
        return conn.execute(select(members.c.status).where(members.c.id == company[userid])).scalar_one()


def _count(company, table) -> int:
    with company.services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _events(company, action: str) -> list[dict]:
    with company.services.db.read() as conn:
        return audit_log.page(conn, company.tenant_id, before=None, limit=100, action=action)


def _day(clock, days: int) -> str:
    """The enterprise's calendar day `days` from the fake clock's now."""
    return (clock.now().astimezone(TZ).date() + timedelta(days=days)).isoformat()


def test_r_exit_8_a_leave_date_already_past_when_imported_fires_on_the_next_sweep(services, clock):
    company = make_company(services)  # dingtalk: exits start from the HR system
    clock.advance(days=3)
    past = _day(clock, -1)  # after leo joined, before today
    result = _import(company, f"账号,离职日期,离职原因,继任者\nleo,{past},合同到期不续签,tina\n")
    assert result.applied and _outcomes(result) == {"leo": "scheduled"}
    scheduled = _exit_of(company, "leo")
    assert (scheduled.state, scheduled.trigger, scheduled.type, scheduled.reason_category) == ("scheduled", "feed", "removal", "other")
    assert scheduled.effective_at == datetime.fromisoformat(f"{past}T23:59:59").replace(tzinfo=TZ)  # the end of that day there
    assert scheduled.successor_id == company["tina"] and scheduled.reason == "合同到期不续签"
    assert _status(company, "leo") == "active"  # nothing happens in the import itself
    report = reconciler.reconcile(services)
    assert report.took_effect == 1 and not report.failed
    assert _exit_of(company, "leo").state == "open" and _status(company, "leo") == "exited"


def test_r_exit_8_a_due_date_passed_while_the_worker_was_down_fires_on_the_next_sweep(services, clock):
    company = make_company(services)
    result = _import(company, f"userid,leave_date\nsam,{_day(clock, 5)}\n")
    assert _outcomes(result) == {"sam": "scheduled"}
    assert reconciler.reconcile(services).took_effect == 0  # not due: nothing happens before it (R-EXIT-8)
    clock.advance(days=20)  # the worker was down on the day, and long after
    assert reconciler.reconcile(services).took_effect == 1
    assert _status(company, "sam") == "exited"


def test_r_exit_8_importing_the_same_file_again_changes_nothing_before_and_after_it_fired(services, clock):
    company = make_company(services)
    text = f"userid,leave_date,reason\nsam,{_day(clock, 5)},resigned\nrita,{_day(clock, 9)},resigned\n"
    first = _import(company, text)
    assert _outcomes(first) == {"sam": "scheduled", "rita": "scheduled"} and first.counts == {"scheduled": 2}
    seq, before = audit_seq(services, company.slug), (_count(company, exits), _count(company, departures))
    again = _import(company, text)
    assert _outcomes(again) == {"sam": "unchanged", "rita": "unchanged"} and again.applied
    assert [line.exit_state for line in again.lines] == ["scheduled", "scheduled"]
    assert (audit_seq(services, company.slug), _count(company, exits), _count(company, departures)) == (seq, *before)  # not even an audit event
    clock.advance(days=6)
    assert reconciler.reconcile(services).took_effect == 1  # sam's day came
    seq = audit_seq(services, company.slug)
    after = _import(company, text)
    assert {line.userid: (line.outcome, line.exit_state) for line in after.lines} == {"sam": ("unchanged", "open"), "rita": ("unchanged", "scheduled")}
    assert audit_seq(services, company.slug) == seq


def test_r_exit_8_a_scheduled_exit_cancelled_before_it_fires_stays_cancelled_when_hr_sends_the_line_again(services, clock):
    company = make_company(services)
    text = f"userid,leave_date\nsam,{_day(clock, 3)}\n"
    _import(company, text)
    with tenant_transaction(services, company.slug, "hanna") as uow:
        exit_actions.cancel_exit(uow, _exit_of(company, "sam").id)
    clock.advance(days=5)
    assert reconciler.reconcile(services).took_effect == 0 and _status(company, "sam") == "active"
    again = _import(company, text)
    assert [(line.outcome, line.exit_state) for line in again.lines] == [("unchanged", "cancelled")]
    assert _count(company, exits) == 1  # a person's cancellation wins over the file sent again


def test_r_exit_8_a_new_leave_date_moves_the_scheduled_exit_and_hr_changing_its_mind_back_moves_it_back(services, clock):
    company = make_company(services)
    first_day, second_day = _day(clock, 10), _day(clock, 4)
    _import(company, f"userid,leave_date\nsam,{first_day}\n")
    scheduled = _exit_of(company, "sam")
    moved = _import(company, f"userid,leave_date\nsam,{second_day}\n")
    line = moved.lines[0]
    assert (line.outcome, line.exit_id, line.previous_leave_date, line.leave_date) == ("moved", scheduled.id, first_day, second_day)
    assert _exit_of(company, "sam").effective_at.astimezone(TZ).date().isoformat() == second_day and _count(company, exits) == 1
    (event,) = _events(company, "exit.rescheduled")
    assert event["details"]["via"] == "feed" and event["details"]["previous"] == scheduled.effective_at.isoformat()
    assert [line.outcome for line in _import(company, f"userid,leave_date\nsam,{second_day}\n").lines] == ["unchanged"]
    back = _import(company, f"userid,leave_date\nsam,{first_day}\n")  # the first file again: HR went back to its first date
    assert [(line.outcome, line.previous_leave_date) for line in back.lines] == [("moved", second_day)]
    assert _exit_of(company, "sam").effective_at.astimezone(TZ).date().isoformat() == first_day


def test_r_exit_8_a_person_moves_a_scheduled_exit_before_it_fires_and_the_same_file_leaves_the_move_alone(services, clock):
    company = make_company(services)
    text = f"userid,leave_date\nsam,{_day(clock, 10)}\n"
    _import(company, text)
    scheduled = _exit_of(company, "sam")
    earlier = clock.now() + timedelta(days=2)
    with tenant_transaction(services, company.slug, "hanna") as uow:
        assert exit_actions.reschedule_exit(uow, scheduled.id, earlier).state == "scheduled"
    assert [line.outcome for line in _import(company, text).lines] == ["unchanged"]  # the file knew nothing of the move
    assert _exit_of(company, "sam").effective_at == earlier
    clock.advance(days=3)
    assert reconciler.reconcile(services).took_effect == 1
    with pytest.raises(OffboardError) as refused, tenant_transaction(services, company.slug, "hanna") as uow:
        exit_actions.reschedule_exit(uow, scheduled.id, clock.now() + timedelta(days=1))
    assert refused.value.code == "exit_state_conflict" and "cannot be moved to another date" in refused.value.render("en")


def test_spec_6_the_feed_is_refused_naming_the_mode_where_exits_start_by_hand_and_manual_exits_stay(services, clock):
    company = make_company(services, profile="wecom")  # exits start by hand
    with pytest.raises(OffboardError) as refused:
        _import(company, f"userid,leave_date\nsam,{_day(clock, 5)}\n")
    assert refused.value.code == "exit_trigger_disabled" and refused.value.status == 409
    assert "exits start by hand" in refused.value.render("en") and "手动发起" in refused.value.render("zh-CN")
    assert _count(company, exits) == 0
    with tenant_transaction(services, company.slug, "hanna") as uow:  # a person's exit, scheduled by hand, is still there to use
        exit_actions.start_exit(uow, "sam", type="removal", reason_category="resignation", reason="new job", effective_at=clock.now() + timedelta(days=5))


def test_r_exit_8_a_file_with_bad_lines_changes_nothing_unless_the_good_ones_are_accepted_alone(services, clock):
    company = make_company(services)
    text = (
        "userid,leave_date,successor\n"
        f"sam,{_day(clock, 5)},\n"  # good
        "rita,2026-13-40,\n"  # a bad date
        f"nobody,{_day(clock, 5)},\n"  # an unknown userid
        f"sam,{_day(clock, 6)},\n"  # sam again
        f"lone,{_day(clock, 5)},ghost\n"  # an unknown successor
        f"boss,{_day(clock, 5)},\n"  # HR may not remove an admin (SPEC §3.2)
        f"tina,{_day(clock, 5)},sam\n"  # the successor leaves in the same file
        f"mona,{_day(clock, 5)}T18:00,\n"  # a time, not a day
    )
    seq = audit_seq(services, company.slug)
    refused = _import(company, text)
    assert not refused.applied and refused.counts == {"invalid": 7, "scheduled": 1}
    codes = {line.line: (line.userid, [i.code for i in line.issues]) for line in refused.lines if line.issues}
    assert codes == {
        3: ("rita", ["invalid_date"]),
        4: ("nobody", ["member_not_found"]),
        5: ("sam", ["duplicate_line"]),
        6: ("lone", ["member_not_found"]),
        7: ("boss", ["forbidden"]),
        8: ("tina", ["exit_blocked"]),
        9: ("mona", ["leave_date_not_a_day"]),
    }
    assert "ghost" in refused.lines[4].issues[0].message and "Acceptor leaving too" in refused.lines[6].issues[0].message
    assert (audit_seq(services, company.slug), _count(company, exits), _count(company, departures)) == (seq, 0, 0)  # nothing changed
    accepted = _import(company, text, accept_valid=True)
    assert accepted.applied and accepted.counts == {"invalid": 7, "scheduled": 1}
    assert _exit_of(company, "sam").state == "scheduled" and _count(company, exits) == 1
    (imported,) = _events(company, "departures.imported")
    assert (imported["details"]["count"], imported["details"]["invalid"], imported["details"]["name"]) == (1, 7, "hr.csv")


def test_r_exit_8_a_file_that_cannot_be_read_changes_nothing_with_a_clear_error(services):
    company = make_company(services)
    for data, name, code in ((b"\x00\xff\xfe\xfa" * 10, "hr.csv", "file_encoding"), (b"salary,bonus\n1,2\n", "hr.csv", "file_unknown_columns"), (b"{not json", "hr.json", "file_unreadable")):
        with pytest.raises(OffboardError) as refused, tenant_transaction(services, company.slug, "hanna") as uow:
            feed_actions.import_departures(uow, bulk_file.read(data, name, uow.tenant.timezone), name)
        assert refused.value.code == code, data
    assert _count(company, exits) == 0


def test_r_exit_8_departures_import_and_list_on_the_command_line(tmp_path, capsys, monkeypatch):
    """`offboard departures import FILE [--accept-valid] [--json]`, `departures list`, `reschedule`."""
    monkeypatch.delenv("OFFBOARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("OFFBOARD_TENANT", raising=False)
    path = str(tmp_path / "cli.db")
    main_args = ["--db", path]
    with pytest.raises(SystemExit):
        main([*main_args, "db", "upgrade"])
    setup = build(path)  # the command line runs on the real clock: so does this enterprise
    make_company(setup)
    setup.db.dispose()
    capsys.readouterr()
    day = (date.today() + timedelta(days=14)).isoformat()
    csv = tmp_path / "离职名单.csv"
    csv.write_bytes(f"账号,离职日期,离职原因\nsam,{day},辞职\nnobody,{day},辞职\n".encode("gb18030"))

    def run(*args: str) -> tuple[int, str]:
        try:
            main([*main_args, *args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, capsys.readouterr().out

    code, out = run("departures", "import", str(csv), "--by", "hanna", "--json")
    body = json.loads(out)
    assert code == 1 and body["applied"] is False and [line["outcome"] for line in body["lines"]] == ["scheduled", "invalid"]
    code, out = run("departures", "import", str(csv), "--by", "hanna", "--accept-valid")
    assert code == 0 and "sam" in out and "Exit scheduled" in out and "Cannot be imported" in out
    code, out = run("departures", "list", "--json")
    assert code == 0 and [(d["userid"], d["leave_date"], d["exit_state"]) for d in json.loads(out)["items"]] == [("sam", day, "scheduled")]
    later = (date.today() + timedelta(days=20)).isoformat()
    code, out = run("reschedule", "sam", "--effective", later, "--by", "hanna")
    assert code == 0 and later in out
