"""Pure planning (R-EXIT-5, R-ORG-4, R-ORG-2, R-DATA-2, R-EXIT-3): the plan of an exit is a
value computed from a snapshot, so none of these tests needs a database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from offboard.domain.planning import Choices, Person, Snapshot, digest, plan_exit
from offboard.domain.policy import Policy
from offboard.domain.vocabulary import LedgerState, ResourceKind

K = ResourceKind
LEAVER = 10
MANAGER = 20
SUCCESSOR = 30
ACCEPTOR = 40

CUSTOMER_KINDS = {K.EXTERNAL_CONTACT, K.CUSTOMER_GROUP}

# R-ORG-4: the fallback of each kind, and the ledger state its resources start in.
FALLBACKS = {
    K.DOCUMENT: ("archive", LedgerState.KEPT),
    K.SELF_BUILT_APP: ("archive", LedgerState.KEPT),
    K.CALENDAR: ("delete", LedgerState.DELETED),
    K.INTERNAL_GROUP: ("first_member", LedgerState.DONE),
    K.CUSTOMER_GROUP: ("unassigned", LedgerState.UNASSIGNED),
    K.EXTERNAL_CONTACT: ("unassigned", LedgerState.UNASSIGNED),
    K.DIRECT_REPORT: ("unassigned", LedgerState.UNASSIGNED),
    K.DEPARTMENT_LEADER: ("unassigned", LedgerState.UNASSIGNED),
    K.APPROVAL_TEMPLATE: ("unassigned", LedgerState.UNASSIGNED),
    K.APPROVAL_TASK: ("unassigned", LedgerState.UNASSIGNED),
}


def person(member_id: int, *, status: str = "active", leaving: bool = False, customers: int = 0) -> Person:
    return Person(member_id, f"m{member_id}", status, leaving, customers)


def snap(profile: str = "dingtalk", policy: dict | None = None, **fields) -> Snapshot:
    values = {
        "member_id": LEAVER,
        "userid": "leo",
        "status": "active",
        "holds_super_admin": False,
        "active_super_admins": 2,
        "has_backup_super_admin": True,
        "manager": None,
        "owned": {kind: 3 for kind in ResourceKind},
        "people": {p.member_id: p for p in (person(SUCCESSOR), person(ACCEPTOR))},
        "policy": Policy.of(profile).changed(policy or {}),
    }
    values.update(fields)
    return Snapshot(**values)


def codes(issues) -> list[str]:
    return [i.code for i in issues]


# --- R-ORG-4: acceptor resolution per kind -------------------------------------------------------


@pytest.mark.parametrize("kind", list(ResourceKind))
def test_r_org_4_named_acceptor_for_the_kind_wins_over_successor_and_manager(kind):
    plan = plan_exit(snap(manager=person(MANAGER)), Choices(SUCCESSOR, {kind: ACCEPTOR}))
    chosen = plan.kind(kind)
    assert (chosen.destination, chosen.acceptor_id, chosen.reason) == ("member", ACCEPTOR, "acceptor")
    # The other kinds are not affected by an acceptor named for this one.
    for other in plan.kinds:
        if other.kind != kind:
            assert (other.acceptor_id, other.reason) == (SUCCESSOR, "successor")


@pytest.mark.parametrize("kind", list(ResourceKind))
def test_r_org_4_successor_wins_over_the_direct_manager(kind):
    plan = plan_exit(snap(manager=person(MANAGER)), Choices(SUCCESSOR))
    assert (plan.kind(kind).destination, plan.kind(kind).acceptor_id, plan.kind(kind).reason) == ("member", SUCCESSOR, "successor")


@pytest.mark.parametrize("kind", list(ResourceKind))
def test_r_org_4_direct_manager_when_nobody_is_named(kind):
    plan = plan_exit(snap(manager=person(MANAGER)), Choices())
    assert (plan.kind(kind).destination, plan.kind(kind).acceptor_id, plan.kind(kind).reason) == ("member", MANAGER, "manager")
    assert plan.ok


@pytest.mark.parametrize("kind", list(ResourceKind))
def test_r_org_4_fallback_per_kind_without_anyone(kind):
    plan = plan_exit(snap(), Choices())
    destination, state = FALLBACKS[kind]
    chosen = plan.kind(kind)
    assert (chosen.destination, chosen.acceptor_id, chosen.reason, chosen.state) == (destination, None, "fallback", state)


@pytest.mark.parametrize("manager", [person(MANAGER, status="exited"), person(MANAGER, status="frozen"), person(MANAGER, leaving=True)])
def test_r_org_4_a_manager_who_is_not_an_active_stayer_is_skipped_for_the_fallback(manager):
    plan = plan_exit(snap(manager=manager), Choices())
    assert plan.ok  # the manager is not named, so this is no blocker
    for kind in ResourceKind:
        assert plan.kind(kind).reason == "fallback"
        assert plan.kind(kind).destination == FALLBACKS[kind][0]


def test_r_org_4_every_kind_is_planned_once_with_its_count():
    owned = {kind: i for i, kind in enumerate(ResourceKind)}
    plan = plan_exit(snap(owned=owned), Choices(SUCCESSOR))
    assert [k.kind for k in plan.kinds] == list(ResourceKind)
    assert {k.kind: k.count for k in plan.kinds} == owned


# --- R-DATA-2: the file policy decides for documents -----------------------------------------------


@pytest.mark.parametrize(("file_policy", "destination", "state"), [("archive", "archive", LedgerState.KEPT), ("delete", "delete", LedgerState.DELETED)])
def test_r_data_2_file_policy_archive_or_delete_applies_to_documents_even_with_a_successor(file_policy, destination, state):
    plan = plan_exit(snap(policy={"file_policy": file_policy}, manager=person(MANAGER)), Choices(SUCCESSOR, {K.DOCUMENT: ACCEPTOR}))
    documents = plan.kind(K.DOCUMENT)
    assert (documents.destination, documents.acceptor_id, documents.reason, documents.state) == (destination, None, "file_policy", state)
    # Only documents follow the file policy.
    assert plan.kind(K.CALENDAR).acceptor_id == SUCCESSOR
    assert plan.kind(K.SELF_BUILT_APP).acceptor_id == SUCCESSOR


def test_r_data_2_file_policy_transfer_moves_documents_to_the_acceptor():
    plan = plan_exit(snap(policy={"file_policy": "transfer"}), Choices(SUCCESSOR))
    assert (plan.kind(K.DOCUMENT).destination, plan.kind(K.DOCUMENT).acceptor_id) == ("member", SUCCESSOR)


# --- R-ORG-2: asynchronous customer transfer under wecom -------------------------------------------


def test_r_org_2_wecom_customer_kinds_start_waiting_and_the_others_done():
    plan = plan_exit(snap("wecom"), Choices(SUCCESSOR))
    for k in plan.kinds:
        assert k.state == (LedgerState.WAITING if k.kind in CUSTOMER_KINDS else LedgerState.DONE), k.kind


@pytest.mark.parametrize("profile", ["dingtalk", "feishu"])
def test_r_org_2_other_profiles_transfer_customers_at_once(profile):
    plan = plan_exit(snap(profile), Choices(SUCCESSOR))
    assert {k.state for k in plan.kinds} == {LedgerState.DONE}


def test_r_org_2_wecom_customers_without_an_acceptor_are_unassigned_not_waiting():
    plan = plan_exit(snap("wecom"), Choices())
    assert plan.kind(K.EXTERNAL_CONTACT).state == LedgerState.UNASSIGNED
    assert plan.kind(K.CUSTOMER_GROUP).state == LedgerState.UNASSIGNED


# --- blockers ----------------------------------------------------------------------------------------


def test_r_exit_3_a_super_admin_not_handed_over_is_blocked():
    plan = plan_exit(snap(holds_super_admin=True, active_super_admins=2), Choices(SUCCESSOR))
    assert not plan.ok
    assert codes(plan.blockers) == ["super_admin_not_handed_over"]


def test_r_exit_3_the_last_super_admin_is_blocked():
    plan = plan_exit(snap(holds_super_admin=True, active_super_admins=1), Choices(SUCCESSOR))
    assert codes(plan.blockers) == ["last_super_admin"]


def test_r_exit_3_a_member_without_the_role_is_not_blocked():
    assert plan_exit(snap(holds_super_admin=False, active_super_admins=1), Choices(SUCCESSOR)).ok


@pytest.mark.parametrize("status", ["exited", "finalized", "erased"])
def test_r_exit_5_only_a_current_member_can_leave(status):
    plan = plan_exit(snap(status=status), Choices(SUCCESSOR))
    assert codes(plan.blockers) == ["member_not_present"]


@pytest.mark.parametrize(
    ("named", "people", "code"),
    [
        (SUCCESSOR, {SUCCESSOR: person(SUCCESSOR, status="exited")}, "acceptor_invalid"),
        (SUCCESSOR, {SUCCESSOR: person(SUCCESSOR, status="frozen")}, "acceptor_invalid"),
        (SUCCESSOR, {SUCCESSOR: person(SUCCESSOR, leaving=True)}, "acceptor_leaving"),
        (LEAVER, {LEAVER: person(LEAVER)}, "acceptor_is_leaver"),
        (999, {}, "acceptor_invalid"),  # not a member of this tenant
    ],
)
def test_r_org_4_an_invalid_successor_blocks_and_its_kinds_stay_unassigned(named, people, code):
    plan = plan_exit(snap(people=people, manager=person(MANAGER)), Choices(named))
    assert codes(plan.blockers) == [code]
    # A bad name is not silently replaced by the manager: the blocker names why.
    for k in plan.kinds:
        assert (k.destination, k.acceptor_id, k.reason) == ("unassigned", None, "successor")


@pytest.mark.parametrize("kind", [K.EXTERNAL_CONTACT, K.CALENDAR, K.APPROVAL_TASK])
def test_r_org_4_an_invalid_acceptor_for_one_kind_blocks_and_names_the_kind(kind):
    people = {SUCCESSOR: person(SUCCESSOR), ACCEPTOR: person(ACCEPTOR, status="exited")}
    plan = plan_exit(snap(people=people), Choices(SUCCESSOR, {kind: ACCEPTOR}))
    assert codes(plan.blockers) == ["acceptor_invalid"]
    assert plan.blockers[0].params["role"].value == f"acceptor.{kind.value}"
    assert plan.kind(kind).destination == "unassigned"
    assert all(k.acceptor_id == SUCCESSOR for k in plan.kinds if k.kind != kind)


def test_r_exit_5_blockers_accumulate():
    people = {SUCCESSOR: person(SUCCESSOR, leaving=True), ACCEPTOR: person(ACCEPTOR, status="exited")}
    plan = plan_exit(snap(people=people, holds_super_admin=True, active_super_admins=1), Choices(SUCCESSOR, {K.DOCUMENT: ACCEPTOR}))
    assert sorted(codes(plan.blockers)) == ["acceptor_invalid", "acceptor_leaving", "last_super_admin"]


# --- warnings ----------------------------------------------------------------------------------------


def test_r_org_5_warning_lists_the_kinds_left_unassigned():
    owned = {kind: 0 for kind in ResourceKind} | {K.EXTERNAL_CONTACT: 2, K.DIRECT_REPORT: 1, K.DOCUMENT: 4}
    plan = plan_exit(snap(owned=owned), Choices())
    unassigned = [w for w in plan.warnings if w.code == "unassigned_resources"]
    assert len(unassigned) == 1
    # Documents fall back to the archive, so they are not unassigned; kinds with nothing are not listed.
    assert unassigned[0].params["kinds"].values == ("external_contact", "direct_report")


def test_r_org_5_no_unassigned_warning_when_everything_has_an_acceptor():
    assert "unassigned_resources" not in codes(plan_exit(snap(), Choices(SUCCESSOR)).warnings)


def test_r_org_1_warning_names_the_departments_the_exit_empties():
    plan = plan_exit(snap(emptied_departments=("法务合规部", "合规组")), Choices(SUCCESSOR))
    (warning,) = [w for w in plan.warnings if w.code == "departments_pending_dissolution"]
    assert warning.params["names"] == "法务合规部, 合规组"
    assert "departments_pending_dissolution" not in codes(plan_exit(snap(), Choices(SUCCESSOR)).warnings)


def test_r_adm_3_warning_while_no_backup_super_admin():
    assert "no_backup_admin" in codes(plan_exit(snap(has_backup_super_admin=False), Choices(SUCCESSOR)).warnings)
    assert "no_backup_admin" not in codes(plan_exit(snap(has_backup_super_admin=True), Choices(SUCCESSOR)).warnings)


def test_r_exit_5_warning_for_personal_tokens_in_recent_use():
    plan = plan_exit(snap(recent_personal_tokens=2), Choices(SUCCESSOR))
    (warning,) = [w for w in plan.warnings if w.code == "personal_tokens_in_use"]
    assert warning.params == {"n": 2}
    assert "personal_tokens_in_use" not in codes(plan_exit(snap(recent_personal_tokens=0), Choices(SUCCESSOR)).warnings)


def test_r_org_2_warning_when_the_acceptor_comes_near_the_customer_limit():
    owned = {kind: 0 for kind in ResourceKind} | {K.EXTERNAL_CONTACT: 5}
    people = {SUCCESSOR: person(SUCCESSOR, customers=95)}
    plan = plan_exit(snap(owned=owned, people=people, policy={"customer_limit": 100}), Choices(SUCCESSOR))
    (warning,) = [w for w in plan.warnings if w.code == "acceptor_near_limit"]
    assert warning.params == {"userid": f"m{SUCCESSOR}", "total": 100, "limit": 100, "over": 0}
    # Beyond the limit, the warning says how many would be refused with the acceptor full.
    plan = plan_exit(snap(owned=owned, people={SUCCESSOR: person(SUCCESSOR, customers=98)}, policy={"customer_limit": 100}), Choices(SUCCESSOR))
    (warning,) = [w for w in plan.warnings if w.code == "acceptor_near_limit"]
    assert warning.params["over"] == 3


def test_r_org_2_limit_warning_is_silent_far_below_the_limit_and_also_checks_the_manager():
    owned = {kind: 0 for kind in ResourceKind} | {K.EXTERNAL_CONTACT: 5}
    plan = plan_exit(snap(owned=owned, people={SUCCESSOR: person(SUCCESSOR, customers=10)}, policy={"customer_limit": 100}), Choices(SUCCESSOR))
    assert "acceptor_near_limit" not in codes(plan.warnings)
    # The limit is checked for the manager too, when the contacts go to the manager.
    plan = plan_exit(snap(owned=owned, manager=person(MANAGER, customers=90), policy={"customer_limit": 100}), Choices())
    assert "acceptor_near_limit" in codes(plan.warnings)


# --- the stored plan -------------------------------------------------------------------------------


def test_r_exit_5_digest_covers_the_plan_and_the_data_it_was_made_from():
    body = plan_exit(snap(), Choices(SUCCESSOR)).body()
    data = {"owned": {"document": [3, 6, 3]}, "member_version": 1}
    assert digest(body, data) == digest(body, dict(data))
    assert digest(body, data) != digest(body, {**data, "owned": {"document": [4, 10, 4]}})
    assert digest(body, data) != digest(body, {**data, "member_version": 2})
    other = plan_exit(snap(), Choices(ACCEPTOR)).body()
    assert digest(other, data) != digest(body, data)


def test_r_exit_5_choices_survive_the_stored_form():
    choices = Choices(SUCCESSOR, {K.DOCUMENT: ACCEPTOR, K.CALENDAR: SUCCESSOR})
    assert Choices.from_dict(choices.to_dict()) == choices
    body = plan_exit(snap(), choices).body()
    assert Choices.from_dict(body["choices"]) == choices


def test_r_exit_5_planning_does_not_depend_on_anything_but_the_snapshot():
    s = snap(manager=person(MANAGER))
    assert plan_exit(s, Choices(SUCCESSOR)).body() == plan_exit(replace(s), Choices(SUCCESSOR)).body()
