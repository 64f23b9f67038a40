"""SPEC §3.2, issue 8 item 4: every permission check lives in the action layer. Each route of the
API and each console form is sent a valid request, and the test records which checks of
`offboard.domain.authz` ran and from which module: the request must reach an action in
`offboard/actions/` (or a read model in `offboard/queries/`) that checks the action's permission (an entry point that checked it itself,
and an action that did not, both fail).

The API requests are the valid ones of test_token_scopes (CASES, VARIANTS), sent with a token
that holds every scope; the console forms are sent by a signed-in member with the CSRF token.
Sensitive actions (authz.SENSITIVE) are refused by the action when the session's second factor
is older than REVERIFY_AFTER, for a token-less console session and an API session alike.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from offboard.actions import exits as exit_actions
from offboard.actions import freeze as freeze_actions
from offboard.actions import holds
from offboard.actions import webhooks as webhook_actions
from offboard.actions.context import tenant_transaction
from offboard.domain import authz
from offboard.domain.authz import SENSITIVE, Action
from offboard.store.tables import webhook_deliveries
from tests.api.conftest import World, fresh, routes, sign_in
from tests.api.test_token_scopes import (
    CASES,
    NOT_A_TOKEN_SCOPE,
    ROUTE_SCOPE,
    SCOPES,
    VARIANTS,
    _custom_hr_item,
    _exit,
    _exit_request,
    _fresh_code,
    _job,
    _member,
    _own_exit_request,
    _own_scheduled_exit,
    _userid,
    _webhook,
    decided_in_python,
    token_headers,
)
from tests.support.db import actions_since, audit_seq

CHECKS = ("require", "require_scope", "allowed", "require_fresh")

# Routes whose action checks no §3.2 action, and why.
API_WITHOUT_ACTION = {
    ("GET", "/api/v1/tokens"): "a member lists their own tokens; a super admin all (list_tokens filters by who asks)",
    ("GET", "/api/v1/me/inbox"): "what waits for the signed-in member: each section is filtered by allowed() in queries/inbox.py",
    ("GET", "/api/v1/me"): "the signed-in member's own entry",
    ("POST", "/api/v1/me/reverify"): "gives the second factor again: the check of the credential itself",
    ("POST", "/api/v1/handovers/accept"): "the nominee accepts as themself, with their own code: the handover row names who may",
    ("POST", "/api/v1/handovers/cancel"): "the old super admin cancels their own pending handover, with their code",
    ("POST", "/api/v1/handovers/revert"): "the old super admin reverts inside their own emergency window, with their code",
    ("POST", "/api/v1/callbacks/{tenant}/webhooks/{webhook_id}/reauthorized"): "a third-party app's callback: its endpoint's signature is the credential (tests/integration/test_webhooks.py)",
}
CONSOLE_SIGN_IN = {
    ("POST", "/login"): "signs in",
    ("POST", "/login/totp"): "the second factor of signing in",
    ("POST", "/reverify"): "gives the second factor again",
    ("POST", "/logout"): "ends one's own session",
    ("POST", "/lang"): "the language cookie",
}
# Console forms whose action checks no §3.2 action, and why (as the API's twins in
# test_token_scopes.ROUTE_SCOPE): the handover row names who may, with their own code.
CONSOLE_WITHOUT_ACTION = {
    ("POST", "/handover/accept"): "the nominee accepts as themself, with their own code (handover.accept)",
    ("POST", "/handover/accept/{link}"): "the nominee accepts through the link, with their own code (handover.accept)",
    ("POST", "/handover/cancel"): "the old super admin cancels their own pending handover, with their code (handover.cancel)",
    ("POST", "/handover/revert"): "the old super admin reverts inside their own emergency window, with their code (handover.revert)",
}


@pytest.fixture
def checks(monkeypatch) -> list[tuple[str, Action]]:
    """Every call of a check of offboard.domain.authz, as (calling module, action), wherever the
    function was imported by name."""
    seen: list[tuple[str, Action]] = []

    def recording(name: str, fn: Callable) -> Callable:
        def check(actor, action, *args, **kwargs):
            seen.append((sys._getframe(1).f_globals.get("__name__", ""), Action(action)))
            return fn(actor, action, *args, **kwargs)

        return check

    originals = {name: getattr(authz, name) for name in CHECKS}
    for module in [m for name, m in sys.modules.items() if name.startswith("offboard.") and m is not None]:
        for name, fn in originals.items():
            if getattr(module, name, None) is fn:
                monkeypatch.setattr(module, name, recording(name, fn))
    return seen


def checked_in_actions(seen: list[tuple[str, Action]], action: Action) -> bool:
    return any(module.startswith(("offboard.actions.", "offboard.queries.")) and checked == action for module, checked in seen)


def _api_walk() -> list:
    cases = [(route, scope, *CASES[route]) for route, scope in ROUTE_SCOPE.items() if scope is not None]
    return cases + VARIANTS


def _label(case) -> str:
    (method, path), scope = case[0], case[1]
    return f"{method} {path} [{scope}]"


@decided_in_python
def test_spec_3_2_every_api_route_is_walked_or_has_a_reason(world):
    served = {(m, p) for m, p, _r in routes(world.app) if p.startswith("/api/v1")}
    walked = {route for route, *_ in _api_walk()}
    assert served - walked - set(API_WITHOUT_ACTION) == set(), "give each new API route a valid request in test_token_scopes.CASES"
    assert set(API_WITHOUT_ACTION) <= served, "API_WITHOUT_ACTION names a route the app does not serve"


@decided_in_python
@pytest.mark.parametrize("case", _api_walk(), ids=_label)
def test_spec_3_2_every_api_route_reaches_an_action_that_checks_its_permission(world, client, checks, case):
    route, scope, who, make = case
    headers = world.operator(world.a.slug) if scope in NOT_A_TOKEN_SCOPE else token_headers(world, who, list(SCOPES))
    checks.clear()
    method, url, body = make(world, who)
    response = client.request(method, url, headers=headers, json=body)
    # Allowed (the action may still refuse on the data, e.g. nobody to unlock: 409).
    assert response.status_code < 500 and response.status_code not in (401, 403), f"{_label(case)}: {response.status_code} {response.text[:300]}"
    assert checked_in_actions(checks, Action(scope)), f"{_label(case)}: no action checked {scope}; checks seen: {checks}"


# --- the console's forms --------------------------------------------------------------------------

Form = Callable[[World, str], tuple[str, dict]]  # (world, who) -> (url, form fields); a tuple value is a file


def _planned(w: World) -> dict:
    member = _member(w)
    with tenant_transaction(w.services, w.a.slug) as uow:
        plan = exit_actions.plan(uow, member)
    return {"member_id": member, "plan_id": plan.plan_id, "reason_category": "dismissal", "reason": "test"}


def _frozen(w: World) -> int:
    """A new member of A whose account the operator froze."""
    member = _member(w)
    with tenant_transaction(w.services, w.a.slug) as uow:
        freeze_actions.freeze(uow, member, reason="test")
    return member


def _held(w: World) -> tuple[int, int]:
    """A new member of A with a legal hold the operator placed on their records: (member, hold)."""
    member = _member(w)
    with tenant_transaction(w.services, w.a.slug) as uow:
        return member, holds.place_hold(uow, member, reason="case 2026-2")


def _given_up(w: World) -> tuple[int, int]:
    """A new webhook endpoint of A and a delivery to it that was given up: (endpoint, delivery)."""
    webhook = _webhook(w)
    with tenant_transaction(w.services, w.a.slug) as uow:
        delivery = webhook_actions.send_test(uow, webhook)
        uow.conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.tenant_id == uow.tenant_id, webhook_deliveries.c.id == delivery).values(state="dead"))
    return webhook, delivery


# (method, path) -> (who, the action it must check, a valid form)
CONSOLE_FORMS: dict[tuple[str, str], tuple[str, Action, Form]] = {
    ("POST", "/members/{member_id}/compliance-report.{fmt}"): ("super", Action.READ_AUDIT, lambda w, _who: (f"/members/{w.a.extra['leaver']}/compliance-report.json", {})),
    ("POST", "/members/{member_id}/exit/plan"): ("hr", Action.PLAN_EXIT, lambda w, _who: (f"/members/{_member(w)}/exit/plan", {})),
    ("POST", "/exits"): ("hr", Action.START_REMOVAL, lambda w, _who: ("/exits", _planned(w))),
    ("POST", "/exits/{exit_id}/cancel"): ("hr", Action.START_REMOVAL, lambda w, _who: (f"/exits/{_exit(w, _member(w), scheduled=True)}/cancel", {})),
    ("POST", "/exits/{exit_id}/restore"): ("hr", Action.RESTORE, lambda w, who: (f"/exits/{_exit(w, _member(w))}/restore", {"totp": _fresh_code(w, who), "reason": "removed by mistake"})),
    ("POST", "/exits/{exit_id}/inherit"): ("hr", Action.INHERIT, lambda w, _who: (f"/exits/{_exit(w, _member(w, customers=1))}/inherit", {"kind": "external_contact", "to": "alpha-member"})),
    ("POST", "/exits/{exit_id}/ledger/bulk"): (
        "super",
        Action.INHERIT,
        lambda w, _who: (f"/exits/{w.a.extra['exit']}/ledger/bulk", {"action": "result", "result": "refused", "row": w.a.extra["correlation_id"]}),
    ),
    ("POST", "/exits/{exit_id}/ledger/bulk/confirm"): (
        "super",
        Action.INHERIT,
        lambda w, _who: (f"/exits/{w.a.extra['exit']}/ledger/bulk/confirm", {"action": "result", "result": "refused", "row": w.a.extra["correlation_id"], "expected": "1"}),
    ),
    ("POST", "/exits/{exit_id}/checklist/{item}/attest"): (
        "hr",
        Action.ATTEST_HR,
        lambda w, _who: (f"/exits/{_exit(w, _member(w))}/checklist/{_custom_hr_item(w)}/attest", {"evidence": "badge returned"}),
    ),
    ("POST", "/exits/{exit_id}/grants/ack"): ("it", Action.ATTEST_IT, lambda w, _who: (f"/exits/{_exit(w, _member(w, grants=1))}/grants/ack", {"evidence": "CRM told"})),
    ("POST", "/exits/{exit_id}/reimbursements/close"): (
        "hr",
        Action.ATTEST_HR,
        lambda w, _who: (f"/exits/{_exit(w, _member(w, open_reimbursement=True))}/reimbursements/close", {"evidence": "settled (BX-1)"}),
    ),
    ("POST", "/exits/{exit_id}/signoff"): ("it", Action.ATTEST_IT, lambda w, _who: (f"/exits/{_exit(w, _member(w))}/signoff", {"role": "it"})),
    ("POST", "/inbox/unlock/{member_id}"): ("super", Action.FREEZE, lambda w, _who: (f"/inbox/unlock/{_member(w)}", {})),
    ("POST", "/members/{member_id}/freeze"): ("it", Action.FREEZE, lambda w, _who: (f"/members/{_member(w)}/freeze", {"reason": "phone lost"})),
    ("POST", "/freeze"): ("it", Action.FREEZE, lambda w, _who: ("/freeze", {"userid": _userid(w, _member(w)), "reason": "phone lost"})),
    ("POST", "/members/{member_id}/unfreeze"): ("super", Action.FREEZE, lambda w, who: (f"/members/{_frozen(w)}/unfreeze", {"totp": _fresh_code(w, who)})),
    ("POST", "/me/exit"): ("member", Action.VOLUNTARY_EXIT, lambda w, who: ("/me/exit", {"reason": "new job", "confirm": w.a[who].userid})),
    ("POST", "/settings/policy"): ("super", Action.MANAGE_ADMINS, lambda w, _who: ("/settings/policy", {"customer_limit": "15000"})),
    ("POST", "/members/{member_id}/rollback"): (
        "super",
        Action.MANAGE_ADMINS,
        lambda w, who: (f"/members/{_member(w)}/rollback", {"since": "2026-01-01", "plan": "0" * 16, "totp": _fresh_code(w, who)}),
    ),
    ("POST", "/exits/bulk"): (
        "hr",
        Action.START_REMOVAL,
        lambda w, _who: ("/exits/bulk", {"reason_category": "dismissal", "reason": "test", "file": ("departures.csv", f"userid\n{_userid(w, _member(w))}\n".encode(), "text/csv")}),
    ),
    ("POST", "/jobs/{job_id}/confirm"): ("hr", Action.START_REMOVAL, lambda w, _who: (f"/jobs/{_job(w)}/confirm", {})),
    ("POST", "/jobs/{job_id}/cancel"): ("hr", Action.START_REMOVAL, lambda w, _who: (f"/jobs/{_job(w)}/cancel", {})),
    ("POST", "/handover"): ("super", Action.MANAGE_ADMINS, lambda w, who: ("/handover", {"to": _userid(w, _member(w)), "totp": _fresh_code(w, who)})),
    ("POST", "/handover/backup"): ("super", Action.MANAGE_ADMINS, lambda w, _who: ("/handover/backup", {"member": _userid(w, _member(w))})),
    ("POST", "/handover/backup/remove"): ("super", Action.MANAGE_ADMINS, lambda w, _who: ("/handover/backup/remove", {})),
    ("POST", "/members/{member_id}/data/holds"): ("super", Action.LEGAL_HOLD, lambda w, _who: (f"/members/{_member(w)}/data/holds", {"reason": "case 2026-1", "kinds": "chat"})),
    ("POST", "/members/{member_id}/data/holds/{hold_id}/release"): (
        "super",
        Action.LEGAL_HOLD,
        lambda w, _who: ("/members/{}/data/holds/{}/release".format(*_held(w)), {"reason": "case closed"}),
    ),
    ("POST", "/members/{member_id}/data/erasure"): (
        "hr",
        Action.DATA_REQUESTS,
        lambda w, _who: (f"/members/{_member(w)}/data/erasure", {"reason": "asked by the member", "verified": "signed form checked"}),
    ),
    ("POST", "/me/data/erasure"): ("hr", Action.DATA_REQUESTS, lambda w, _who: ("/me/data/erasure", {"reason": "please erase my data"})),
    ("POST", "/members/{member_id}/data/chats"): ("super", Action.READ_DEPARTED_CHATS, lambda w, _who: (f"/members/{w.a.extra['leaver']}/data/chats", {"reason": "case 2026-1"})),
    ("POST", "/settings/webhooks"): ("super", Action.MANAGE_TOKENS, lambda w, _who: ("/settings/webhooks", {"url": f"https://{fresh('h')}.alpha.example/hooks", "events": "*"})),
    ("POST", "/settings/webhooks/{webhook_id}/pause"): ("super", Action.MANAGE_TOKENS, lambda w, _who: (f"/settings/webhooks/{_webhook(w)}/pause", {})),
    ("POST", "/settings/webhooks/{webhook_id}/resume"): ("super", Action.MANAGE_TOKENS, lambda w, _who: (f"/settings/webhooks/{_webhook(w)}/resume", {})),
    ("POST", "/settings/webhooks/{webhook_id}/remove"): ("super", Action.MANAGE_TOKENS, lambda w, _who: (f"/settings/webhooks/{_webhook(w)}/remove", {})),
    ("POST", "/settings/webhooks/{webhook_id}/test"): ("super", Action.MANAGE_TOKENS, lambda w, _who: (f"/settings/webhooks/{_webhook(w)}/test", {})),
    ("POST", "/settings/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"): (
        "super",
        Action.MANAGE_TOKENS,
        lambda w, _who: ("/settings/webhooks/{}/deliveries/{}/resend".format(*_given_up(w)), {}),
    ),
    # Exit requests (离职申请): A starts exits by hand, so filing and approving are refused on the
    # mode (409) once the permission is checked; HR files and withdraws their own (a role holder,
    # prompted for the code like any member who has one).
    ("POST", "/me/exit-requests"): ("hr", Action.VOLUNTARY_EXIT, lambda w, _who: ("/me/exit-requests", {"leave_date": "2026-12-31", "reason": "new job", "reason_category": "resignation"})),
    ("POST", "/exit-requests/{exit_request_id}/withdraw"): ("hr", Action.VOLUNTARY_EXIT, lambda w, who: (f"/exit-requests/{_own_exit_request(w, who)}/withdraw", {})),
    ("POST", "/exit-requests/{exit_request_id}/approve"): ("hr", Action.DECIDE_EXIT_REQUESTS, lambda w, _who: (f"/exit-requests/{_exit_request(w)}/approve", {"comment": "ok"})),
    ("POST", "/exit-requests/{exit_request_id}/reject"): ("hr", Action.DECIDE_EXIT_REQUESTS, lambda w, _who: (f"/exit-requests/{_exit_request(w)}/reject", {"comment": "stay"})),
}


def _post(client, url: str, fields: dict):
    """A console form as a browser sends it: multipart when it carries a file."""
    files = {k: v for k, v in fields.items() if isinstance(v, tuple)}
    return client.post(url, data={k: v for k, v in fields.items() if k not in files}, files=files or None)


CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def _console_posts(world: World) -> set[tuple[str, str]]:
    return {(m, p) for m, p, _r in routes(world.app) if m == "POST" and not p.startswith("/api/") and not p.startswith("/scim")}


@decided_in_python
def test_spec_3_2_every_console_form_is_walked_or_has_a_reason(world):
    posts = _console_posts(world)
    assert posts - set(CONSOLE_FORMS) - set(CONSOLE_SIGN_IN) - set(CONSOLE_WITHOUT_ACTION) == set(), "give each new console form a valid request in CONSOLE_FORMS"
    assert set(CONSOLE_FORMS) | set(CONSOLE_SIGN_IN) | set(CONSOLE_WITHOUT_ACTION) <= posts, "CONSOLE_FORMS names a form the console does not serve"


@decided_in_python
@pytest.mark.parametrize("route", list(CONSOLE_FORMS), ids=" ".join)
def test_spec_3_2_every_console_form_reaches_an_action_that_checks_its_permission(world, checks, route):
    who, action, form = CONSOLE_FORMS[route]
    client = world.client()
    csrf = sign_in(client, world, world.a, who)
    url, fields = form(world, who)
    checks.clear()
    response = _post(client, url, {**fields, "csrf": csrf})
    assert response.status_code < 500 and response.status_code not in (401, 403), f"{route}: {response.status_code} {response.text[:300]}"
    assert "/reverify" not in response.headers.get("location", ""), f"{route}: asked to re-verify right after signing in"
    assert checked_in_actions(checks, action), f"{route}: no action checked {action}; checks seen: {checks}"


# --- the sensitive set, read by the action layer ----------------------------------------------------


def test_spec_3_2_the_sensitive_set_names_actions_and_spares_the_restore():
    assert SENSITIVE <= set(Action)
    assert Action.RESTORE not in SENSITIVE, "a restore asks for a code of its own (R-EXIT-6)"
    assert Action.READ_DIRECTORY not in SENSITIVE and Action.PLAN_EXIT not in SENSITIVE


# The forms that ask for the code in place and then finish (issue 9, offboard.web.reverify); the
# others learn it from the action's refusal and send the person to /reverify, then back.
REVERIFIED_IN_PLACE = {
    ("POST", "/exits"),
    ("POST", "/exits/{exit_id}/inherit"),
    ("POST", "/exits/{exit_id}/ledger/bulk"),
    ("POST", "/exits/{exit_id}/ledger/bulk/confirm"),
    ("POST", "/exits/{exit_id}/signoff"),
    ("POST", "/exits/{exit_id}/checklist/{item}/attest"),
    ("POST", "/exits/{exit_id}/grants/ack"),
    ("POST", "/exits/{exit_id}/reimbursements/close"),
    ("POST", "/inbox/unlock/{member_id}"),
    ("POST", "/members/{member_id}/freeze"),
    ("POST", "/freeze"),
    ("POST", "/settings/policy"),
    ("POST", "/handover/backup"),
    ("POST", "/handover/backup/remove"),
    ("POST", "/jobs/{job_id}/confirm"),
    ("POST", "/jobs/{job_id}/cancel"),
    ("POST", "/members/{member_id}/data/holds"),
    ("POST", "/members/{member_id}/data/holds/{hold_id}/release"),
    ("POST", "/members/{member_id}/data/erasure"),
    ("POST", "/me/data/erasure"),
    ("POST", "/members/{member_id}/data/chats"),
    ("POST", "/settings/webhooks"),
    ("POST", "/settings/webhooks/{webhook_id}/pause"),
    ("POST", "/settings/webhooks/{webhook_id}/resume"),
    ("POST", "/settings/webhooks/{webhook_id}/remove"),
    ("POST", "/settings/webhooks/{webhook_id}/test"),
    ("POST", "/settings/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"),
    ("POST", "/me/exit-requests"),
    ("POST", "/exit-requests/{exit_request_id}/withdraw"),
    ("POST", "/exit-requests/{exit_request_id}/approve"),
    ("POST", "/exit-requests/{exit_request_id}/reject"),
}
# The forms whose action takes a code of its own, typed into the form itself (as a restore's):
# that code is the second factor of the change, so no earlier one is asked for.
OWN_CODE = {("POST", "/members/{member_id}/rollback"), ("POST", "/members/{member_id}/unfreeze"), ("POST", "/handover")}
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


@decided_in_python
@pytest.mark.parametrize(
    "route",
    [r for r, (_who, action, _f) in CONSOLE_FORMS.items() if action in SENSITIVE and r != ("POST", "/me/exit") and r not in OWN_CODE],
    ids=" ".join,
)
def test_spec_3_2_a_sensitive_console_form_after_five_minutes_asks_for_the_code_and_changes_nothing(world, route):
    who, _action, form = CONSOLE_FORMS[route]
    client = world.client()
    csrf = sign_in(client, world, world.a, who)
    url, fields = form(world, who)
    world.clock.advance(minutes=6)
    before = audit_seq(world.services, world.a.slug)
    response = _post(client, url, {**fields, "csrf": csrf})
    assert audit_seq(world.services, world.a.slug) == before, f"{route}: asked for the code, yet something changed"
    if route not in REVERIFIED_IN_PLACE:
        assert response.status_code == 303 and response.headers["location"].startswith("/reverify?next="), f"{route}: {response.status_code} {response.headers}"
        return
    assert response.status_code == 200 and f'action="{url}"' in response.text and 'name="reverify_code"' in response.text, f"{route}: {response.status_code} {response.text[:300]}"
    carried = [(html.unescape(name), html.unescape(value)) for name, value in HIDDEN_INPUT.findall(response.text.split('class="stack">', 1)[1])]
    assert carried == [(k, str(v)) for k, v in {**fields, "csrf": csrf}.items()], f"{route}: carried {carried}"
    world.clock.advance(seconds=30)
    done = client.post(url, data={**dict(carried), "reverify_code": world.a[who].code(world.clock)})
    # Done, or refused on the data (nobody to unlock: 409), but not asked for the code again.
    assert done.status_code < 500 and done.status_code not in (401, 403) and "reverify_code" not in done.text, f"{route}: {done.status_code} {done.text[:300]}"
    assert "auth.second_factor_verified" in actions_since(world.services, world.a.slug, before), route


@decided_in_python
def test_spec_3_2_an_api_session_past_five_minutes_is_refused_by_the_action_not_the_route(world, checks):
    """A console session calling the JSON API (the console's own scripts do): the refusal comes
    from the action (authz.require_fresh called from offboard.actions), as reverification_required."""
    client = world.client()
    csrf = sign_in(client, world, world.a, "hr")
    exit_id = _exit(world, _member(world, customers=1))
    world.clock.advance(minutes=6)
    checks.clear()
    before = audit_seq(world.services, world.a.slug)
    response = client.post(f"/api/v1/exits/{exit_id}/inherit", json={"kind": "external_contact", "to": "alpha-member"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 401 and response.json()["error"] == "reverification_required", response.text
    assert any(module.startswith("offboard.actions.") and action == Action.INHERIT for module, action in checks if module), checks
    assert audit_seq(world.services, world.a.slug) == before
    world.clock.advance(seconds=30)
    assert client.post("/api/v1/me/reverify", json={"code": world.a["hr"].code(world.clock)}, headers={"X-CSRF-Token": csrf}).status_code == 204
    again = client.post(f"/api/v1/exits/{exit_id}/inherit", json={"kind": "external_contact", "to": "alpha-member"}, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 200, again.text


@decided_in_python
def test_spec_3_2_a_token_is_not_prompted_and_a_member_without_roles_has_nothing_to_give(world, client):
    headers = token_headers(world, "hr", list(SCOPES))
    exit_id = _exit(world, _member(world, customers=1))
    world.clock.advance(minutes=30)
    response = client.post(f"/api/v1/exits/{exit_id}/inherit", json={"kind": "external_contact", "to": "alpha-member"}, headers=headers)
    assert response.status_code == 200, response.text
    member = world.client()
    csrf = sign_in(member, world, world.a, "member")
    world.clock.advance(minutes=30)
    own = _own_scheduled_exit(world, "member")
    cancelled = member.post(f"/exits/{own}/cancel", data={"csrf": csrf})
    assert cancelled.status_code == 303 and "/reverify" not in cancelled.headers["location"], cancelled.headers


def test_spec_3_2_reverify_after_is_five_minutes():
    assert authz.REVERIFY_AFTER == timedelta(minutes=5)
