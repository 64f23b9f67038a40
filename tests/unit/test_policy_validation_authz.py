"""Policy presets (SPEC §6), input validation, and who may do what (SPEC §3.2)."""

from __future__ import annotations

import pytest

from offboard.domain import validation
from offboard.domain.authz import OPERATOR, Action, Actor, RoleGrant, Target, allowed, require
from offboard.domain.errors import Forbidden, OffboardError
from offboard.domain.policy import PRESETS, apply_overrides, preset
from offboard.domain.vocabulary import Profile, Role

# --- policy presets (SPEC §6) -----------------------------------------------------------

SPEC_6 = {
    # setting: (wecom, dingtalk, feishu)
    "admin_handover": ("dual_verification", "immediate", "escrow"),
    "data_clearing": ("whole_account", "selective", "levels"),
    "exit_automation": ("manual", "hr_sync", "approval_flow"),
    "restore_window_hours": (24, 24, 24),
    "customer_transfer": ("async_24h", "immediate", "immediate"),
    "chat_retention_days": (180, 180, 180),
    "file_policy": ("transfer", "transfer", "transfer"),
    "customer_limit": (20000, 20000, 20000),
}


@pytest.mark.parametrize("index,profile", enumerate(["wecom", "dingtalk", "feishu"]))
def test_spec_6_presets_match_the_platform_table(index, profile):
    settings = preset(profile)
    for key, values in SPEC_6.items():
        assert settings[key] == values[index], key


def test_spec_6_every_profile_has_a_preset():
    assert set(PRESETS) == set(Profile)


def test_preset_is_a_copy_that_callers_cannot_corrupt():
    settings = preset("wecom")
    settings["customer_limit"] = 1
    assert preset("wecom")["customer_limit"] == 20000


def test_unknown_profile_is_refused_with_a_stable_code():
    with pytest.raises(OffboardError) as exc:
        preset("slack")
    assert exc.value.code == "unknown_profile"
    assert exc.value.status == 422


def test_r_law_2_chat_retention_cannot_be_lowered_below_180_days():
    with pytest.raises(OffboardError) as exc:
        apply_overrides(preset("wecom"), {"chat_retention_days": 179})
    assert exc.value.code == "invalid_policy_value"
    assert apply_overrides(preset("wecom"), {"chat_retention_days": 365})["chat_retention_days"] == 365


def test_r_exit_6_restore_window_is_at_most_30_days():
    assert apply_overrides(preset("feishu"), {"restore_window_hours": 30 * 24})["restore_window_hours"] == 720
    for bad in (30 * 24 + 1, 0, -1):
        with pytest.raises(OffboardError) as exc:
            apply_overrides(preset("feishu"), {"restore_window_hours": bad})
        assert exc.value.code == "invalid_policy_value"


@pytest.mark.parametrize(
    "overrides,code",
    [
        ({"customer_limit": 0}, "invalid_policy_value"),
        ({"customer_limit": "20000"}, "invalid_policy_value"),  # a string is not a number
        ({"customer_limit": True}, "invalid_policy_value"),  # bool is an int subclass, still refused
        ({"customer_limit": 1.5}, "invalid_policy_value"),
        ({"file_policy": "shred"}, "invalid_policy_value"),
        ({"customer_transfer": "later"}, "invalid_policy_value"),
        ({"admin_handover": None}, "invalid_policy_value"),
        ({"colour": "blue"}, "unknown_policy_setting"),
    ],
)
def test_bad_policy_overrides_are_refused_with_a_stable_code(overrides, code):
    base = preset("dingtalk")
    with pytest.raises(OffboardError) as exc:
        apply_overrides(base, overrides)
    assert exc.value.code == code
    assert base == preset("dingtalk")  # the input is never changed


def test_valid_overrides_apply_and_leave_the_input_unchanged():
    base = preset("wecom")
    result = apply_overrides(base, {"customer_limit": 5000, "file_policy": "archive", "customer_transfer": "immediate"})
    assert (result["customer_limit"], result["file_policy"], result["customer_transfer"]) == (5000, "archive", "immediate")
    assert base == preset("wecom")


# --- validation -----------------------------------------------------------------------------

