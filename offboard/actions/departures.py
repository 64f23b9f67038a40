"""The HR leave-date feed (issue 13, R-EXIT-8; SPEC §6 `hr_sync`): HR's departures, each a
userid and a leave date (with a reason and a successor), become scheduled exits that take
effect when due, through `offboard departures import FILE` and `POST /api/v1/departures`.

The feed is a trigger of its own (`feed`), enabled where exits start from the HR system; in
another mode it is refused with `exit_trigger_disabled`, naming the mode (manual exits stay).

An import is one transaction in two passes. The first reads every line and decides it
(offboard.domain.departures): its member, the people it names, the permission, the date's
bounds and, for a new exit, its plan (R-EXIT-5), with the other leavers of the file counted as
leaving. A file with any bad line changes nothing unless the caller accepts the good lines
alone (`accept_valid`); then the second pass writes them, in file order: a scheduled exit made
(`exits.start_exit`, kept scheduled even when its date is past, so the reconciler's next sweep
makes it take effect), or moved (`exits.reschedule_exit`), and the departure recorded under its
key, the member and the date (the table `departures`), so the same file again changes nothing,
and writes nothing to the audit trail either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, insert, select, update

from offboard.actions import exits as exit_actions
from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.domain import departures as feed
from offboard.domain.authz import Action, allowed
from offboard.domain.bulk_file import Departure, Departures, Problem
from offboard.domain.departures import Imported, Known, Outcome, Pending
from offboard.domain.errors import Conflict, Term, ValidationError, error
from offboard.domain.lifecycle import check_effective_at
from offboard.domain.planning import Choices
from offboard.domain.policy import ExitAutomation
from offboard.domain.vocabulary import OPEN_EXIT_STATES, PRESENT_STATUSES, ExitState, ExitType, ResourceKind, Trigger
from offboard.i18n import translate
from offboard.i18n.glossary import restored
from offboard.queries.jobs import LineIssue
from offboard.store import bulk_planning, repo
from offboard.store.rows import AnyRow
from offboard.store.tables import departures, exits, members

D = departures


@dataclass(frozen=True)
class DepartureLine:
    line: int  # the line of the file (the header is line 1), or the position in the API's list
    userid: str
    leave_date: str | None  # YYYY-MM-DD, as the line gave it
    outcome: str  # offboard.domain.departures.Outcome
    exit_id: int | None = None
    exit_state: str | None = None  # the exit's state once imported (or as found, when unchanged)
    previous_leave_date: str | None = None  # moved: the day the exit had, in the enterprise's time zone
    issues: list[LineIssue] = field(default_factory=list)


@dataclass(frozen=True)
class DepartureImport:
    source: str
    applied: bool  # False: a line cannot be imported and the good ones were not accepted alone; nothing changed
    total: int
    counts: dict[str, int]  # lines by outcome
    lines: list[DepartureLine]

    @property
    def invalid(self) -> int:
        return self.counts.get(Outcome.INVALID, 0)

    def in_language(self, locale: str) -> DepartureImport:
        def told(issues: list[LineIssue]) -> list[LineIssue]:
            return [replace(i, message=translate(i.template, locale, **restored(i.params))) for i in issues]

        return replace(self, lines=[replace(line, issues=told(line.issues)) for line in self.lines])


@dataclass
class _Line:
    """A line while it is decided, then done."""

    read: Departure
    outcome: Outcome = Outcome.INVALID
    problem: Problem | None = None
    member: AnyRow | None = None
    known: Known | None = None
    choices: Choices | None = None
    exit_id: int | None = None
    exit_state: str | None = None
    previous: datetime | None = None


def check_enabled(uow: UnitOfWork) -> None:
    """SPEC §6: the feed starts exits only where they start from the HR system."""
    mode = uow.policy.exit_automation
    if mode != ExitAutomation.HR_SYNC:
        raise error(
            Conflict,
            "exit_trigger_disabled",
            "In this enterprise exits start {mode}, so the HR leave-date feed may not schedule one; a super admin who wants it sets how exits start to the HR system.",
            mode=Term("exit_automation", mode.value),
        )


def import_departures(uow: UnitOfWork, read: Departures, source: str, *, accept_valid: bool = False) -> DepartureImport:
    """Schedule, move or leave as they are the exits of a feed's lines; see the module's doc."""
    uow.require(Action.START_REMOVAL)
    check_enabled(uow)
    if not read.lines:
        raise error(ValidationError, "file_empty", "The file is empty; it needs a header line and one line per departure.")
    if len(read.lines) > feed.MAX_LINES:
        raise error(
            ValidationError,
            "too_many_departures",
            "The HR feed takes at most {limit} departures at a time and this has {count}; send them in parts, or use a bulk exit for a layoff.",
            limit=feed.MAX_LINES,
            count=len(read.lines),
        )
    source = source[:255] or "api"
    lines = _decide(uow, [_Line(d) for d in read.lines])
    bad = sum(1 for line in lines if line.outcome == Outcome.INVALID)
    applied = not bad or accept_valid
    if applied:
        changed = [line for line in lines if line.outcome != Outcome.INVALID and line.known is not None and feed.writes(line.outcome, line.known)]
        for line in changed:
            _write(uow, line, source)
        if changed:
            counts = Counter(line.outcome.value for line in changed)
            details = {"name": source, "count": len(changed), "counts": dict(sorted(counts.items())), "lines": len(lines), "invalid": bad}
            uow.audit("departures.imported", [f"member:{line.member.id}" for line in changed if line.member is not None], details)
    return _report(uow, lines, source, applied)


def _decide(uow: UnitOfWork, lines: list[_Line]) -> list[_Line]:
    conn, tid = uow.conn, uow.tenant_id
    for line in lines:
        line.problem = feed.line_problem(line.read)
    good = [line for line in lines if line.problem is None]
    refs = {line.read.userid for line in good} | {line.read.successor for line in good if line.read.successor}
    refs |= {ref for line in good for ref in line.read.acceptors.values()}
    found = bulk_planning.members_by_userid(conn, tid, refs)
    for line in good:
        _look_up(uow, line, found)
    # Whom this file makes leave (those whose exit is stored already, the plan finds): a line
    # naming one of them as successor or acceptor is blocked (acceptor_leaving), as it would be
    # once their exit is stored.
    leaving = {line.member.id for line in lines if line.problem is None and line.member is not None and line.outcome == Outcome.SCHEDULED}
    for line in lines:
        if line.problem is None and line.outcome == Outcome.SCHEDULED:
            _check_plan(uow, line, leaving - {line.member.id} if line.member is not None else leaving)
        if line.problem is not None:
            line.outcome = Outcome.INVALID
    return lines


def _look_up(uow: UnitOfWork, line: _Line, found: Mapping[str, AnyRow]) -> None:
    """The line's member, what the enterprise has for them and this date, and its outcome; or
    its problem."""
    conn, tid, d = uow.conn, uow.tenant_id, line.read
    assert d.leave_date is not None and d.effective_at is not None  # line_problem saw to it
    member = found.get(d.userid)
    if member is None:
        earlier = _imported_by_userid(conn, tid, d.userid, d.leave_date)  # a member finalized since
        if earlier is not None:
            line.outcome, line.known, line.exit_id, line.exit_state = Outcome.UNCHANGED, Known(False, earlier), earlier.exit_id, earlier.exit_state
            return
        line.problem = Problem("member_not_found", "No member with userid {userid!r} in this enterprise.", {"userid": d.userid})
        return
    missing = [ref for ref in (d.successor, *d.acceptors.values()) if ref and ref not in found]
    if missing:
        line.problem = Problem("member_not_found", "No member with userid {userid!r} in this enterprise.", {"userid": missing[0]})
        return
    line.member = member = repo.member_by_id(conn, tid, member.id)  # every column: the plan reads them
    pending = _pending(conn, tid, member.id)
    known = Known(member.status in PRESENT_STATUSES, _imported(conn, tid, member.id, d.leave_date), pending)
    line.known, line.outcome = known, feed.decide(d.effective_at, known)
    line.exit_id = known.imported.exit_id if known.imported is not None else (pending.exit_id if pending is not None else None)
    line.exit_state = known.imported.exit_state if known.imported is not None else (pending.state if pending is not None else None)
    action = Action.VOLUNTARY_EXIT if pending is not None and pending.type == ExitType.VOLUNTARY else Action.START_REMOVAL
    if not allowed(uow.actor, action, target_of(conn, tid, member)):
        line.problem = Problem("forbidden", "You may not {action} here; ask a super admin or an admin whose scope covers this member.", {"action": Term("action", action.value)})
        return
    if line.outcome in (Outcome.SCHEDULED, Outcome.MOVED):
        try:
            check_effective_at(d.effective_at, uow.now, max(uow.tenant.created_at, member.created_at))
        except ValidationError as exc:
            line.problem = Problem.of(exc)
            return
    if line.outcome == Outcome.MOVED and pending is not None:
        line.previous = pending.effective_at
    line.choices = Choices(
        found[d.successor].id if d.successor else None,
        {ResourceKind(kind): found[ref].id for kind, ref in sorted(d.acceptors.items())},
    )


def _check_plan(uow: UnitOfWork, line: _Line, leaving: set[int]) -> None:
    """R-EXIT-5: a new exit's plan, as start_exit makes it; a blocker makes the line bad."""
    assert line.member is not None and line.choices is not None
    plan, _digest = exit_actions.compute_plan(uow.conn, uow.tenant, line.member, line.choices, uow.now, leaving=leaving)
    if plan.blockers:
        line.problem = Problem.of(exit_actions.blocked(line.member, plan))


