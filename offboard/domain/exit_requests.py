"""Exit requests approved through a flow (离职申请审批; issue 13 item 3, SPEC §6 `approval_flow`,
the feishu preset) as rules, without the database.

A member files a request for themself with a leave date and a reason. The tenant's flow is an
ordered list of steps (`manager`, `department_leader`, `hr`, `member:<userid>`; [manager, hr]
when the tenant set none), resolved to approvers when the request is filed: a step whose
approver does not exist, is not active, is the requester, or already decides an earlier step is
skipped with its reason, and when every step is skipped HR decides. Later changes to the flow or
the org chart do not re-resolve a filed request, except R-POST-2: the pending steps of an
approver who leaves move to that approver's manager, or to HR (offboard.store.exit_requests).

Each step is decided by its approver; a step of HR by any member holding the HR role; a super
admin may decide any step (the enterprise's highest role unblocks a flow whose approver is away).
Nobody decides a step of their own request. The last approval schedules the exit for the end of
the leave date in the enterprise's time zone (R-EXIT-8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from offboard.domain.authz import Actor
from offboard.domain.errors import Conflict, Term, ValidationError, error
from offboard.domain.vocabulary import ApprovalState, ApproverKind, ExitRequestState, Role, StepNote, SuperAdminRank

MAX_STEPS = 10
DEFAULT_FLOW: tuple[str, ...] = (ApproverKind.MANAGER.value, ApproverKind.HR.value)
MAX_REASON = 2000
MAX_COMMENT = 2000
# A leave date is at most a year ahead: an exit request is a resignation, given weeks or months
# before the day (a contract end or a retirement two years out is HR's to schedule).
AHEAD_YEARS = 1


@dataclass(frozen=True)
class FlowStep:
    """A step of a tenant's flow; `member_id` names the approver of a `member` step."""

    kind: ApproverKind
    member_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind.value, **({"member_id": self.member_id} if self.member_id is not None else {})}

    @classmethod
    def of(cls, stored: Mapping[str, object]) -> FlowStep:
        member = stored.get("member_id")
        return cls(ApproverKind(str(stored["kind"])), int(member) if isinstance(member, int) else None)


def parse_token(token: str) -> tuple[ApproverKind, str | None]:
    """A step as typed (`manager`, `hr`, `member:amy`): its kind and, for `member`, the userid."""
    text = (token or "").strip()
    kind, sep, userid = text.partition(":")
    try:
        parsed = ApproverKind(kind.strip().lower())
    except ValueError:
        parsed = None
    if parsed is None or (parsed == ApproverKind.MEMBER) != bool(sep and userid.strip()) or (sep and parsed != ApproverKind.MEMBER):
        raise error(
            ValidationError,
            "invalid_flow_step",
            "{step!r} is not a step of an approval flow; use one of: {choices}.",
            step=text[:80],
            choices="manager, department_leader, hr, member:USERID",
        )
    return parsed, userid.strip() if parsed == ApproverKind.MEMBER else None


def check_flow(steps: Sequence[FlowStep]) -> list[FlowStep]:
    """1 to MAX_STEPS steps, none twice."""
    if not 1 <= len(steps) <= MAX_STEPS:
        raise error(ValidationError, "invalid_flow", "An approval flow has 1 to {max} steps; this one has {count}.", max=MAX_STEPS, count=len(steps))
    seen: set[FlowStep] = set()
    for step in steps:
        if step in seen:
            raise error(ValidationError, "flow_step_repeated", "The step {kind} appears twice in the flow; name each step once.", kind=Term("approver_kind", step.kind.value))
        seen.add(step)
    return list(steps)


def check_leave_date(day: date, today: date) -> date:
    """A request's leave date: today (the enterprise's day) or later, at most a year ahead."""
    if day < today:
        raise error(ValidationError, "leave_date_past", "The leave date {date} has passed; give today or a later day.", date=day.isoformat())
    latest = latest_leave_date(today)
    if day > latest:
        raise error(ValidationError, "leave_date_too_late", "An exit request's leave date is at most a year ahead; give a day until {latest}.", latest=latest.isoformat())
    return day


def latest_leave_date(today: date) -> date:
    """The last day a request filed today may name: the same day a year on (28 February for 29)."""
    try:
        return today.replace(year=today.year + AHEAD_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + AHEAD_YEARS, day=28)


@dataclass(frozen=True)
class Person:
    id: int
    active: bool


@dataclass(frozen=True)
class Requester:
    """What the resolution needs to know about the member filing."""

    id: int
    manager: Person | None
    leader: Person | None  # of their primary department; None: no department or no leader
    named: Mapping[int, Person]  # the members the flow's `member` steps name


