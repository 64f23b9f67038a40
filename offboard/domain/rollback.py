"""The rollback plan of a stolen account (R-EXC-1): every role, permission, token, policy and
handover change a member made since a time, each with its inverse.

The audit trail is read as changes of *subjects*: a member's role, a token, a policy setting, a
handover. For each subject the member changed, the plan restores the state before their first
change, unless someone else changed the subject afterwards or it no longer is as they left it:
then the change is listed as superseded and left alone, never blindly undone. Changes that cancel
each other out are listed as unchanged.

Plain data and rules over audit events; offboard.actions.rollback reads the events and the
current state, and applies the inverses in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from offboard.domain.handover import HandoverState

# The actions a rollback reads; anything else a member did (an exit, a checklist item) is
# outside its reach and stays in the audit trail.
ACTIONS = (
    "role.granted",
    "role.removed",
    "token.created",
    "token.revoked",
    "token.reinstated",
    "policy.changed",
    "admin.handover.started",
    "admin.handover.completed",
    "admin.handover.cancelled",
    "admin.handover.reverted",
    "admin.handover.expired",
)

# At most this many of a member's changes in one plan: an account that made more is rolled
# back from a later time, piece by piece.
MAX_CHANGES = 5000


class Subject(StrEnum):
    ROLE = "role"
    TOKEN = "token"
    POLICY = "policy"
    HANDOVER = "handover"


class Verdict(StrEnum):
    UNDO = "undo"  # the inverse is applied
    SUPERSEDED = "superseded"  # changed again since (by someone else, or by an exit): listed only
    UNCHANGED = "unchanged"  # already as it was before the member's first change


class Hindrance(StrEnum):
    """Why a change is not undone although nobody changed it since."""

    CHANGED_SINCE = "changed_since"  # the subject is not as the member left it
    MEMBER_GONE = "member_gone"  # a role would go back to someone no longer active
    TOKEN_EXPIRED = "token_expired"  # a revoked token would come back after its expiry
    OWNER_GONE = "owner_gone"  # a revoked token would come back to someone no longer active
    BACKUP_TAKEN = "backup_taken"  # another backup super admin has been named since


class TokenState(StrEnum):
    NONE = "none"
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Event:
    """An audit event as the rollback reads it."""

    seq: int
    at: str
    actor: str
    action: str
    targets: tuple[str, ...]
    details: Mapping[str, Any]


@dataclass(frozen=True)
class Role:
    """A held role as a rollback compares it: what a grant gave, what a removal took."""

    rank: str | None
    scope: tuple[int, ...]
    permissions: tuple[str, ...]


Key = tuple[str, ...]  # (subject, ids...): ("role", "12", "admin"), ("policy", "customer_limit")


@dataclass(frozen=True)
class Change:
    key: Key
    event: Event
    before: Any  # the subject's state before the event (None: absent)
    after: Any


def role_state(details: Mapping[str, Any]) -> Role:
    scope = details.get("scope") or []
    return Role(details.get("rank"), tuple(int(d) for d in scope), tuple(sorted(details.get("permissions") or [])))


def _member(targets: Sequence[str]) -> str | None:
    return next((t.partition(":")[2] for t in targets if t.startswith("member:")), None)


def changes_of(event: Event) -> list[Change]:
    """The subject-level changes one audit event records. A role changed inside a handover
    belongs to the handover, which is undone as a whole."""
    d, action = event.details, event.action
    if action in ("role.granted", "role.removed"):
        member = _member(event.targets)
        if member is None or not d.get("role"):
            return []
        if d.get("handover") is not None:
            return [Change((Subject.HANDOVER, str(d["handover"])), event, None, None)]
        state = role_state(d)
        key = (Subject.ROLE, member, str(d["role"]))
        return [Change(key, event, None, state) if action == "role.granted" else Change(key, event, state, None)]
    if action.startswith("token."):
        token = next((t.partition(":")[2] for t in event.targets if t.startswith("token:")), None)
        if token is None:
            return []
        before, done = {
            "token.created": (TokenState.NONE, TokenState.ACTIVE),
            "token.revoked": (TokenState.ACTIVE, TokenState.REVOKED),
            "token.reinstated": (TokenState.REVOKED, TokenState.ACTIVE),
        }[action]
        return [Change((Subject.TOKEN, token), event, before, done)]
    if action == "policy.changed":
        diff = d.get("changes") or {}
        return [Change((Subject.POLICY, str(k)), event, v.get("before"), v.get("after")) for k, v in sorted(diff.items()) if isinstance(v, Mapping)]
    if action.startswith("admin.handover.") and d.get("handover") is not None:
        after = {
            "admin.handover.started": HandoverState.PENDING,
            "admin.handover.completed": HandoverState.COMPLETED,
            "admin.handover.cancelled": HandoverState.CANCELLED,
            "admin.handover.reverted": HandoverState.REVERTED,
            "admin.handover.expired": HandoverState.EXPIRED,
        }.get(action)
        if after is None:
            return []
        return [Change((Subject.HANDOVER, str(d["handover"])), event, None if after == HandoverState.PENDING else HandoverState.PENDING, after)]
    return []


# A handover one member starts is finished by another (the nominee accepts): that does not take
# it out of the member's hands; cancelling, reverting or expiring it does.
_ENDS_HANDOVER = frozenset({HandoverState.CANCELLED, HandoverState.REVERTED, HandoverState.EXPIRED})


@dataclass(frozen=True)
class Entry:
    key: Key
    changes: tuple[Change, ...]  # the member's own, oldest first
    verdict: Verdict
    restore: Any  # the state an UNDO brings back
    left: Any  # the state the member's last change left
    superseded_by: Change | None = None  # the later change by someone else, when there is one
    hindrance: Hindrance | None = None

    @property
    def subject(self) -> Subject:
        return Subject(self.key[0])

    @property
    def seqs(self) -> tuple[int, ...]:
        return tuple(c.event.seq for c in self.changes)


@dataclass(frozen=True)
class Plan:
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    @property
    def undo(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.verdict == Verdict.UNDO)


def _supersedes(key: Key, change: Change) -> bool:
    if key[0] == Subject.HANDOVER:
        return change.after in _ENDS_HANDOVER
    return True


def plan(member: str, events: Sequence[Event], current: Mapping[Key, Any], hindrances: Mapping[Key, Hindrance] | None = None) -> Plan:
    """The plan for `member` (an audit id, "member:12") from `events` (every event of ACTIONS
    since the time asked, by anyone, oldest first), `current` (each subject's state now, absent
    keys meaning absent) and `hindrances` (what the current state forbids undoing)."""
    hindrances = hindrances or {}
    mine: dict[Key, list[Change]] = {}
    others: dict[Key, list[Change]] = {}
    for event in events:
        for change in changes_of(event):
            (mine if event.actor == member else others).setdefault(change.key, []).append(change)
    entries = []
    for key, own in mine.items():
        first, last = own[0], own[-1]
        restore = first.before
        left = last.after
        later = next((c for c in others.get(key, []) if c.event.seq > first.event.seq and _supersedes(key, c)), None)
        if key[0] == Subject.HANDOVER:
            restore, left = None, own[-1].after
            state = current.get(key)
            if later is not None:
                entries.append(Entry(key, tuple(own), Verdict.SUPERSEDED, restore, left, later))
            elif state in (HandoverState.PENDING, HandoverState.COMPLETED):
                entries.append(Entry(key, tuple(own), Verdict.UNDO, restore, state))
            else:
                entries.append(Entry(key, tuple(own), Verdict.UNCHANGED, restore, state))
            continue
        if later is not None:
            entries.append(Entry(key, tuple(own), Verdict.SUPERSEDED, restore, left, later))
        elif current.get(key) != left:
            entries.append(Entry(key, tuple(own), Verdict.SUPERSEDED, restore, left, hindrance=Hindrance.CHANGED_SINCE))
        elif restore == left:
            entries.append(Entry(key, tuple(own), Verdict.UNCHANGED, restore, left))
        elif key in hindrances:
            entries.append(Entry(key, tuple(own), Verdict.SUPERSEDED, restore, left, hindrance=hindrances[key]))
        else:
            entries.append(Entry(key, tuple(own), Verdict.UNDO, restore, left))
    entries.sort(key=lambda e: e.changes[0].event.seq)
    return Plan(tuple(entries))