def _write(uow: UnitOfWork, line: _Line, source: str) -> None:
    d, member, known = line.read, line.member, line.known
    assert member is not None and known is not None and d.leave_date is not None and d.effective_at is not None
    if line.outcome == Outcome.SCHEDULED:
        started = exit_actions.start_exit(
            uow,
            member.id,
            type=ExitType.REMOVAL.value,
            reason_category=d.reason_category or feed.DEFAULT_REASON_CATEGORY,
            reason=d.reason or feed.DEFAULT_REASON,
            trigger=Trigger.FEED.value,
            successor=d.successor or None,
            acceptors=dict(d.acceptors) or None,
            effective_at=d.effective_at,
            keep_scheduled=True,
        )
        line.exit_id, line.exit_state = started.id, started.state
    elif line.outcome == Outcome.MOVED:
        assert line.exit_id is not None
        exit_actions.reschedule_exit(uow, line.exit_id, d.effective_at, via=Trigger.FEED.value)
        line.exit_state = ExitState.SCHEDULED.value
    assert line.exit_id is not None
    _record(uow, member.id, d.leave_date, line.exit_id, known.imported is not None, source)


def _record(uow: UnitOfWork, member_id: int, leave_date: date, exit_id: int, exists: bool, source: str) -> None:
    """The departure under its key, current for its exit (the others of that exit no longer)."""
    conn, tid = uow.conn, uow.tenant_id
    conn.execute(update(D).where(D.c.tenant_id == tid, D.c.exit_id == exit_id, D.c.current.is_(True)).values(current=False))
    if exists:
        conn.execute(update(D).where(D.c.tenant_id == tid, D.c.member_id == member_id, D.c.leave_date == leave_date).values(current=True))
        return
    row = {"tenant_id": tid, "member_id": member_id, "leave_date": leave_date, "exit_id": exit_id, "current": True}
    conn.execute(insert(D).values(**row, source=source, imported_by=uow.actor.audit_id, imported_at=uow.now))


