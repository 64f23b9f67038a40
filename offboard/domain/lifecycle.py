"""The exit lifecycle of SPEC §4 as transition tables; every state change is checked here.

member:  active --exit takes effect--> exited --finalize--> finalized --retention over--> erased
            ^                             |
            +---------- restore ----------+  (within the restore window)
exit:    scheduled --effective time--> open --window over + sign-off--> finalized
                                         +-- restore --> restored     (scheduled -- cancel --> cancelled)
                                                                      (scheduled -- reschedule --> scheduled)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from offboard.domain.errors import Conflict, Term, ValidationError, error
from offboard.domain.vocabulary import ExitState, MemberStatus

EXIT_TRANSITIONS: dict[ExitState, dict[str, ExitState]] = {
    # A scheduled exit can be moved to another date until it takes effect (R-EXIT-8).
    ExitState.SCHEDULED: {"take_effect": ExitState.OPEN, "cancel": ExitState.CANCELLED, "reschedule": ExitState.SCHEDULED},
    ExitState.OPEN: {"finalize": ExitState.FINALIZED, "restore": ExitState.RESTORED},
    ExitState.FINALIZED: {},
    ExitState.RESTORED: {},
    ExitState.CANCELLED: {},
}

MEMBER_TRANSITIONS: dict[MemberStatus, dict[str, MemberStatus]] = {
    MemberStatus.ACTIVE: {"exit": MemberStatus.EXITED, "freeze": MemberStatus.FROZEN},
    MemberStatus.FROZEN: {"exit": MemberStatus.EXITED, "unfreeze": MemberStatus.ACTIVE},
    MemberStatus.EXITED: {"restore": MemberStatus.ACTIVE, "finalize": MemberStatus.FINALIZED},
    MemberStatus.FINALIZED: {"erase": MemberStatus.ERASED},
    MemberStatus.ERASED: {},
}


def next_exit_state(state: str, event: str) -> ExitState:
    target = EXIT_TRANSITIONS[ExitState(state)].get(event)
    if target is None:
        raise error(Conflict, "exit_state_conflict", "This exit is {state}; it cannot {event}.", state=Term("exit_state", state), event=Term("lifecycle_event", event))
    return target


def next_member_status(status: str, event: str) -> MemberStatus:
    target = MEMBER_TRANSITIONS[MemberStatus(status)].get(event)
    if target is None:
        raise error(Conflict, "member_state_conflict", "The member is {status}; they cannot {event}.", status=Term("member_status", status), event=Term("lifecycle_event", event))
    return target


# A leave date is planned weeks or months ahead, not decades: two years covers a contract end
# or a retirement date, and keeps every derived time (restore window, retention) representable.
MAX_SCHEDULE_AHEAD = timedelta(days=731)


def check_effective_at(when: datetime, now: datetime, earliest: datetime) -> datetime:
    """R-EXIT-8: an effective time in a sane window, as UTC: not before the member joined or the
    enterprise existed (`earliest`), not more than MAX_SCHEDULE_AHEAD after now."""
    try:
        moment = when.astimezone(now.tzinfo)
        too_early, too_late = moment < earliest, moment > now + MAX_SCHEDULE_AHEAD
    except (OverflowError, ValueError):
        too_early, too_late = when.year < now.year, when.year >= now.year
    if too_early:
        raise error(
            ValidationError,
            "leave_date_too_early",
            "The leave date is before the member joined ({earliest}); give a date from then on.",
            earliest=earliest.date().isoformat(),
        )
    if too_late:
        raise error(
            ValidationError,
            "leave_date_too_late",
            "The leave date is more than two years ahead; give a date before {latest}.",
            latest=(now + MAX_SCHEDULE_AHEAD).date().isoformat(),
        )
    return moment


def retention_end(exited_at: datetime, days: int, tz: str = "UTC") -> datetime:
    """R-LAW-2: kept at least `days` after the exit and never less than six calendar months,
    the months counted on the enterprise's calendar (its time zone), as a person would."""
    from zoneinfo import ZoneInfo

    local = exited_at.astimezone(ZoneInfo(tz))
    month = local.month + 6
    year = local.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    last_day = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    six_months = local.replace(year=year, month=month, day=min(local.day, last_day)).astimezone(exited_at.tzinfo)
    return max(six_months, exited_at + timedelta(days=days))


def restore_deadline(effective_at: datetime, window_hours: int) -> datetime:
    return effective_at + timedelta(hours=window_hours)


def check_restorable(state: str, now: datetime, restore_until: datetime | None) -> None:
    """R-EXIT-6: only an open exit, and only inside its restore window."""
    next_exit_state(state, "restore")
    if restore_until is None or now > restore_until:
        raise error(
            Conflict,
            "restore_window_over",
            "The restore window of this exit ended at {until}; a mistaken exit can no longer be undone, add the person again instead.",
            until=restore_until.isoformat(timespec="minutes") if restore_until else "-",
        )


def leave_moment(value: str | None, tz: str) -> datetime | None:
    """When a leave date or time takes effect (R-EXIT-8). A date means the end of that day in
    the enterprise's time zone (SPEC §3); a time without a zone is read in that zone too."""
    from datetime import date, time
    from zoneinfo import ZoneInfo

    from offboard.domain.errors import ValidationError

    if not value:
        return None
    try:
        if "T" in value or " " in value.strip():
            moment = datetime.fromisoformat(value.strip())
            moment = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))
        else:
            moment = datetime.combine(date.fromisoformat(value.strip()), time(23, 59, 59), tzinfo=ZoneInfo(tz))
        moment.utcoffset()  # an offset that runs past year 1 or 9999 fails here, not in a later comparison
        return moment
    except (ValueError, OverflowError):
        raise error(ValidationError, "invalid_date", "{value!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM).", value=value) from None