GOOD = [
    (validation.userid, "amy", "amy"),
    (validation.userid, "  a.b@c-d_e  ", "a.b@c-d_e"),
    (validation.userid, "a" * 64, "a" * 64),
    (validation.email, "amy@example.com", "amy@example.com"),
    (validation.email, "", None),
    (validation.email, None, None),
    (validation.mobile, "+86 138 0013 8000", "+86 138 0013 8000"),
    (validation.mobile, "13800138000", "13800138000"),
    (validation.mobile, None, None),
    (validation.slug, "acme-cn", "acme-cn"),
    (validation.region, "eu", "eu"),
    (validation.timezone, "Asia/Shanghai", "Asia/Shanghai"),
    (validation.timezone, "UTC", "UTC"),
]

BAD = [
    (validation.userid, "", "invalid_userid"),
    (validation.userid, "a" * 65, "invalid_userid"),
    (validation.userid, "-amy", "invalid_userid"),
    (validation.userid, "amy smith", "invalid_userid"),
    (validation.userid, "张三", "invalid_userid"),
    (validation.email, "amy@example", "invalid_email"),
    (validation.email, "amy smith@example.com", "invalid_email"),
    (validation.email, "amy@@example.com", "invalid_email"),
    (validation.email, "amy@-example.com", "invalid_email"),
    (validation.email, "a" * 65 + "@example.com", "invalid_email"),
    (validation.mobile, "12345", "invalid_mobile"),
    (validation.mobile, "call me", "invalid_mobile"),
    (validation.slug, "a", "invalid_slug"),
    (validation.slug, "Acme", "invalid_slug"),
    (validation.slug, "-acme", "invalid_slug"),
    (validation.slug, "ac_me", "invalid_slug"),
    (validation.slug, "a" * 41, "invalid_slug"),
    (validation.slug, "acme\n", "invalid_slug"),  # `$` alone would accept a trailing newline
    (validation.region, "CN", "invalid_region"),
    (validation.region, "jp", "invalid_region"),
    (validation.timezone, "Mars/Olympus", "invalid_timezone"),
    (validation.timezone, "", "invalid_timezone"),
    (validation.timezone, "../../etc/passwd", "invalid_timezone"),
]


@pytest.mark.parametrize("fn,value,expected", GOOD, ids=lambda x: getattr(x, "__name__", repr(x)))
def test_valid_input_is_accepted_and_normalised(fn, value, expected):
    assert fn(value) == expected


@pytest.mark.parametrize("fn,value,code", BAD, ids=lambda x: getattr(x, "__name__", repr(x)))
def test_invalid_input_is_refused_with_a_stable_code(fn, value, code):
    with pytest.raises(OffboardError) as exc:
        fn(value)
    assert exc.value.code == code
    assert exc.value.status == 422
    assert exc.value.to_dict()["error"] == code
    assert exc.value.to_dict()["message"]


def test_choice_names_the_allowed_values():
    assert validation.choice("hr", Role, "role") == "hr"
    with pytest.raises(OffboardError) as exc:
        validation.choice("boss", Role, "role")
    assert exc.value.code == "invalid_choice"
    assert "super_admin" in str(exc.value)


# --- authorization matrix (SPEC §3.2) ------------------------------------------------------

SCOPE = "/1/2/"
IN_SCOPE = Target(member_id=20, department_paths=("/1/2/7/",))
OUT_OF_SCOPE = Target(member_id=21, department_paths=("/1/3/",))
SIBLING_PREFIX = Target(member_id=22, department_paths=("/1/23/",))  # '/1/2' is a prefix, not an ancestor
ADMIN_TARGET = Target(member_id=23, department_paths=("/1/2/7/",), is_admin=True)
OTHER = Target(member_id=24, department_paths=("/1/3/",))

SUPER = Actor("member", 1, "boss", (RoleGrant(Role.SUPER_ADMIN),))
ADMIN = Actor("member", 2, "adm", (RoleGrant(Role.ADMIN, (SCOPE,)),))
ADMIN_AUDIT = Actor("member", 3, "aud", (RoleGrant(Role.ADMIN, (SCOPE,), frozenset({"audit_read"})),))
HR = Actor("member", 4, "hr", (RoleGrant(Role.HR),))
IT = Actor("member", 5, "it", (RoleGrant(Role.IT),))
MEMBER = Actor("member", 6, "amy")
OWN = Target(member_id=6, department_paths=("/1/3/",))

