"""Exit requests approved through a flow (issue 13 item 3, SPEC §6 `approval_flow`) as rules, no
database: a flow's steps typed and checked, resolved to approvers at filing (skipped with a
reason, HR when none is left), the leave date's bounds, who may decide a step, who reads all."""

from __future__ import annotations

from datetime import date

import pytest

from offboard.domain.authz import Actor, RoleGrant
from offboard.domain.errors import OffboardError
from offboard.domain.exit_requests import FlowStep, Person, Requester, check_flow, check_leave_date, may_decide, parse_token, resolve, sees_all
from offboard.domain.vocabulary import ApprovalState as A
from offboard.domain.vocabulary import ApproverKind as K
from offboard.domain.vocabulary import Role, StepNote

DEFAULT = [FlowStep(K.MANAGER), FlowStep(K.HR)]
SAM, LEO, MONA, LONE = 7, 6, 5, 9


def _requester(manager: Person | None = Person(LEO, True), leader: Person | None = Person(LEO, True), named: dict[int, Person] | None = None) -> Requester:
    return Requester(SAM, manager, leader, named or {})


def _shape(steps) -> list[tuple]:
    return [(s.kind.value, s.approver_id, s.state.value, s.note.value if s.note else None) for s in steps]


def test_the_default_flow_waits_for_the_manager_then_hr():
    assert _shape(resolve(DEFAULT, _requester())) == [("manager", LEO, "waiting", None), ("hr", None, "upcoming", None)]


def test_a_step_without_a_usable_approver_is_skipped_with_its_reason_and_the_next_waits():
    no_manager = resolve(DEFAULT, _requester(manager=None))
    assert _shape(no_manager) == [("manager", None, "skipped", "no_manager"), ("hr", None, "waiting", None)]
    frozen = resolve(DEFAULT, _requester(manager=Person(LEO, False)))
    assert _shape(frozen)[0] == ("manager", LEO, "skipped", "approver_inactive")


def test_one_is_never_ones_own_approver_and_the_same_person_approves_once():
    """sam leads his own department: that step is skipped; his manager leo, who also leads it in
    the other case, decides the first of the two steps naming him only."""
    flow = [FlowStep(K.DEPARTMENT_LEADER), FlowStep(K.MANAGER), FlowStep(K.HR)]
    own = resolve(flow, _requester(leader=Person(SAM, True)))
    assert _shape(own)[0] == ("department_leader", None, "skipped", "approver_is_requester")
    assert _shape(own)[1] == ("manager", LEO, "waiting", None)
    twice = resolve(flow, _requester())
    assert [(s.approver_id, s.state, s.note) for s in twice[:2]] == [(LEO, A.WAITING, None), (LEO, A.SKIPPED, StepNote.SAME_APPROVER)]


def test_a_named_approver_decides_and_one_who_left_is_skipped():
    flow = [FlowStep(K.MEMBER, LONE), FlowStep(K.MEMBER, MONA)]
    steps = resolve(flow, _requester(named={LONE: Person(LONE, False), MONA: Person(MONA, True)}))
    assert _shape(steps) == [("member", LONE, "skipped", "approver_inactive"), ("member", MONA, "waiting", None)]


def test_with_every_step_skipped_hr_decides_in_a_step_of_its_own():
    steps = resolve([FlowStep(K.MANAGER), FlowStep(K.DEPARTMENT_LEADER)], _requester(manager=None, leader=None))
    assert _shape(steps) == [("manager", None, "skipped", "no_manager"), ("department_leader", None, "skipped", "no_leader"), ("hr", None, "waiting", "fallback")]


@pytest.mark.parametrize(
    ("token", "parsed"),
    [("manager", (K.MANAGER, None)), (" HR ", (K.HR, None)), ("department_leader", (K.DEPARTMENT_LEADER, None)), ("member:amy", (K.MEMBER, "amy"))],
)
def test_a_step_is_typed_as_its_kind_or_member_and_a_userid(token, parsed):
    assert parse_token(token) == parsed


@pytest.mark.parametrize("token", ["boss", "member", "member:", "hr:amy", "manager:leo", ""])
def test_anything_else_is_refused_naming_the_steps_there_are(token):
    with pytest.raises(OffboardError) as refused:
        parse_token(token)
    assert refused.value.code == "invalid_flow_step" and "member:USERID" in refused.value.render()


def test_a_flow_has_one_to_ten_steps_none_twice():
    assert check_flow(DEFAULT) == DEFAULT
    for steps, code in (([], "invalid_flow"), ([FlowStep(K.HR)] * 11, "invalid_flow"), ([FlowStep(K.HR), FlowStep(K.HR)], "flow_step_repeated")):
        with pytest.raises(OffboardError) as refused:
            check_flow(steps)
        assert refused.value.code == code
    assert check_flow([FlowStep(K.MEMBER, 1), FlowStep(K.MEMBER, 2)])  # two named approvers are two steps


def test_r_exit_8_a_leave_date_is_today_or_later_and_at_most_a_year_ahead():
    today = date(2026, 11, 2)
    assert check_leave_date(today, today) == today
    assert check_leave_date(date(2027, 11, 2), today) == date(2027, 11, 2)
    for day, code in ((date(2026, 11, 1), "leave_date_past"), (date(2027, 11, 3), "leave_date_too_late")):
        with pytest.raises(OffboardError) as refused:
            check_leave_date(day, today)
        assert refused.value.code == code and refused.value.status == 422
    assert check_leave_date(date(2029, 2, 28), date(2028, 2, 29)) == date(2029, 2, 28)  # a leap day's year on


def _member(member_id: int, *roles: tuple[Role, str | None]) -> Actor:
    return Actor(kind="member", member_id=member_id, userid=f"m{member_id}", roles=tuple(RoleGrant(role, rank=rank) for role, rank in roles))


HR = (Role.HR, None)
SUPER = (Role.SUPER_ADMIN, "primary")
CUSTODIAN = (Role.SUPER_ADMIN, "custodian")


@pytest.mark.parametrize(
    ("actor", "approver", "may"),
    [
        (_member(LEO), LEO, True),  # the step's approver
        (_member(MONA), LEO, False),  # someone else
        (_member(MONA, HR), LEO, False),  # HR decides HR's step, not the manager's
        (_member(MONA, HR), None, True),  # HR's step: any HR member
        (_member(MONA), None, False),
        (_member(MONA, SUPER), LEO, True),  # a super admin unblocks any step
        (_member(MONA, CUSTODIAN), LEO, False),  # a custodian in escrow holds limited powers
        (_member(SAM, HR), None, False),  # never one's own request, HR or not
        (_member(SAM, SUPER), SAM, False),
        (Actor(kind="operator"), None, False),  # a person decides
        (Actor(kind="service", token_id=1), None, False),
    ],
)
def test_who_may_decide_a_step(actor, approver, may):
    assert may_decide(actor, approver, requester_id=SAM) is may


def test_hr_super_admins_and_the_operator_follow_every_request_others_their_own():
    assert sees_all(_member(MONA, HR)) and sees_all(_member(MONA, SUPER)) and sees_all(Actor(kind="operator"))
    assert not sees_all(_member(LEO)) and not sees_all(_member(MONA, (Role.IT, None)))
