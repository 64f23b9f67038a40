"""The exit lifecycle's transition tables (SPEC §4), the restore window (R-EXIT-6), the
12-item checklist with its two-person sign-off (SPEC §7) and the retention end (R-LAW-2).
Pure functions: no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from offboard.domain.lifecycle import retention_end
from offboard.domain import checklist as cl
from offboard.domain.errors import OffboardError
from offboard.domain.lifecycle import (
    EXIT_TRANSITIONS,
    MEMBER_TRANSITIONS,
    check_restorable,
    next_exit_state,
    next_member_status,
    restore_deadline,
)
from offboard.domain.vocabulary import ExitState, MemberStatus, Role

# --- SPEC §4 transition tables ---------------------------------------------------------------------

EXIT_EVENTS = ("take_effect", "cancel", "reschedule", "finalize", "restore")
LEGAL_EXIT = {
    ("scheduled", "take_effect"): "open",
    ("scheduled", "cancel"): "cancelled",
    ("scheduled", "reschedule"): "scheduled",  # moved to another date before it fires (R-EXIT-8)
    ("open", "finalize"): "finalized",
    ("open", "restore"): "restored",
}
MEMBER_EVENTS = ("exit", "restore", "finalize", "erase", "freeze", "unfreeze")
LEGAL_MEMBER = {
    ("active", "exit"): "exited",
    ("active", "freeze"): "frozen",
    ("frozen", "exit"): "exited",
    ("frozen", "unfreeze"): "active",
    ("exited", "restore"): "active",
    ("exited", "finalize"): "finalized",
    ("finalized", "erase"): "erased",
}


@pytest.mark.parametrize("state", list(ExitState))
@pytest.mark.parametrize("event", EXIT_EVENTS)
def test_spec_4_exit_transitions_are_exactly_the_drawn_ones(state, event):
    expected = LEGAL_EXIT.get((state.value, event))
    if expected is None:
        with pytest.raises(OffboardError) as exc:
            next_exit_state(state.value, event)
        assert exc.value.code == "exit_state_conflict"
        assert exc.value.status == 409
    else:
        assert next_exit_state(state.value, event) == expected


@pytest.mark.parametrize("status", list(MemberStatus))
@pytest.mark.parametrize("event", MEMBER_EVENTS)
def test_spec_4_member_transitions_are_exactly_the_drawn_ones(status, event):
    expected = LEGAL_MEMBER.get((status.value, event))
    if expected is None:
        with pytest.raises(OffboardError) as exc:
            next_member_status(status.value, event)
        assert exc.value.code == "member_state_conflict"
    else:
        assert next_member_status(status.value, event) == expected


def test_spec_4_terminal_exit_states_have_no_way_out():
    for state in (ExitState.FINALIZED, ExitState.RESTORED, ExitState.CANCELLED):
        assert EXIT_TRANSITIONS[state] == {}
    assert MEMBER_TRANSITIONS[MemberStatus.ERASED] == {}


# --- R-EXIT-6 restore window -----------------------------------------------------------------------

EXITED_AT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def test_r_exit_6_restore_deadline_is_the_window_after_the_exit():
    assert restore_deadline(EXITED_AT, 24) == EXITED_AT + timedelta(hours=24)
    assert restore_deadline(EXITED_AT, 720) == EXITED_AT + timedelta(days=30)


def test_r_exit_6_an_open_exit_is_restorable_up_to_the_end_of_its_window():
    until = restore_deadline(EXITED_AT, 24)
    check_restorable("open", EXITED_AT, until)
    check_restorable("open", until, until)  # the last instant still counts


@pytest.mark.parametrize("until", [restore_deadline(EXITED_AT, 24), None])
def test_r_exit_6_restore_is_refused_after_the_window(until):
    with pytest.raises(OffboardError) as exc:
        check_restorable("open", EXITED_AT + timedelta(hours=24, seconds=1), until)
    assert exc.value.code == "restore_window_over"
    assert exc.value.status == 409


@pytest.mark.parametrize("state", ["scheduled", "finalized", "restored", "cancelled"])
def test_r_exit_6_only_an_open_exit_is_restored(state):
    with pytest.raises(OffboardError) as exc:
        check_restorable(state, EXITED_AT, restore_deadline(EXITED_AT, 24))
    assert exc.value.code == "exit_state_conflict"


# --- SPEC §7 checklist evaluation --------------------------------------------------------------------

CLEAN = cl.Facts(
    open_by_kind={},
    owned_by_kind={},
    unarchived_attendance=0,
    open_reimbursements=0,
    admin_roles=0,
    unacknowledged_grants=0,
    live_sessions=0,
    live_tokens=0,
    devices_not_wiped=0,
    sealed=False,
    attested=frozenset(),
)


def done(statuses) -> dict[str, bool]:
    return {s.item.key: s.done for s in statuses}


def test_spec_7_the_twelve_items_are_numbered_and_owned_as_specified():
    assert [(i.number, i.key, i.owner) for i in cl.ITEMS] == [
        (1, "external_contacts", Role.HR),
        (2, "customer_groups", Role.HR),
        (3, "attendance_archived", Role.HR),
        (4, "reimbursements_closed", Role.HR),
        (5, "approvals_moved", Role.HR),
        (6, "admin_rights", Role.IT),
        (7, "self_built_apps", Role.IT),
        (8, "third_party_reauth", Role.IT),
        (9, "documents", Role.IT),
        (10, "calendars", Role.IT),
        (11, "chats_sealed", Role.IT),
        (12, "access_revoked", Role.IT),
    ]


def test_spec_7_clean_facts_leave_only_item_11_open_until_finalization():
    statuses = cl.evaluate(CLEAN)
    assert [k for k, d in done(statuses).items() if not d] == ["chats_sealed"]
    assert cl.open_items_for_signoff(statuses) == []
    assert all(done(cl.evaluate(replace(CLEAN, sealed=True))).values())


@pytest.mark.parametrize(
    ("change", "item"),
    [
        ({"open_by_kind": {"external_contact": {"waiting": 2}}}, "external_contacts"),
        ({"open_by_kind": {"external_contact": {"refused": 1}}}, "external_contacts"),
        ({"open_by_kind": {"customer_group": {"unassigned": 1}}}, "customer_groups"),
        ({"open_by_kind": {"customer_group": {"acceptor_full": 1}}}, "customer_groups"),
        ({"owned_by_kind": {"customer_group": 1}}, "customer_groups"),
        ({"unarchived_attendance": 3}, "attendance_archived"),
        ({"open_reimbursements": 1}, "reimbursements_closed"),
        ({"open_by_kind": {"approval_template": {"unassigned": 1}}}, "approvals_moved"),
        ({"owned_by_kind": {"approval_task": 2}}, "approvals_moved"),
        ({"admin_roles": 1}, "admin_rights"),
        ({"open_by_kind": {"self_built_app": {"unassigned": 1}}}, "self_built_apps"),
        ({"unacknowledged_grants": 1}, "third_party_reauth"),
        ({"owned_by_kind": {"document": 1}}, "documents"),
        ({"owned_by_kind": {"calendar": 1}}, "calendars"),
        ({"live_sessions": 1}, "access_revoked"),
        ({"live_tokens": 1}, "access_revoked"),
        ({"devices_not_wiped": 1}, "access_revoked"),
    ],
)
def test_spec_7_each_fact_opens_exactly_its_item(change, item):
    statuses = cl.evaluate(replace(CLEAN, **change))
    assert {k for k, d in done(statuses).items() if not d} == {item, "chats_sealed"}
    assert [s.item.key for s in cl.open_items_for_signoff(statuses)] == [item]


def test_r_org_5_a_waiting_resource_still_owned_by_the_leaver_counts_once():
    facts = replace(CLEAN, open_by_kind={"external_contact": {"waiting": 5, "unassigned": 1}}, owned_by_kind={"external_contact": 5})
    (item,) = [s for s in cl.evaluate(facts) if s.item.key == "external_contacts"]
    assert item.detail == {"external_contact": 6}
    # Owned beyond the waiting ones (e.g. added after the exit) are counted too.
    facts = replace(facts, owned_by_kind={"external_contact": 7})
    (item,) = [s for s in cl.evaluate(facts) if s.item.key == "external_contacts"]
    assert item.detail == {"external_contact": 8}


def test_spec_7_a_custom_item_is_done_only_when_attested():
    custom = (cl.Item(13, "badge_returned", "工牌归还", "Badge returned", Role.HR, "attest"),)
    statuses = cl.evaluate(CLEAN, custom)
    assert done(statuses)["badge_returned"] is False
    assert [s.item.key for s in cl.open_items_for_signoff(statuses)] == ["badge_returned"]
    assert done(cl.evaluate(replace(CLEAN, attested=frozenset({"badge_returned"})), custom))["badge_returned"] is True


# --- SPEC §7 two-person sign-off ---------------------------------------------------------------------

HR_ID, IT_ID = 1, 2
GREEN = cl.evaluate(CLEAN)


def signoff_error(role, signer, roles, existing, statuses=GREEN) -> str:
    with pytest.raises(OffboardError) as exc:
        cl.check_signoff(role, signer, roles, existing, statuses)
    return exc.value.code


def test_spec_7_hr_then_a_different_it_member_sign_off():
    cl.check_signoff("hr", HR_ID, {"hr"}, {}, GREEN)
    cl.check_signoff("it", IT_ID, {"it"}, {"hr": HR_ID}, GREEN)


def test_spec_7_sign_off_is_refused_while_items_are_open_and_names_them():
    statuses = cl.evaluate(replace(CLEAN, open_reimbursements=1, live_tokens=1))
    with pytest.raises(OffboardError) as exc:
        cl.check_signoff("hr", HR_ID, {"hr"}, {}, statuses)
    assert exc.value.code == "checklist_open"
    assert exc.value.params["items"].values == ("reimbursements_closed", "access_revoked")
    assert exc.value.render("en").endswith("still open: Reimbursements closed, Sessions, tokens and devices revoked.")
    assert exc.value.render("zh-CN").endswith("尚未完成：报销流程闭环、账号会话与设备注销。")


def test_spec_7_two_person_rule_the_same_person_cannot_sign_both():
    assert signoff_error("it", HR_ID, {"hr", "it"}, {"hr": HR_ID}) == "same_signer"


def test_spec_7_signing_needs_the_role():
    assert signoff_error("it", HR_ID, {"hr"}, {}) == "signoff_role_missing"
    assert signoff_error("hr", IT_ID, set(), {}) == "signoff_role_missing"


def test_spec_7_each_role_signs_once_and_only_hr_or_it_sign():
    assert signoff_error("hr", 3, {"hr"}, {"hr": HR_ID}) == "already_signed"
    assert signoff_error("super_admin", HR_ID, {"super_admin"}, {}) == "invalid_signoff_role"


# --- R-LAW-2 retention end ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exited", "expected"),
    [
        # Six calendar months from Aug 31 end on the last day of February (181 days > 180).
        (datetime(2026, 8, 31, 16, 0, tzinfo=UTC), datetime(2027, 2, 28, 16, 0, tzinfo=UTC)),
        (datetime(2027, 8, 31, 0, 0, tzinfo=UTC), datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),  # leap year
        # From Feb 28, 180 days end on Aug 27: the six months (Aug 28) win.
        (datetime(2026, 2, 28, 9, 0, tzinfo=UTC), datetime(2026, 8, 28, 9, 0, tzinfo=UTC)),
        (datetime(2026, 12, 31, 0, 0, tzinfo=UTC), datetime(2027, 6, 30, 0, 0, tzinfo=UTC)),  # across the year
    ],
)
def test_r_law_2_retention_is_six_calendar_months_at_least_180_days(exited, expected):
    end = retention_end(exited, 180)
    assert end == expected
    assert end - exited >= timedelta(days=180)


def test_r_law_2_six_months_are_counted_on_the_enterprises_calendar():
    """01:00 on 1 March in Shanghai is still 28 February in UTC: six months on Shanghai's
    calendar end on 1 September there, three days later than on UTC's."""
    exited = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    assert retention_end(exited, 180, "Asia/Shanghai") == datetime(2026, 8, 31, 17, 0, tzinfo=UTC)
    assert retention_end(exited, 180, "UTC") == datetime(2026, 8, 28, 17, 0, tzinfo=UTC)


def test_r_law_2_a_longer_configured_retention_wins_over_six_months():
    exited = datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    assert retention_end(exited, 200) == exited + timedelta(days=200)
    assert retention_end(exited, 365) == exited + timedelta(days=365)


def test_r_exit_8_a_leave_date_means_the_end_of_that_day_in_the_tenants_time_zone():
    from datetime import UTC, datetime

    import pytest

    from offboard.domain.errors import ValidationError
    from offboard.domain.lifecycle import leave_moment

    assert leave_moment("2026-12-31", "Asia/Shanghai").astimezone(UTC) == datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)
    assert leave_moment("2026-12-31", "Europe/Berlin").astimezone(UTC) == datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC)
    assert leave_moment("2026-12-31T18:00", "Asia/Shanghai").astimezone(UTC) == datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    assert leave_moment("2026-12-31T18:00+00:00", "Asia/Shanghai").astimezone(UTC) == datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    assert leave_moment(None, "Asia/Shanghai") is None
    with pytest.raises(ValidationError) as bad:
        leave_moment("31/12/2026", "Asia/Shanghai")
    assert bad.value.code == "invalid_date"