A = Action
# (actor, action, target, allowed?) — one row per cell of the SPEC §3.2 table.
MATRIX = [
    # plan an exit: super yes, admin in scope, hr yes, it yes, member own, operator yes
    ("super", SUPER, A.PLAN_EXIT, OTHER, True),
    ("admin in scope", ADMIN, A.PLAN_EXIT, IN_SCOPE, True),
    ("admin out of scope", ADMIN, A.PLAN_EXIT, OUT_OF_SCOPE, False),
    ("admin prefix sibling", ADMIN, A.PLAN_EXIT, SIBLING_PREFIX, False),
    ("hr", HR, A.PLAN_EXIT, OTHER, True),
    ("it", IT, A.PLAN_EXIT, OTHER, True),
    ("member own", MEMBER, A.PLAN_EXIT, OWN, True),
    ("member other", MEMBER, A.PLAN_EXIT, OTHER, False),
    ("operator", OPERATOR, A.PLAN_EXIT, OTHER, True),
    # start a removal: super yes, admin in scope, hr yes (not of admins), it no, member no, operator yes
    ("super", SUPER, A.START_REMOVAL, ADMIN_TARGET, True),
    ("admin in scope", ADMIN, A.START_REMOVAL, IN_SCOPE, True),
    ("admin out of scope", ADMIN, A.START_REMOVAL, OUT_OF_SCOPE, False),
    ("hr", HR, A.START_REMOVAL, OTHER, True),
    ("hr may not remove an admin", HR, A.START_REMOVAL, ADMIN_TARGET, False),
    ("it", IT, A.START_REMOVAL, OTHER, False),
    ("member own", MEMBER, A.START_REMOVAL, OWN, False),
    ("member other", MEMBER, A.START_REMOVAL, OTHER, False),
    ("operator", OPERATOR, A.START_REMOVAL, ADMIN_TARGET, True),
    # voluntary exit: the member, own only
    ("super other", SUPER, A.VOLUNTARY_EXIT, OTHER, False),
    ("admin in scope", ADMIN, A.VOLUNTARY_EXIT, IN_SCOPE, False),
    ("hr", HR, A.VOLUNTARY_EXIT, OTHER, False),
    ("it", IT, A.VOLUNTARY_EXIT, OTHER, False),
    ("member own", MEMBER, A.VOLUNTARY_EXIT, OWN, True),
    ("member other", MEMBER, A.VOLUNTARY_EXIT, OTHER, False),
    ("operator", OPERATOR, A.VOLUNTARY_EXIT, OWN, False),
    # restore: super, admin in scope, hr, operator
    ("super", SUPER, A.RESTORE, OTHER, True),
    ("admin in scope", ADMIN, A.RESTORE, IN_SCOPE, True),
    ("admin out of scope", ADMIN, A.RESTORE, OUT_OF_SCOPE, False),
    ("hr", HR, A.RESTORE, OTHER, True),
    ("it", IT, A.RESTORE, OTHER, False),
    ("member own", MEMBER, A.RESTORE, OWN, False),
    ("operator", OPERATOR, A.RESTORE, OTHER, True),
    # assign unassigned resources (inherit): super, admin in scope, hr, operator
    ("super", SUPER, A.INHERIT, OTHER, True),
    ("admin in scope", ADMIN, A.INHERIT, IN_SCOPE, True),
    ("admin out of scope", ADMIN, A.INHERIT, OUT_OF_SCOPE, False),
    ("hr", HR, A.INHERIT, OTHER, True),
    ("it", IT, A.INHERIT, OTHER, False),
    ("member", MEMBER, A.INHERIT, OWN, False),
    ("operator", OPERATOR, A.INHERIT, OTHER, True),
    # attest HR items: hr only
    ("super", SUPER, A.ATTEST_HR, OTHER, False),
    ("admin", ADMIN, A.ATTEST_HR, IN_SCOPE, False),
    ("hr", HR, A.ATTEST_HR, OTHER, True),
    ("it", IT, A.ATTEST_HR, OTHER, False),
    ("member", MEMBER, A.ATTEST_HR, OWN, False),
    ("operator", OPERATOR, A.ATTEST_HR, OTHER, False),
    # attest IT items: it only
    ("super", SUPER, A.ATTEST_IT, OTHER, False),
    ("admin", ADMIN, A.ATTEST_IT, IN_SCOPE, False),
    ("hr", HR, A.ATTEST_IT, OTHER, False),
    ("it", IT, A.ATTEST_IT, OTHER, True),
    ("member", MEMBER, A.ATTEST_IT, OWN, False),
    ("operator", OPERATOR, A.ATTEST_IT, OTHER, False),
    # read a departed member's chats: super, admin with audit_read (in scope); nobody else
    ("super", SUPER, A.READ_DEPARTED_CHATS, OTHER, True),
    ("admin without audit_read", ADMIN, A.READ_DEPARTED_CHATS, IN_SCOPE, False),
    ("admin with audit_read", ADMIN_AUDIT, A.READ_DEPARTED_CHATS, IN_SCOPE, True),
    ("admin with audit_read out of scope", ADMIN_AUDIT, A.READ_DEPARTED_CHATS, OUT_OF_SCOPE, False),
    ("hr", HR, A.READ_DEPARTED_CHATS, OTHER, False),
    ("it", IT, A.READ_DEPARTED_CHATS, OTHER, False),
    ("member own", MEMBER, A.READ_DEPARTED_CHATS, OWN, False),
    ("operator", OPERATOR, A.READ_DEPARTED_CHATS, OTHER, False),
    # handover, backup admin, policy: super, operator
    ("super", SUPER, A.MANAGE_ADMINS, None, True),
    ("admin", ADMIN, A.MANAGE_ADMINS, None, False),
    ("admin in scope", ADMIN, A.MANAGE_ADMINS, IN_SCOPE, False),
    ("hr", HR, A.MANAGE_ADMINS, None, False),
    ("it", IT, A.MANAGE_ADMINS, None, False),
    ("member", MEMBER, A.MANAGE_ADMINS, None, False),
    ("operator", OPERATOR, A.MANAGE_ADMINS, None, True),
    # freeze an account: super, it, operator
    ("super", SUPER, A.FREEZE, OTHER, True),
    ("admin in scope", ADMIN, A.FREEZE, IN_SCOPE, False),
    ("hr", HR, A.FREEZE, OTHER, False),
    ("it", IT, A.FREEZE, OTHER, True),
    ("member", MEMBER, A.FREEZE, OWN, False),
    ("operator", OPERATOR, A.FREEZE, OTHER, True),
    # tenant create / recover: operator only
    ("super", SUPER, A.TENANT_ADMIN, None, False),
    ("admin", ADMIN, A.TENANT_ADMIN, None, False),
    ("hr", HR, A.TENANT_ADMIN, None, False),
    ("it", IT, A.TENANT_ADMIN, None, False),
    ("member", MEMBER, A.TENANT_ADMIN, None, False),
    ("operator", OPERATOR, A.TENANT_ADMIN, None, True),
    # decide a step of an exit request (离职申请, SPEC §6 approval_flow): a person, whichever role;
    # which steps is the request's to say (offboard.domain.exit_requests.may_decide)
    ("member", MEMBER, A.DECIDE_EXIT_REQUESTS, OTHER, True),
    ("hr", HR, A.DECIDE_EXIT_REQUESTS, OTHER, True),
    ("super", SUPER, A.DECIDE_EXIT_REQUESTS, OTHER, True),
    ("operator", OPERATOR, A.DECIDE_EXIT_REQUESTS, OTHER, False),
    ("service token", Actor("service", token_id=1), A.DECIDE_EXIT_REQUESTS, OTHER, False),
]


