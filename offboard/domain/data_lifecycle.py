"""What happens to a departed member's data under the law (R-LAW-1, R-LAW-2, INV-6): the
record kinds, the steps of an erasure by each of the tenant's data-clearing modes (SPEC §6), and
the schedule of a request: each step now, at the end of a retention, when a hold is released,
once the exit is finalized, or never (approval records are kept until a compliant deletion).

Pure: the facts come from the store, the clock from the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from offboard.domain.errors import ValidationError, error
from offboard.domain.policy import DataClearing


class RecordKind(StrEnum):
    """A departed member's records by module, as dingtalk's selective clearing names them."""

    CHAT = "chat"
    FILES = "files"
    CALENDAR = "calendar"
    APPROVALS = "approvals"  # approval records and reimbursements
    ATTENDANCE = "attendance"
    PROFILE = "profile"


class Level(StrEnum):
    """feishu's erasure levels, each doing what the one before does and more."""

    L1 = "L1"  # revoke access only
    L2 = "L2"  # and pseudonymize the profile
    L3 = "L3"  # and crypto-shred personal content
    L4 = "L4"  # and delete everything not under retention


class Step(StrEnum):
    """An erasure step, in the order they run."""

    ACCESS = "access"  # credentials deleted; sessions, tokens and app grants revoked
    PROFILE = "profile"  # name and userid pseudonymized, contact fields emptied, also in audit side records
    SHRED = "shred"  # the member's data key destroyed: every sealed copy is unreadable
    CHAT = "chat"  # the message records deleted
    FILES = "files"  # documents kept in the enterprise archive from them deleted
    CALENDAR = "calendar"  # calendars they left deleted
    ATTENDANCE = "attendance"  # attendance records deleted
    APPROVALS = "approvals"  # kept until a compliant deletion (R-DATA-3)


class Waiting(StrEnum):
    """Why a step has not run yet."""

    FINALIZATION = "finalization"  # the exit is not finalized: nothing is erased inside the restore window
    HOLD = "hold"  # a legal hold covers its records: until it is released
    RETENTION = "retention"  # the records' retention has not ended: until due_at
    COMPLIANT_DELETION = "compliant_deletion"  # approval records: kept


class StepState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    KEPT = "kept"


# The records each step erases: a hold on any of them holds the step back. Access is never held
# (revoking a departed member's credentials destroys no record); destroying the data key also
# makes the sealed contact fields unreadable, so a hold on the profile holds it too.
STEP_KINDS: dict[Step, frozenset[RecordKind]] = {
    Step.ACCESS: frozenset(),
    Step.PROFILE: frozenset({RecordKind.PROFILE}),
    Step.SHRED: frozenset({RecordKind.CHAT, RecordKind.PROFILE}),
    Step.CHAT: frozenset({RecordKind.CHAT}),
    Step.FILES: frozenset({RecordKind.FILES}),
    Step.CALENDAR: frozenset({RecordKind.CALENDAR}),
    Step.ATTENDANCE: frozenset({RecordKind.ATTENDANCE}),
    Step.APPROVALS: frozenset({RecordKind.APPROVALS}),
}
ALL_STEPS: tuple[Step, ...] = tuple(Step)
LEVEL_STEPS: dict[Level, tuple[Step, ...]] = {
    Level.L1: (Step.ACCESS,),
    Level.L2: (Step.ACCESS, Step.PROFILE),
    Level.L3: (Step.ACCESS, Step.PROFILE, Step.SHRED),
    Level.L4: ALL_STEPS,
}
MODULE_STEPS: dict[RecordKind, tuple[Step, ...]] = {
    RecordKind.CHAT: (Step.SHRED, Step.CHAT),
    RecordKind.FILES: (Step.FILES,),
    RecordKind.CALENDAR: (Step.CALENDAR,),
    RecordKind.APPROVALS: (Step.APPROVALS,),
    RecordKind.ATTENDANCE: (Step.ATTENDANCE,),
    RecordKind.PROFILE: (Step.ACCESS, Step.PROFILE),
}
RETAINED_STEPS = frozenset({Step.SHRED, Step.CHAT})  # chat retention (R-LAW-2) decides when


@dataclass(frozen=True)
class Scope:
    """What a request asks for under the tenant's mode."""

    mode: DataClearing
    modules: tuple[RecordKind, ...] = ()
    level: Level | None = None

    @property
    def steps(self) -> tuple[Step, ...]:
        if self.mode == DataClearing.WHOLE_ACCOUNT:
            return ALL_STEPS
        if self.mode == DataClearing.LEVELS:
            assert self.level is not None
            return LEVEL_STEPS[self.level]
        wanted = {s for m in self.modules for s in MODULE_STEPS[m]}
        return tuple(s for s in ALL_STEPS if s in wanted)

    def as_dict(self) -> dict[str, Any]:
        if self.mode == DataClearing.SELECTIVE:
            return {"modules": [m.value for m in self.modules]}
        if self.mode == DataClearing.LEVELS:
            return {"level": str(self.level)}
        return {}


