"""The HR leave-date feed's rules on its lines (offboard.domain.departures, R-EXIT-8): what a line
must give, and what a good line becomes from what the enterprise has. No database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from offboard.domain import bulk_file
from offboard.domain.departures import Imported, Known, Outcome, Pending, decide, line_problem, writes
from offboard.i18n.glossary import GLOSSARY

TZ = "Asia/Shanghai"
AT = datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZoneInfo(TZ))
OTHER = AT - timedelta(days=7)


def _lines(text: str) -> list[bulk_file.Departure]:
    return list(bulk_file.read(text.encode(), "hr.csv", TZ).lines)


def test_r_exit_8_a_leave_date_is_kept_as_the_day_hr_wrote_and_a_time_is_not_a_day():
    day, timed, none = _lines("账号,离职日期\namy,2026-12-31\nbob,2026-12-31T18:00\ncat,\n")
    assert (day.leave_date, day.effective_at) == (date(2026, 12, 31), AT)  # the end of that day in the enterprise's zone
    assert timed.leave_date is None and timed.effective_at is not None
    assert none.leave_date is None and none.effective_at is None


def test_r_exit_8_a_line_needs_a_day_and_no_self_service_type():
    day, timed, none, voluntary, removal = _lines("userid,leave_date,type\namy,2026-12-31,\nbob,2026-12-31 18:00,\ncat,,\ndan,2026-12-31,辞职\neve,2026-12-31,办理离职\n")
    assert line_problem(day) is None and line_problem(removal) is None
    assert [line_problem(x).code for x in (timed, none, voluntary)] == ["leave_date_not_a_day", "leave_date_required", "invalid_choice"]
    (self_service,) = _lines("userid,leave_date,type\nfay,2026-12-31,voluntary\n")
    assert line_problem(self_service).code == "feed_self_service"


def test_r_exit_8_a_bad_date_or_a_duplicate_keeps_the_problem_the_file_reader_found():
    bad, first, twice = _lines("userid,leave_date\namy,31/12/2026\nbob,2026-12-31\nbob,2027-01-05\n")
    assert line_problem(bad).code == "invalid_date" and line_problem(first) is None and line_problem(twice).code == "duplicate_line"


SCHEDULED = Pending(7, "scheduled", OTHER, "removal")


@pytest.mark.parametrize(
    ("known", "outcome", "written"),
    [
        (Known(True), Outcome.SCHEDULED, True),  # a new leaver
        (Known(False), Outcome.ALREADY_LEFT, False),  # exited or finalized some other way
        (Known(True, pending=SCHEDULED), Outcome.MOVED, True),  # HR's new date wins over the scheduled one
        (Known(True, pending=Pending(7, "scheduled", AT, "removal")), Outcome.UNCHANGED, True),  # at that date already: recorded as the feed's
        (Known(False, pending=Pending(7, "open", OTHER, "removal")), Outcome.ALREADY_LEFT, False),
        # the same line sent again: unchanged, whatever became of its exit
        (Known(True, Imported(7, "scheduled", True), SCHEDULED), Outcome.UNCHANGED, False),  # a person moved it since: the move stands
        (Known(True, Imported(7, "cancelled", True)), Outcome.UNCHANGED, False),
        (Known(False, Imported(7, "open", True), Pending(7, "open", AT, "removal")), Outcome.UNCHANGED, False),
        (Known(False, Imported(7, "finalized", True)), Outcome.UNCHANGED, False),
        (Known(True, Imported(7, "restored", True)), Outcome.UNCHANGED, False),
        # sent, then another date, now this one again: back to it
        (Known(True, Imported(7, "scheduled", False), SCHEDULED), Outcome.MOVED, True),
        (Known(True, Imported(7, "scheduled", False), Pending(7, "scheduled", AT, "removal")), Outcome.UNCHANGED, True),
    ],
)
def test_r_exit_8_each_line_is_decided_by_its_member_and_date(known, outcome, written):
    assert decide(AT, known) == outcome
    assert writes(outcome, known) is written


def test_every_outcome_has_words_in_both_languages():
    assert set(GLOSSARY["departure_outcome"]) == {o.value for o in Outcome}
    assert "reschedule" in GLOSSARY["lifecycle_event"]