@pytest.mark.parametrize(
    "who,actor,action,target,expected",
    MATRIX,
    ids=[f"{row[2].value}-{row[0].replace(' ', '_')}" for row in MATRIX],
)
def test_spec_3_2_authorization_matrix(who, actor, action, target, expected):
    assert allowed(actor, action, target) is expected


def test_spec_3_2_matrix_covers_every_action_of_the_table():
    covered = {row[2] for row in MATRIX}
    assert covered >= {
        A.PLAN_EXIT,
        A.START_REMOVAL,
        A.VOLUNTARY_EXIT,
        A.RESTORE,
        A.INHERIT,
        A.ATTEST_HR,
        A.ATTEST_IT,
        A.READ_DEPARTED_CHATS,
        A.MANAGE_ADMINS,
        A.FREEZE,
        A.TENANT_ADMIN,
    }


def test_a_member_holding_two_roles_gets_the_union():
    hr_and_it = Actor("member", 7, "both", (RoleGrant(Role.HR), RoleGrant(Role.IT)))
    assert allowed(hr_and_it, A.ATTEST_HR, OTHER) and allowed(hr_and_it, A.ATTEST_IT, OTHER)
    # HR's "not of admins" exception is not lifted by also holding IT (IT cannot remove at all).
    assert not allowed(hr_and_it, A.START_REMOVAL, ADMIN_TARGET)


def test_require_raises_forbidden_with_a_stable_code():
    require(SUPER, A.MANAGE_ADMINS)
    with pytest.raises(Forbidden) as exc:
        require(HR, A.MANAGE_ADMINS)
    assert exc.value.code == "forbidden"
    assert exc.value.status == 403