@dataclass(frozen=True)
class Resolved:
    kind: ApproverKind
    approver_id: int | None  # None: an HR step (any HR member), or a skipped step without anyone
    state: ApprovalState  # waiting (the first kept step), upcoming or skipped
    note: StepNote | None = None


def resolve(flow: Sequence[FlowStep], requester: Requester) -> list[Resolved]:
    """The flow's steps for this requester, as filed: who decides each, which are skipped and
    why; the first kept step waits. With every step skipped, HR decides (a last step of its own)."""
    kept: list[Resolved] = []
    seen: set[int] = set()
    for step in flow:
        person: Person | None
        if step.kind == ApproverKind.HR:
            kept.append(Resolved(step.kind, None, ApprovalState.UPCOMING))
            continue
        if step.kind == ApproverKind.MANAGER:
            person, missing = requester.manager, StepNote.NO_MANAGER
        elif step.kind == ApproverKind.DEPARTMENT_LEADER:
            person, missing = requester.leader, StepNote.NO_LEADER
        else:
            person = requester.named.get(step.member_id) if step.member_id is not None else None
            missing = StepNote.APPROVER_INACTIVE  # a named member who is gone for good
        note = _why_skipped(person, missing, requester.id, seen)
        if note is not None:
            kept.append(Resolved(step.kind, person.id if person is not None and note != StepNote.APPROVER_IS_REQUESTER else None, ApprovalState.SKIPPED, note))
            continue
        assert person is not None
        seen.add(person.id)
        kept.append(Resolved(step.kind, person.id, ApprovalState.UPCOMING))
    if all(r.state == ApprovalState.SKIPPED for r in kept):
        kept.append(Resolved(ApproverKind.HR, None, ApprovalState.UPCOMING, StepNote.FALLBACK))
    first = next(i for i, r in enumerate(kept) if r.state == ApprovalState.UPCOMING)
    kept[first] = Resolved(kept[first].kind, kept[first].approver_id, ApprovalState.WAITING, kept[first].note)
    return kept


def _why_skipped(person: Person | None, missing: StepNote, requester_id: int, seen: set[int]) -> StepNote | None:
    """Why a step with this approver is skipped, or None when they decide it."""
    if person is None:
        return missing
    if person.id == requester_id:
        return StepNote.APPROVER_IS_REQUESTER
    if not person.active:
        return StepNote.APPROVER_INACTIVE
    return StepNote.SAME_APPROVER if person.id in seen else None


def is_super_admin(actor: Actor) -> bool:
    """A super admin who holds the role in full (a custodian in escrow holds limited powers)."""
    return any(g.role == Role.SUPER_ADMIN and g.rank != SuperAdminRank.CUSTODIAN for g in actor.roles)


def may_decide(actor: Actor, approver_id: int | None, requester_id: int) -> bool:
    """May this person approve or reject the step waiting for `approver_id` (None: HR's step)?
    Its approver, any HR member for HR's step, a super admin for any step; never the requester."""
    if actor.kind != "member" or actor.member_id is None or actor.member_id == requester_id:
        return False
    if approver_id is not None and actor.member_id == approver_id:
        return True
    if approver_id is None and actor.has(Role.HR):
        return True
    return is_super_admin(actor)


def sees_all(actor: Actor) -> bool:
    """Who follows every exit request of the enterprise: HR and super admins, the operator and a
    service token (an HR system); reading beyond one's own also needs a token's read_directory
    scope (the read model checks it). Anyone else sees the requests they filed and those whose
    steps name them."""
    if actor.kind in ("operator", "system", "service"):
        return True
    return actor.kind == "member" and (actor.has(Role.HR) or is_super_admin(actor))


def check_pending(state: str, doing: str) -> None:
    """Only a pending request is decided or withdrawn; `doing` is "decide" or "withdraw"."""
    if state == ExitRequestState.PENDING:
        return
    if doing == "withdraw":
        raise error(Conflict, "exit_request_closed", "This exit request is already {state}, so it cannot be withdrawn.", state=Term("exit_request_state", state))
    raise error(Conflict, "exit_request_closed", "This exit request is already {state}: nothing more is decided on it.", state=Term("exit_request_state", state))


def check_comment(comment: str | None, *, required: bool) -> str | None:
    """A decision's comment (a rejection says why); the text is cleaned by the caller."""
    text = (comment or "").strip()
    if required and not text:
        raise error(ValidationError, "comment_required", "Say why the exit request is rejected: the member reads your comment.")
    if len(text) > MAX_COMMENT:
        raise error(ValidationError, "comment_too_long", "A comment has at most {max} characters.", max=MAX_COMMENT)
    return text or None


@dataclass(frozen=True)
class Approved:
    """The last approval of a member's exit request, handed to offboard.actions.exits.start_exit:
    the exit is the member's own (voluntary, SPEC §3.2) although an approver acts."""

    request_id: int
    requester_id: int
