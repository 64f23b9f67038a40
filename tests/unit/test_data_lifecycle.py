"""R-LAW-1, R-LAW-2: the steps of each data-clearing mode and the schedule of a request, pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from offboard.domain.data_lifecycle import (
    ALL_STEPS,
    Facts,
    Level,
    RecordKind,
    Step,
    StepState,
    Waiting,
    erases_account,
    held_kinds,
    hold_kinds,
    pseudonym,
    schedule,
    scope_of,
)
from offboard.domain.errors import ValidationError
from offboard.domain.policy import DataClearing

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
FINALIZED = Facts(finalized=True, chat_until=NOW + timedelta(days=30), held=frozenset())


def _plan(steps, facts=FINALIZED, now=NOW):
    return {d.step: (d.state, d.waiting_for, d.due_at) for d in schedule(steps, facts, now)}


def test_r_law_1_each_level_does_what_the_one_before_does_and_more():
    levels = [scope_of(DataClearing.LEVELS, None, lv).steps for lv in ("L1", "l2", "3", "L4")]
    assert levels[0] == (Step.ACCESS,)
    assert all(set(a) < set(b) for a, b in zip(levels, levels[1:]))
    assert levels[3] == ALL_STEPS and erases_account(levels[3])
    assert scope_of(DataClearing.LEVELS, None, "L3").steps == (Step.ACCESS, Step.PROFILE, Step.SHRED)


def test_r_law_1_whole_account_is_every_step_and_selective_only_the_modules_named():
    assert scope_of(DataClearing.WHOLE_ACCOUNT, None, None).steps == ALL_STEPS
    scope = scope_of(DataClearing.SELECTIVE, ["Attendance", "chat", "chat"], None)
    assert scope.modules == (RecordKind.CHAT, RecordKind.ATTENDANCE) and scope.steps == (Step.SHRED, Step.CHAT, Step.ATTENDANCE)
    assert scope.as_dict() == {"modules": ["chat", "attendance"]}
    assert scope_of(DataClearing.SELECTIVE, ["profile"], None).steps == (Step.ACCESS, Step.PROFILE)


@pytest.mark.parametrize(
    ("mode", "modules", "level", "code"),
    [
        (DataClearing.SELECTIVE, ["salary"], None, "unknown_module"),
        (DataClearing.SELECTIVE, None, None, "erasure_modules_required"),
        (DataClearing.SELECTIVE, ["chat"], "L1", "erasure_scope_not_applicable"),
        (DataClearing.LEVELS, None, "L0", "unknown_level"),
        (DataClearing.LEVELS, None, None, "unknown_level"),
        (DataClearing.LEVELS, ["chat"], "L1", "erasure_scope_not_applicable"),
        (DataClearing.WHOLE_ACCOUNT, ["chat"], None, "erasure_scope_not_applicable"),
    ],
)
def test_r_law_1_a_scope_the_mode_does_not_take_is_a_clear_error(mode, modules, level, code):
    with pytest.raises(ValidationError) as exc:
        scope_of(mode, modules, level)
    assert exc.value.code == code


def test_r_law_2_chat_steps_wait_for_the_end_of_retention_and_approvals_are_kept():
    plan = _plan(ALL_STEPS)
    assert plan[Step.SHRED] == (StepState.PENDING, Waiting.RETENTION, FINALIZED.chat_until)
    assert plan[Step.CHAT] == (StepState.PENDING, Waiting.RETENTION, FINALIZED.chat_until)
    assert plan[Step.APPROVALS] == (StepState.KEPT, Waiting.COMPLIANT_DELETION, None)
    assert plan[Step.PROFILE] == (StepState.PENDING, None, NOW)
    after = _plan(ALL_STEPS, now=FINALIZED.chat_until)  # due at, not only after, the end
    assert after[Step.CHAT] == (StepState.PENDING, None, FINALIZED.chat_until)


def test_r_law_2_a_hold_holds_back_the_steps_of_its_kinds_and_never_access():
    held = Facts(True, NOW - timedelta(days=1), held_kinds([["profile"]]))
    plan = _plan(ALL_STEPS, held)
    assert plan[Step.ACCESS][1] is None
    assert plan[Step.PROFILE][1] == Waiting.HOLD
    assert plan[Step.SHRED][1] == Waiting.HOLD  # the data key also seals the contact fields
    assert plan[Step.CHAT][1] is None and plan[Step.ATTENDANCE][1] is None
    everything = _plan(ALL_STEPS, Facts(True, None, held_kinds([[]])))
    assert {s for s, (_, waiting, _) in everything.items() if waiting == Waiting.HOLD} == set(ALL_STEPS) - {Step.ACCESS, Step.APPROVALS}


def test_r_exit_6_nothing_is_erased_before_the_exit_is_finalized():
    plan = _plan(ALL_STEPS, Facts(False, None, frozenset()))
    assert all(w == Waiting.FINALIZATION for s, (_, w, _) in plan.items() if s != Step.APPROVALS)
    assert not any(d.ready(NOW) for d in schedule(ALL_STEPS, Facts(False, None, frozenset()), NOW))


def test_hold_kinds_and_pseudonyms():
    assert hold_kinds(None) == () and hold_kinds(["CHAT", "files"]) == (RecordKind.CHAT, RecordKind.FILES)
    with pytest.raises(ValidationError):
        hold_kinds(["mail"])
    assert pseudonym(1, 7) == pseudonym(1, 7) != pseudonym(2, 7) and pseudonym(1, 7).startswith("former member #")
    assert Level("L4") in Level
