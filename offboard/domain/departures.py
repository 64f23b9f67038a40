"""The HR leave-date feed (issue 13, R-EXIT-8; SPEC §6: exits that start from the HR system) as
rules on its lines, without the database.

A line is read by offboard.domain.bulk_file (the same CSV or JSON as a bulk exit, in HR's column
words: 账号, 离职日期, 离职原因, 继任者). The feed asks more of it: a leave date, given as a day
(the exit takes effect at the end of that day in the enterprise's time zone, SPEC §3), and no
self-service type, since HR's feed handles exits for HR (办理离职).

What a good line becomes is decided from what the enterprise already has for its member and
date (`Known`), so that the same file sent again changes nothing (the key is the member and the
leave date): a line already imported is unchanged, whatever became of its exit since (cancelled
by a person, taken effect, restored); a new date for a member whose exit is still scheduled
moves that exit (the feed is HR's word on the date); a date already past is still scheduled, and
the next sweep of the reconciler makes it take effect (a worker that was down catches up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from offboard.domain.bulk_file import Departure, Problem
from offboard.domain.vocabulary import ExitState, ExitType, ReasonCategory

MAX_LINES = 1000  # a day's leave dates, not a layoff: a bulk exit takes a file of 200,000
DEFAULT_REASON = "Leave date from the HR feed"  # stored as the exit's reason when a line gives none
DEFAULT_REASON_CATEGORY = ReasonCategory.OTHER.value


class Outcome(StrEnum):
    """What a line of the feed did (or, when nothing was applied, would do)."""

    SCHEDULED = "scheduled"  # a new scheduled exit (trigger feed)
    MOVED = "moved"  # the member's scheduled exit moved to this date
    UNCHANGED = "unchanged"  # imported before, or the member's scheduled exit is at this date already
    ALREADY_LEFT = "already_left"  # the member's exit took effect already: nothing to schedule
    INVALID = "invalid"  # cannot be imported; the line says why


@dataclass(frozen=True)
class Imported:
    """The departure already imported for this member and date."""

    exit_id: int
    exit_state: str
    current: bool  # the date HR sent last for that exit


@dataclass(frozen=True)
class Pending:
    """The member's exit that is scheduled or open (one at most, SPEC §10)."""

    exit_id: int
    state: str
    effective_at: datetime
    type: str


@dataclass(frozen=True)
class Known:
    present: bool  # the member is active or frozen: one who can still leave
    imported: Imported | None = None
    pending: Pending | None = None


def line_problem(line: Departure) -> Problem | None:
    """What keeps a line read from the file out of the feed, before anything is looked up."""
    if line.problem is not None:
        return line.problem
    if line.effective_at is None:
        return Problem("leave_date_required", "Line {line} has no leave date (离职日期); give the day the member leaves, as YYYY-MM-DD.", {"line": line.row_no})
    if line.leave_date is None:
        return Problem(
            "leave_date_not_a_day",
            "The HR feed takes a leave date without a time (YYYY-MM-DD): the exit takes effect at the end of that day in the enterprise's time zone.",
        )
    if line.type is not None and line.type != ExitType.REMOVAL:
        return Problem(
            "feed_self_service",
            "A self-service exit is the member's own; the HR feed schedules exits handled by HR (办理离职), so leave the type out.",
        )
    return None


def decide(leave_at: datetime, known: Known) -> Outcome:
    """A good line's outcome. `leave_at` is when its date takes effect."""
    imported, pending = known.imported, known.pending
    if imported is not None:
        # Sent before: unchanged, unless HR sent another date for the same exit since and now
        # this one again (its exit, still scheduled, goes back to it).
        back = not imported.current and imported.exit_state == ExitState.SCHEDULED and pending is not None and pending.exit_id == imported.exit_id
        return Outcome.MOVED if back and pending is not None and pending.effective_at != leave_at else Outcome.UNCHANGED
    if pending is not None:
        if pending.state != ExitState.SCHEDULED:
            return Outcome.ALREADY_LEFT
        return Outcome.UNCHANGED if pending.effective_at == leave_at else Outcome.MOVED
    return Outcome.SCHEDULED if known.present else Outcome.ALREADY_LEFT


def writes(outcome: Outcome, known: Known) -> bool:
    """Whether a good line changes something: an exit made or moved, or the departure recorded
    (a scheduled exit made by hand that the feed now names, or HR's date made current again)."""
    if outcome in (Outcome.SCHEDULED, Outcome.MOVED):
        return True
    if outcome != Outcome.UNCHANGED:
        return False
    if known.imported is None:
        return known.pending is not None  # the member's scheduled exit, at this date already
    return not known.imported.current and known.imported.exit_state == ExitState.SCHEDULED and known.pending is not None and known.pending.exit_id == known.imported.exit_id