def scope_of(mode: DataClearing, modules: Sequence[str] | None, level: str | None) -> Scope:
    """A request's scope under the tenant's data-clearing mode, or a ValidationError that names
    what the mode takes."""
    if mode == DataClearing.WHOLE_ACCOUNT:
        if modules or level:
            raise error(ValidationError, "erasure_scope_not_applicable", "This enterprise erases a whole account at once; do not name modules or a level.")
        return Scope(mode)
    if mode == DataClearing.SELECTIVE:
        if level:
            raise error(ValidationError, "erasure_scope_not_applicable", "This enterprise erases by module; name modules, not a level.")
        if not modules:
            raise error(ValidationError, "erasure_modules_required", "Name the modules to erase: {choices}.", choices=", ".join(RecordKind))
        chosen = []
        for name in modules:
            try:
                kind = RecordKind(str(name).strip().lower())
            except ValueError:
                raise error(ValidationError, "unknown_module", "There is no module {module}; the modules are: {choices}.", module=str(name)[:40], choices=", ".join(RecordKind)) from None
            if kind not in chosen:
                chosen.append(kind)
        return Scope(mode, modules=tuple(k for k in RecordKind if k in chosen))
    if modules:
        raise error(ValidationError, "erasure_scope_not_applicable", "This enterprise erases by level; name a level, not modules.")
    text = str(level or "").strip().upper()
    try:
        chosen_level = Level(text if text.startswith("L") else f"L{text}")
    except ValueError:
        raise error(ValidationError, "unknown_level", "There is no erasure level {level}; the levels are L1 to L4.", level=str(level)[:40]) from None
    return Scope(mode, level=chosen_level)


def erases_account(steps: Iterable[Step]) -> bool:
    """Every step done (or kept) across a member's requests: the member becomes `erased`."""
    return set(ALL_STEPS) <= set(steps)


@dataclass(frozen=True)
class Facts:
    """What decides when a member's steps run."""

    finalized: bool
    chat_until: datetime | None  # the end of chat retention (None: no exit yet)
    held: frozenset[RecordKind]  # kinds under an active hold (every kind for a hold on the member)


@dataclass(frozen=True)
class Due:
    step: Step
    state: StepState
    due_at: datetime | None
    waiting_for: Waiting | None

    def ready(self, now: datetime) -> bool:
        return self.state == StepState.PENDING and self.waiting_for is None and self.due_at is not None and self.due_at <= now


def schedule(steps: Iterable[Step], facts: Facts, now: datetime) -> list[Due]:
    """When each step runs. Retention and holds win over erasure (R-LAW-2): a step whose
    records are held waits for the release, a chat step for the end of chat retention, and
    nothing runs before the exit is finalized (R-EXIT-6)."""
    out = []
    for step in sorted(set(steps), key=ALL_STEPS.index):
        if step == Step.APPROVALS:
            out.append(Due(step, StepState.KEPT, None, Waiting.COMPLIANT_DELETION))
        elif not facts.finalized:
            out.append(Due(step, StepState.PENDING, None, Waiting.FINALIZATION))
        elif STEP_KINDS[step] & facts.held:
            out.append(Due(step, StepState.PENDING, None, Waiting.HOLD))
        elif step in RETAINED_STEPS and facts.chat_until is not None and facts.chat_until > now:
            out.append(Due(step, StepState.PENDING, facts.chat_until, Waiting.RETENTION))
        else:
            out.append(Due(step, StepState.PENDING, now, None))
    return out


def held_kinds(holds: Iterable[Sequence[str]]) -> frozenset[RecordKind]:
    """The kinds covered by active holds, each given by its kinds (empty: the whole member)."""
    held: set[RecordKind] = set()
    for kinds in holds:
        held |= set(RecordKind) if not kinds else {RecordKind(k) for k in kinds}
    return frozenset(held)


def hold_kinds(kinds: Sequence[str] | None) -> tuple[RecordKind, ...]:
    """The kinds a new hold covers (none named: every kind of the member's records)."""
    chosen = set()
    for name in kinds or ():
        try:
            chosen.add(RecordKind(str(name).strip().lower()))
        except ValueError:
            raise error(ValidationError, "unknown_record_kind", "There is no record kind {value}; the kinds are: {choices}.", value=str(name)[:40], choices=", ".join(RecordKind)) from None
    return tuple(k for k in RecordKind if k in chosen)


def pseudonym(tenant_id: int, member_id: int) -> str:
    """What stands for an erased member's name, the same wherever it appears."""
    return "former member #" + hashlib.sha256(f"offboard:{tenant_id}:{member_id}".encode()).hexdigest()[:8]


def pseudonymous_userid(tenant_id: int, member_id: int) -> str:
    return "erased-" + hashlib.sha256(f"offboard:{tenant_id}:{member_id}".encode()).hexdigest()[:8]
