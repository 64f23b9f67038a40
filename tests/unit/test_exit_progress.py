"""The exit page's step bar (issue 9): each state of an exit shows its own path, the first stage
not done is the current one, and the sentence under it says what happens next and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from offboard.i18n import translate
from offboard.web.exit_progress import Facts, progress

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
OPEN = Facts(
    state="open",
    now=NOW,
    restore_until=NOW + timedelta(hours=20),
    effective="2026-12-02 12:00",
    restore_until_local="2026-12-03 04:00",
    finalized_local=None,
    ended_local=None,
    transfers_open=6,
    items_open=4,
    signed=frozenset(),
)


def path(f: Facts) -> list[tuple[str, str]]:
    return [(s.key, s.state) for s in progress(f).stages]


def sentence(f: Facts, locale: str = "zh-CN") -> str:
    told = progress(f).next
    return translate(told.template, locale, **told.params)


def test_spec_7_an_open_exit_is_at_the_handover_until_nothing_waits_then_at_the_checklist():
    assert path(OPEN) == [("plan", "done"), ("confirm", "done"), ("handover", "current"), ("checklist", "todo"), ("signoff", "todo"), ("archive", "todo")]
    assert path(replace(OPEN, transfers_open=0))[2:4] == [("handover", "done"), ("checklist", "current")]
    assert "2026-12-03 04:00" in sentence(OPEN) and "签核" in sentence(OPEN)


def test_spec_7_after_both_sign_offs_the_bar_shows_the_archive_date_and_says_when():
    signed = replace(OPEN, transfers_open=0, items_open=0, signed=frozenset({"hr", "it"}))
    stages = progress(signed).stages
    assert [(s.key, s.state) for s in stages][2:] == [("handover", "done"), ("checklist", "done"), ("signoff", "done"), ("archive", "current")]
    assert (stages[-1].when, stages[-1].expected) == ("2026-12-03 04:00", True)
    assert sentence(signed, "en") == "Both have signed off. The restore window ends 2026-12-03 04:00; the exit is archived then."
    finalized = replace(signed, state="finalized", finalized_local="2026-12-03 04:05", restore_until=NOW - timedelta(hours=1))
    assert progress(finalized).stages[-1] == replace(progress(finalized).stages[-1], state="done", when="2026-12-03 04:05")
    assert "2026-12-03 04:05" in sentence(finalized)


def test_spec_7_scheduled_restored_and_cancelled_exits_show_their_own_path():
    scheduled = replace(OPEN, state="scheduled")
    assert path(scheduled)[:3] == [("plan", "done"), ("confirm", "done"), ("leave_date", "current")]
    assert "2026-12-02 12:00" in sentence(scheduled)
    restored = replace(OPEN, state="restored", ended_local="2026-12-02 13:00")
    assert path(restored)[-1] == ("restored", "done") and "2026-12-02 13:00" in sentence(restored)
    assert path(replace(OPEN, state="cancelled"))[-1] == ("cancelled", "done")
