"""The step bar of an exit page: the stages an exit goes through (计划 → 确认 → 移交 → 检查清单 →
签核 → 归档; a scheduled exit waits for its leave date first, a restored or cancelled one ends
early), which are done, which one is current, and a sentence that says what happens next and
when. Presentation of facts the queries read; the rules themselves live in the actions and the
reconciler (finalization once the restore window is over and both have signed, SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from offboard.domain.vocabulary import ExitState
from offboard.i18n import mark as _


LABELS = {
    "plan": _("Plan"),
    "confirm": _("Confirm"),
    "leave_date": _("Leave date"),
    "handover": _("Handover"),
    "checklist": _("Checklist"),
    "signoff": _("Sign-off"),
    "archive": _("Archive"),
    "restored": _("Restored"),
    "cancelled": _("Cancelled"),
}


@dataclass(frozen=True)
class Stage:
    key: str
    state: str  # done | current | todo
    when: str | None = None  # a local time, shown under the stage
    expected: bool = False  # `when` is a forecast, not a fact


@dataclass(frozen=True)
class Next:
    template: str
    params: dict[str, str]


@dataclass(frozen=True)
class Progress:
    stages: list[Stage]
    next: Next


@dataclass(frozen=True)
class Facts:
    """What the step bar reads about one exit; times already in the tenant's zone."""

    state: str
    now: datetime
    restore_until: datetime | None
    effective: str
    restore_until_local: str
    finalized_local: str | None
    ended_local: str | None  # when it was restored or cancelled
    transfers_open: int  # waiting or unassigned
    items_open: int  # checklist items open, item 11 aside
    signed: frozenset[str]  # hr, it


def progress(f: Facts) -> Progress:
    if f.state == ExitState.SCHEDULED:
        stages = [Stage("plan", "done"), Stage("confirm", "done"), Stage("leave_date", "current", f.effective)] + [Stage(k, "todo") for k in ("handover", "checklist", "signoff", "archive")]
        return Progress(stages, Next(_("Takes effect on {when}: access is cut and the resources move then. Until then the exit can be cancelled."), {"when": f.effective}))
    if f.state == ExitState.CANCELLED:
        stages = [Stage("plan", "done"), Stage("confirm", "done"), Stage("cancelled", "done", f.ended_local)]
        return Progress(stages, Next(_("Cancelled before it took effect; nothing changed for the member."), {}))
    if f.state == ExitState.RESTORED:
        stages = [Stage("plan", "done"), Stage("confirm", "done", f.effective), Stage("handover", "done"), Stage("restored", "done", f.ended_local)]
        return Progress(stages, Next(_("Restored on {when}: the member is active again and the exit is closed."), {"when": f.ended_local or "—"}))
    done = {
        "handover": f.transfers_open == 0,
        "checklist": f.items_open == 0,
        "signoff": {"hr", "it"} <= f.signed,
        "archive": f.state == ExitState.FINALIZED,
    }
    stages = [Stage("plan", "done"), Stage("confirm", "done", f.effective)]
    current_given = False
    for key in ("handover", "checklist", "signoff", "archive"):
        if done[key]:
            stages.append(Stage(key, "done", f.finalized_local if key == "archive" else None))
            continue
        state = "todo" if current_given else "current"
        current_given = True
        if key == "archive":
            stages.append(Stage(key, state, f.restore_until_local, expected=True))
        else:
            stages.append(Stage(key, state))
    return Progress(stages, _next(f))


def _next(f: Facts) -> Next:
    if f.state == ExitState.FINALIZED:
        return Next(_("Archived on {when}: the exit is complete."), {"when": f.finalized_local or "—"})
    in_window = f.restore_until is not None and f.now < f.restore_until
    missing = {"hr", "it"} - f.signed
    if in_window and not missing:
        return Next(_("Both have signed off. The restore window ends {until}; the exit is archived then."), {"until": f.restore_until_local})
    if in_window:
        return Next(_("The restore window ends {until}, then the exit is archived once HR and IT have both signed off."), {"until": f.restore_until_local})
    if not missing:
        return Next(_("The restore window is over and both have signed off: the exit is archived within minutes."), {})
    return Next(_("The restore window is over: the exit is archived as soon as HR and IT have both signed off."), {})