_IMPORTED = select(D.c.exit_id, D.c.current, exits.c.state).join(exits, and_(exits.c.tenant_id == D.c.tenant_id, exits.c.id == D.c.exit_id))


def _imported(conn: Connection, tenant_id: int, member_id: int, leave_date: date) -> Imported | None:
    row = conn.execute(_IMPORTED.where(D.c.tenant_id == tenant_id, D.c.member_id == member_id, D.c.leave_date == leave_date)).first()
    return Imported(row.exit_id, row.state, row.current) if row is not None else None


def _imported_by_userid(conn: Connection, tenant_id: int, userid: str, leave_date: date) -> Imported | None:
    """The departure imported for a userid no live member holds any more (finalized since)."""
    query = (
        _IMPORTED.join(members, and_(members.c.tenant_id == D.c.tenant_id, members.c.id == D.c.member_id))
        .where(D.c.tenant_id == tenant_id, members.c.userid == userid, D.c.leave_date == leave_date)
        .order_by(D.c.member_id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return Imported(row.exit_id, row.state, row.current) if row is not None else None


def _pending(conn: Connection, tenant_id: int, member_id: int) -> Pending | None:
    query = select(exits.c.id, exits.c.state, exits.c.effective_at, exits.c.type).where(
        exits.c.tenant_id == tenant_id, exits.c.member_id == member_id, exits.c.state.in_([s.value for s in OPEN_EXIT_STATES])
    )
    row = conn.execute(query).first()
    return Pending(row.id, row.state, row.effective_at, row.type) if row is not None else None


def _report(uow: UnitOfWork, lines: list[_Line], source: str, applied: bool) -> DepartureImport:
    tz = ZoneInfo(uow.tenant.timezone)
    report = []
    for line in lines:
        d = line.read
        issues = [LineIssue(line.problem.code, line.problem.template, line.problem.as_dict()["params"])] if line.problem is not None else []
        report.append(
            DepartureLine(
                line=d.row_no,
                userid=d.userid or "—",
                leave_date=d.leave_date.isoformat() if d.leave_date is not None else None,
                outcome=line.outcome.value,
                exit_id=line.exit_id if line.problem is None else None,
                exit_state=line.exit_state if line.problem is None else None,
                previous_leave_date=line.previous.astimezone(tz).date().isoformat() if line.previous is not None else None,
                issues=issues,
            )
        )
    counts = Counter(line.outcome for line in report)
    return DepartureImport(source, applied, len(report), dict(sorted(counts.items())), report)
