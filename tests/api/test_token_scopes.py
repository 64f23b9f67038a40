"""SPEC §3.2 over HTTP: "Token scopes use the action names above." Every action checks the
bearer token's scopes, on every /api/v1 route.

The finding this file pins down: tokens of the HR and IT personas scoped only to
`read_directory` signed off an exit as HR and as IT (200). So every route is walked with a
token that lacks exactly the scope its action needs, held by the person (or service token)
who may otherwise do it:

- refused: 403 JSON {"error": "scope_missing", "message": ...}, the English message naming the
  missing scope, and nothing changed (the tenant's audit chain, written by every change, INV-5,
  did not grow);
- the same request with a token lacking only an unrelated scope is not refused for scope
  (whatever else it answers).

`ROUTE_SCOPE` is the table of which scope each route needs, read off the route and the action
it calls; a new route without an entry fails `test_route_scope_table_covers_every_api_route`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from offboard.queries import checklist as cl_queries
from offboard.actions import holds
from offboard.actions import checklist as cl_actions
from offboard.actions import exits as exit_actions
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions import webhooks as webhook_actions
from offboard.actions.context import tenant_transaction
from offboard.domain.authz import Action
from offboard.store import exit_requests as er_store
from offboard.store import ids, repo
from offboard.store.tables import app_grants, external_contacts, reimbursements, webhook_deliveries
from tests.api.conftest import World, api_operations, file_exit_request, fresh, planned_bulk_exit
from tests.support.db import audit_seq

# Who may do what is decided in Python (offboard.domain.authz) from the token's scopes.
decided_in_python = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SCOPES = tuple(token_actions.SCOPES)
EN = {"Accept-Language": "en"}

# (method, path template) -> the scope (an Action value) the route's action always checks, or
# None when the route needs none. Where the action depends on the body or on the row, the value
# is the one for the request the walk below makes (see CASES and VARIANTS for the others).
ROUTE_SCOPE: dict[tuple[str, str], str | None] = {
    # Tenants are the operator's (an operator token carries no scopes); no tenant token can hold
    # tenant_admin (it is not in tokens.SCOPES), so every tenant-bound token is refused here.
    ("GET", "/api/v1/tenants"): Action.TENANT_ADMIN.value,
    ("POST", "/api/v1/tenants"): Action.TENANT_ADMIN.value,
    ("GET", "/api/v1/departments"): Action.READ_DIRECTORY.value,
    ("POST", "/api/v1/departments"): Action.MANAGE_DIRECTORY.value,
    # move_department / set_leader, then the tree is read back (read_directory as well).
    ("PATCH", "/api/v1/departments/{department_id}"): Action.MANAGE_DIRECTORY.value,
    ("GET", "/api/v1/members"): Action.READ_DIRECTORY.value,
    # add_member, then show_member reads it back (read_directory as well).
    ("POST", "/api/v1/members"): Action.MANAGE_DIRECTORY.value,
    # show_member of someone else (one's own entry needs no scope).
    ("GET", "/api/v1/members/{member_id}"): Action.READ_DIRECTORY.value,
    ("PATCH", "/api/v1/members/{member_id}"): Action.MANAGE_DIRECTORY.value,
    ("POST", "/api/v1/members/{member_id}/roles"): Action.MANAGE_ADMINS.value,
    ("POST", "/api/v1/members/{member_id}/unlock"): Action.FREEZE.value,
    ("POST", "/api/v1/members/{member_id}/freeze"): Action.FREEZE.value,
    ("GET", "/api/v1/members/{member_id}/rollback"): Action.MANAGE_ADMINS.value,
    ("POST", "/api/v1/members/{member_id}/rollback"): Action.MANAGE_ADMINS.value,
    ("POST", "/api/v1/members/{member_id}/unfreeze"): Action.FREEZE.value,
    ("POST", "/api/v1/handovers"): Action.MANAGE_ADMINS.value,
    # The nominee accepts, the old super admin cancels and reverts as themself: the handover row
    # names who may, no scope does.
    ("POST", "/api/v1/handovers/accept"): None,
    ("POST", "/api/v1/handovers/cancel"): None,
    ("POST", "/api/v1/handovers/revert"): None,
    # Either party of the latest handover reads it; anyone else needs manage_admins.
    ("GET", "/api/v1/handovers/current"): Action.MANAGE_ADMINS.value,
    ("PUT", "/api/v1/backup-admin"): Action.MANAGE_ADMINS.value,
    ("DELETE", "/api/v1/backup-admin"): Action.MANAGE_ADMINS.value,
    ("DELETE", "/api/v1/members/{member_id}/roles/{role}"): Action.MANAGE_ADMINS.value,
    # list_tokens checks no action: a member sees their own tokens, a super admin all of them.
    ("GET", "/api/v1/tokens"): None,
    # A service token needs manage_tokens; a personal one only no escalation (the walk's body
    # asks for a service token).
    ("POST", "/api/v1/tokens"): Action.MANAGE_TOKENS.value,
    # Revoking someone else's token or a service token needs manage_tokens; one's own, none.
    ("DELETE", "/api/v1/tokens/{token_id}"): Action.MANAGE_TOKENS.value,
    ("POST", "/api/v1/members/{member_id}/exit-plans"): Action.PLAN_EXIT.value,
    # type defaults to removal (voluntary needs voluntary_exit, and only for oneself).
    ("POST", "/api/v1/exits"): Action.START_REMOVAL.value,
    ("POST", "/api/v1/me/exit"): Action.VOLUNTARY_EXIT.value,
    ("GET", "/api/v1/exits"): Action.READ_DIRECTORY.value,
    ("GET", "/api/v1/exits/{exit_id}"): Action.READ_DIRECTORY.value,
    ("GET", "/api/v1/exits/{exit_id}/ledger"): Action.READ_DIRECTORY.value,
    # Whoever may read the exit may export it (and the export is audited).
    ("GET", "/api/v1/exits/{exit_id}/export/{what}.{fmt}"): Action.READ_DIRECTORY.value,
    # remove for a scheduled removal, voluntary_exit for a scheduled voluntary exit (VARIANTS).
    ("POST", "/api/v1/exits/{exit_id}/cancel"): Action.START_REMOVAL.value,
    ("POST", "/api/v1/exits/{exit_id}/reschedule"): Action.START_REMOVAL.value,
    ("POST", "/api/v1/exits/{exit_id}/restore"): Action.RESTORE.value,
    ("POST", "/api/v1/exits/{exit_id}/inherit"): Action.INHERIT.value,
    ("POST", "/api/v1/transfers/{correlation_id}/result"): Action.INHERIT.value,
    ("POST", "/api/v1/exits/{exit_id}/ledger/bulk"): Action.INHERIT.value,
    ("POST", "/api/v1/exits/bulk"): Action.START_REMOVAL.value,
    # The HR feed (refused with exit_trigger_disabled after the scope check where exits start by hand).
    ("POST", "/api/v1/departures"): Action.START_REMOVAL.value,
    ("GET", "/api/v1/departures"): Action.READ_DIRECTORY.value,
    # A job's creator reads it with any scope; anyone else needs remove (the walk's job is the operator's).
    ("GET", "/api/v1/jobs/{job_id}"): Action.START_REMOVAL.value,
    ("POST", "/api/v1/jobs/{job_id}/confirm"): Action.START_REMOVAL.value,
    ("POST", "/api/v1/jobs/{job_id}/cancel"): Action.START_REMOVAL.value,
    ("GET", "/api/v1/exits/{exit_id}/checklist"): Action.READ_DIRECTORY.value,
    # By the item's owner: access_revoked (item 12) is IT's; a custom HR item is HR's (VARIANTS).
    ("POST", "/api/v1/exits/{exit_id}/checklist/{item}/attest"): Action.ATTEST_IT.value,
    ("POST", "/api/v1/exits/{exit_id}/grants/ack"): Action.ATTEST_IT.value,
    ("POST", "/api/v1/exits/{exit_id}/reimbursements/close"): Action.ATTEST_HR.value,
    # §3.2 "attest / sign off HR items": attest_hr as hr, attest_it as it (VARIANTS).
    ("POST", "/api/v1/exits/{exit_id}/signoff"): Action.ATTEST_HR.value,
    ("GET", "/api/v1/checklist/board"): Action.READ_DIRECTORY.value,
    ("GET", "/api/v1/dashboard"): Action.READ_DIRECTORY.value,
    # The caller's own things: identity, inbox, re-verification of a console session.
    ("GET", "/api/v1/me/inbox"): None,
    ("GET", "/api/v1/audit"): Action.READ_AUDIT.value,
    ("GET", "/api/v1/outbox"): Action.READ_AUDIT.value,
    ("GET", "/api/v1/policy"): Action.READ_DIRECTORY.value,
    ("PATCH", "/api/v1/policy"): Action.MANAGE_ADMINS.value,
    ("GET", "/api/v1/audit/verify"): Action.READ_AUDIT.value,
    ("GET", "/api/v1/members/{member_id}/data"): Action.DATA_REQUESTS.value,
    ("POST", "/api/v1/members/{member_id}/holds"): Action.LEGAL_HOLD.value,
    ("POST", "/api/v1/holds/{hold_id}/release"): Action.LEGAL_HOLD.value,
    ("POST", "/api/v1/members/{member_id}/erasure-requests"): Action.DATA_REQUESTS.value,
    ("GET", "/api/v1/erasure-requests"): Action.DATA_REQUESTS.value,
    ("POST", "/api/v1/members/{member_id}/subject-access"): Action.DATA_REQUESTS.value,
    ("GET", "/api/v1/erasure-requests/{request_id}"): Action.DATA_REQUESTS.value,
    ("GET", "/api/v1/approvals/export"): Action.READ_AUDIT.value,
    # The report reads the audit trail (read_audit, checked first) of a member whose data it shows (data_requests).
    ("POST", "/api/v1/members/{member_id}/compliance-report"): Action.READ_AUDIT.value,
    ("POST", "/api/v1/members/{member_id}/compliance-report.pdf"): Action.READ_AUDIT.value,
    ("GET", "/api/v1/me"): None,
    ("POST", "/api/v1/me/reverify"): None,
    ("GET", "/api/v1/webhooks"): Action.MANAGE_TOKENS.value,
    ("POST", "/api/v1/webhooks"): Action.MANAGE_TOKENS.value,
    ("GET", "/api/v1/webhooks/{webhook_id}"): Action.MANAGE_TOKENS.value,
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): Action.MANAGE_TOKENS.value,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): Action.MANAGE_TOKENS.value,
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): Action.MANAGE_TOKENS.value,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): Action.MANAGE_TOKENS.value,
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/resend"): Action.MANAGE_TOKENS.value,
    # A third-party app's callback carries no token: the endpoint's signature is its credential.
    ("POST", "/api/v1/callbacks/{tenant}/webhooks/{webhook_id}/reauthorized"): None,
    # Exit requests (离职申请): filing and withdrawing one's own is one's voluntary exit; a step is
    # decided with decide_exit_requests; HR reads every request with read_directory (one's own,
    # and what waits for one, need none).
    ("POST", "/api/v1/me/exit-requests"): Action.VOLUNTARY_EXIT.value,
    ("GET", "/api/v1/exit-requests"): Action.READ_DIRECTORY.value,
    ("GET", "/api/v1/exit-requests/{exit_request_id}"): Action.READ_DIRECTORY.value,
    ("POST", "/api/v1/exit-requests/{exit_request_id}/approve"): Action.DECIDE_EXIT_REQUESTS.value,
    ("POST", "/api/v1/exit-requests/{exit_request_id}/reject"): Action.DECIDE_EXIT_REQUESTS.value,
    ("POST", "/api/v1/exit-requests/{exit_request_id}/withdraw"): Action.VOLUNTARY_EXIT.value,
    ("GET", "/api/v1/exit-request-flow"): Action.READ_DIRECTORY.value,
    ("PUT", "/api/v1/exit-request-flow"): Action.MANAGE_ADMINS.value,
}

# Scopes no tenant token can carry: the walk proves the route refuses every tenant token.
NOT_A_TOKEN_SCOPE = {s for s in ROUTE_SCOPE.values() if s is not None and s not in SCOPES}
# A scope no route needs: a token lacking only it must work everywhere.
UNRELATED = next(s for s in SCOPES if s not in set(ROUTE_SCOPE.values()))
# A service token may never do these, whatever its scopes (authz.allowed).
NOT_FOR_SERVICE = {Action.VOLUNTARY_EXIT.value, Action.ATTEST_HR.value, Action.ATTEST_IT.value, Action.READ_DEPARTED_CHATS.value, Action.TENANT_ADMIN.value, Action.DECIDE_EXIT_REQUESTS.value}


# --- building valid requests in tenant A -------------------------------------------------------------


def _member(w: World, dept: int | None = None, roles: tuple[str, ...] = (), *, customers: int = 0, open_reimbursement: bool = False, grants: int = 0) -> int:
    """A new member of A (Sales by default), with what the request needs to be valid."""
    with tenant_transaction(w.services, w.a.slug) as uow:
        member_id = member_actions.add_member(uow, userid=fresh("alpha-s"), name="Alpha Scoped", department_ids=[dept or w.a.sales])
        for role in roles:
            role_actions.grant_role(uow, member_id, role)
        tid, now = uow.tenant_id, uow.now
        for contact in ids.next_ids(uow.conn, external_contacts, tid, customers):
            uow.conn.execute(insert(external_contacts).values(tenant_id=tid, id=contact, owner_id=member_id, version=1, created_at=now, name="Alpha Customer", company="Alpha Client"))
        if open_reimbursement:
            (claim,) = ids.next_ids(uow.conn, reimbursements, tid, 1)
            uow.conn.execute(insert(reimbursements).values(tenant_id=tid, id=claim, member_id=member_id, title="Taxi", amount_cents=4200, status="open", created_at=now))
        for grant in ids.next_ids(uow.conn, app_grants, tid, grants):
            uow.conn.execute(insert(app_grants).values(tenant_id=tid, id=grant, member_id=member_id, app_name="CRM", scopes="customer:read", status="active", granted_at=now))
    return member_id


def _exit(w: World, member_id: int, *, scheduled: bool = False) -> int:
    """A removal started by the operator with no successor (customers stay unassigned)."""
    with tenant_transaction(w.services, w.a.slug) as uow:
        when = uow.now + timedelta(days=7) if scheduled else None
        return exit_actions.start_exit(uow, member_id, type="removal", reason_category="dismissal", reason="test", effective_at=when).id


def _userid(w: World, member_id: int) -> str:
    with w.services.db.read() as conn:
        return repo.member_by_id(conn, w.a.id, member_id).userid


def _job(w: World) -> int:
    """A bulk exit of a new member, planned by the operator and not confirmed."""
    userid = _userid(w, _member(w))
    with tenant_transaction(w.services, w.a.slug) as uow:
        return planned_bulk_exit(uow, [userid])


def _own_scheduled_exit(w: World, who: str) -> int:
    """The voluntary exit that `who` scheduled for themselves (one at a time: reused if refused)."""
    with tenant_transaction(w.services, w.a.slug, w.a[who].userid) as uow:
        if exit_actions._open_exit(uow.conn, uow.tenant_id, w.a[who].member_id) is not None:
            return repo.exit_of(uow.conn, uow.tenant_id, w.a[who].member_id, open_only=True).id
        return exit_actions.start_exit(uow, w.a[who].member_id, type="voluntary", reason_category="resignation", reason="new job", effective_at=uow.now + timedelta(days=7)).id


def _hold(w: World) -> int:
    """A legal hold on a new member, placed by the operator."""
    member_id = _member(w)
    with tenant_transaction(w.services, w.a.slug) as uow:
        return holds.place_hold(uow, member_id, reason="case 2026-2")


def _webhook(w: World) -> int:
    """A new webhook endpoint of A, subscribed by the operator."""
    with tenant_transaction(w.services, w.a.slug) as uow:
        return webhook_actions.create_subscription(uow, url=f"https://{fresh('h')}.alpha.example/hooks", events=["*"]).id


def _delivered(w: World) -> int:
    """A test delivery of a new endpoint, marked given up, so it can be sent again."""
    with tenant_transaction(w.services, w.a.slug) as uow:
        delivery = webhook_actions.send_test(uow, webhook_actions.create_subscription(uow, url=f"https://{fresh('h')}.alpha.example/hooks", events=["*"]).id)
        uow.conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.tenant_id == uow.tenant_id, webhook_deliveries.c.id == delivery).values(state="dead"))
    return delivery


def _exit_request(w: World) -> int:
    """The exit request of a new member (no manager: it waits for HR)."""
    userid = _userid(w, _member(w))
    with tenant_transaction(w.services, w.a.slug) as uow:
        return file_exit_request(uow, userid)


def _own_exit_request(w: World, who: str) -> int:
    """The pending exit request `who` filed for themselves (one at a time: reused while pending)."""
    with w.services.db.read() as conn:
        pending = er_store.pending_of(conn, w.a.id, w.a[who].member_id)
    if pending is not None:
        return pending.id
    with tenant_transaction(w.services, w.a.slug) as uow:
        return file_exit_request(uow, w.a[who].userid)


def _custom_hr_item(w: World) -> str:
    key = fresh("badge_")
    with tenant_transaction(w.services, w.a.slug, w.a["super"].userid) as uow:
        cl_actions.add_item(uow, key, "Badge returned", "hr")
    return key


def _fresh_code(w: World, who: str) -> str:
    """A TOTP code of a new 30 s step (each code is accepted once); a service token has none."""
    if who not in w.a.people:
        return "000000"
    w.clock.advance(seconds=30)
    return w.a[who].code(w.clock)


def token_headers(w: World, who: str, scopes: list[str]) -> dict[str, str]:
    """A new token with exactly `scopes`: personal, created by `who` acting as themselves, or a
    tenant service token (created by the operator) when `who` is "service"."""
    if not scopes:  # refused by create_token now (scopes_required); such tokens predate that rule
        with tenant_transaction(w.services, w.a.slug) as uow:
            plaintext = _scopeless_token(uow, None if who == "service" else w.a[who].member_id)
    elif who == "service":
        with tenant_transaction(w.services, w.a.slug) as uow:
            plaintext = token_actions.create_token(uow, name=fresh("svc "), service=True, scopes=scopes).token
    else:
        with tenant_transaction(w.services, w.a.slug, w.a[who].userid) as uow:
            plaintext = token_actions.create_token(uow, name=fresh(f"{who} "), service=False, scopes=scopes).token
    return {"Authorization": f"Bearer {plaintext}", **EN}


def _scopeless_token(uow, member_id: int | None) -> str:
    from sqlalchemy import insert

    from offboard.crypto.secrets import new_token
    from offboard.store import ids
    from offboard.store.tables import api_tokens

    plaintext, prefix, digest = new_token(uow.tenant_id)
    uow.conn.execute(
        insert(api_tokens).values(
            tenant_id=uow.tenant_id,
            id=ids.next_id(uow.conn, api_tokens, uow.tenant_id),
            member_id=member_id,
            name=fresh("none "),
            prefix=prefix,
            token_hash=digest,
            scopes=[],
            created_by="operator",
            created_at=uow.now,
            expires_at=None,
        )
    )
    return plaintext


def all_but(*missing: str) -> list[str]:
    return [s for s in SCOPES if s not in missing]


Make = Callable[[World, str], tuple[str, str, object]]  # (world, who) -> (method, url, json body)


def _get(url: Callable[[World], str]) -> Make:
    return lambda w, _who: ("GET", url(w), None)


# For every route with a scope: who is otherwise allowed to do it, and a valid request (new
# rows each time, so the refused request and the allowed one do not step on each other).
CASES: dict[tuple[str, str], tuple[str, Make]] = {
    ("GET", "/api/v1/tenants"): ("super", _get(lambda w: "/api/v1/tenants")),
    ("POST", "/api/v1/tenants"): ("super", lambda w, _who: ("POST", "/api/v1/tenants", {"slug": fresh("t-"), "name": "New Co", "admin_userid": "boss", "admin_name": "Boss"})),
    ("GET", "/api/v1/departments"): ("super", _get(lambda w: "/api/v1/departments")),
    ("POST", "/api/v1/departments"): ("super", lambda w, _who: ("POST", "/api/v1/departments", {"name": fresh("Alpha Unit "), "parent_id": w.a.sales})),
    ("PATCH", "/api/v1/departments/{department_id}"): ("super", lambda w, _who: ("PATCH", f"/api/v1/departments/{w.a.extra['lab']}", {"parent_id": w.a.ops})),
    ("GET", "/api/v1/members"): ("super", _get(lambda w: "/api/v1/members")),
    ("POST", "/api/v1/members"): ("super", lambda w, _who: ("POST", "/api/v1/members", {"userid": fresh("alpha-n"), "name": "Alpha New", "department_ids": [w.a.sales]})),
    ("GET", "/api/v1/members/{member_id}"): ("super", _get(lambda w: f"/api/v1/members/{w.a['member'].member_id}")),
    ("PATCH", "/api/v1/members/{member_id}"): ("super", lambda w, _who: ("PATCH", f"/api/v1/members/{_member(w)}", {"title": "Lead"})),
    ("POST", "/api/v1/members/{member_id}/roles"): ("super", lambda w, _who: ("POST", f"/api/v1/members/{_member(w)}/roles", {"role": "it"})),
    ("POST", "/api/v1/members/{member_id}/unlock"): ("super", lambda w, _who: ("POST", f"/api/v1/members/{_member(w)}/unlock", None)),
    ("POST", "/api/v1/members/{member_id}/freeze"): ("super", lambda w, _who: ("POST", f"/api/v1/members/{_member(w)}/freeze", {"reason": "phone lost"})),
    ("GET", "/api/v1/members/{member_id}/rollback"): ("super", _get(lambda w: f"/api/v1/members/{_member(w)}/rollback?since=2026-01-01")),
    ("POST", "/api/v1/members/{member_id}/rollback"): (
        "super",
        lambda w, who: ("POST", f"/api/v1/members/{_member(w)}/rollback", {"since": "2026-01-01", "totp": _fresh_code(w, who), "plan": "0" * 16}),
    ),
    ("POST", "/api/v1/members/{member_id}/unfreeze"): ("super", lambda w, who: ("POST", f"/api/v1/members/{_member(w)}/unfreeze", {"totp": _fresh_code(w, who)})),
    ("POST", "/api/v1/handovers"): ("super", lambda w, who: ("POST", "/api/v1/handovers", {"to": _userid(w, _member(w)), "totp": _fresh_code(w, who)})),
    ("GET", "/api/v1/handovers/current"): ("super", _get(lambda w: "/api/v1/handovers/current")),
    ("PUT", "/api/v1/backup-admin"): ("super", lambda w, _who: ("PUT", "/api/v1/backup-admin", {"member": _userid(w, _member(w))})),
    ("DELETE", "/api/v1/backup-admin"): ("super", lambda w, _who: ("DELETE", "/api/v1/backup-admin", None)),
    ("DELETE", "/api/v1/members/{member_id}/roles/{role}"): ("super", lambda w, _who: ("DELETE", f"/api/v1/members/{_member(w, roles=('hr',))}/roles/hr", None)),
    ("POST", "/api/v1/tokens"): ("super", lambda w, _who: ("POST", "/api/v1/tokens", {"name": fresh("probe "), "service": True, "scopes": ["read_directory"]})),
    ("DELETE", "/api/v1/tokens/{token_id}"): ("super", lambda w, _who: ("DELETE", f"/api/v1/tokens/{w.a.extra['lab_hr_token']}", None)),
    ("POST", "/api/v1/members/{member_id}/exit-plans"): ("super", lambda w, _who: ("POST", f"/api/v1/members/{_member(w)}/exit-plans", {})),
    ("POST", "/api/v1/exits"): ("super", lambda w, _who: ("POST", "/api/v1/exits", {"member_id": _member(w), "reason_category": "dismissal", "reason": "test"})),
    ("POST", "/api/v1/me/exit"): ("member", lambda w, _who: ("POST", "/api/v1/me/exit", {"reason": "new job"})),
    ("GET", "/api/v1/exits"): ("super", _get(lambda w: "/api/v1/exits")),
    ("GET", "/api/v1/exits/{exit_id}"): ("super", _get(lambda w: f"/api/v1/exits/{w.a.extra['exit']}")),
    ("GET", "/api/v1/exits/{exit_id}/ledger"): ("super", _get(lambda w: f"/api/v1/exits/{w.a.extra['exit']}/ledger")),
    ("GET", "/api/v1/exits/{exit_id}/export/{what}.{fmt}"): ("super", _get(lambda w: f"/api/v1/exits/{w.a.extra['exit']}/export/ledger.csv")),
    ("POST", "/api/v1/exits/{exit_id}/cancel"): ("super", lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w), scheduled=True)}/cancel", None)),
    ("POST", "/api/v1/exits/{exit_id}/reschedule"): (
        "super",
        lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w), scheduled=True)}/reschedule", {"effective_at": (w.clock.now() + timedelta(days=9)).isoformat()}),
    ),
    ("POST", "/api/v1/exits/{exit_id}/restore"): ("super", lambda w, who: ("POST", f"/api/v1/exits/{_exit(w, _member(w))}/restore", {"totp": _fresh_code(w, who), "reason": "removed by mistake"})),
    ("POST", "/api/v1/exits/{exit_id}/inherit"): ("super", lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w, customers=1))}/inherit", {"kind": "external_contact", "to": "alpha-member"})),
    ("POST", "/api/v1/transfers/{correlation_id}/result"): ("super", lambda w, _who: ("POST", f"/api/v1/transfers/{w.a.extra['correlation_id']}/result", {"state": "refused"})),
    ("POST", "/api/v1/exits/{exit_id}/ledger/bulk"): (
        "super",
        lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w, customers=1))}/ledger/bulk", {"action": "inherit", "to": "alpha-member", "everything": True}),
    ),
    ("POST", "/api/v1/exits/bulk"): ("super", lambda w, _who: ("POST", "/api/v1/exits/bulk", {"departures": [{"userid": _userid(w, _member(w))}], "reason_category": "dismissal", "reason": "test"})),
    ("POST", "/api/v1/departures"): ("super", lambda w, _who: ("POST", "/api/v1/departures", {"departures": [{"userid": _userid(w, _member(w)), "leave_date": "2026-12-31"}]})),
    ("GET", "/api/v1/departures"): ("super", _get(lambda w: "/api/v1/departures")),
    ("GET", "/api/v1/jobs/{job_id}"): ("super", _get(lambda w: f"/api/v1/jobs/{_job(w)}")),
    ("POST", "/api/v1/jobs/{job_id}/confirm"): ("super", lambda w, _who: ("POST", f"/api/v1/jobs/{_job(w)}/confirm", None)),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): ("super", lambda w, _who: ("POST", f"/api/v1/jobs/{_job(w)}/cancel", None)),
    ("GET", "/api/v1/exits/{exit_id}/checklist"): ("super", _get(lambda w: f"/api/v1/exits/{w.a.extra['exit']}/checklist")),
    ("POST", "/api/v1/exits/{exit_id}/checklist/{item}/attest"): (
        "it",
        lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w))}/checklist/access_revoked/attest", {"evidence": "laptop returned"}),
    ),
    ("POST", "/api/v1/exits/{exit_id}/grants/ack"): ("it", lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w, grants=1))}/grants/ack", {"evidence": "CRM told to re-authorize"})),
    ("POST", "/api/v1/exits/{exit_id}/reimbursements/close"): (
        "hr",
        lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w, open_reimbursement=True))}/reimbursements/close", {"evidence": "settled (BX-1)"}),
    ),
    ("POST", "/api/v1/exits/{exit_id}/signoff"): ("hr", lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w))}/signoff", {"role": "hr"})),
    ("GET", "/api/v1/checklist/board"): ("super", _get(lambda w: "/api/v1/checklist/board")),
    ("GET", "/api/v1/dashboard"): ("super", _get(lambda w: "/api/v1/dashboard")),
    ("GET", "/api/v1/audit"): ("super", _get(lambda w: "/api/v1/audit")),
    ("GET", "/api/v1/outbox"): ("super", _get(lambda w: "/api/v1/outbox")),
    ("GET", "/api/v1/policy"): ("super", _get(lambda w: "/api/v1/policy")),
    ("PATCH", "/api/v1/policy"): ("super", lambda w, _who: ("PATCH", "/api/v1/policy", {"customer_limit": 15000})),
    ("GET", "/api/v1/audit/verify"): ("super", _get(lambda w: "/api/v1/audit/verify")),
    ("GET", "/api/v1/members/{member_id}/data"): ("super", _get(lambda w: f"/api/v1/members/{w.a.extra['leaver']}/data")),
    ("POST", "/api/v1/members/{member_id}/holds"): ("super", lambda w, _who: ("POST", f"/api/v1/members/{_member(w)}/holds", {"reason": "case 2026-1"})),
    ("POST", "/api/v1/holds/{hold_id}/release"): ("super", lambda w, _who: ("POST", f"/api/v1/holds/{_hold(w)}/release", {"reason": "case closed"})),
    ("POST", "/api/v1/members/{member_id}/erasure-requests"): (
        "super",
        lambda w, _who: ("POST", f"/api/v1/members/{_member(w)}/erasure-requests", {"reason": "asked by the member", "verified": "signed form checked"}),
    ),
    ("GET", "/api/v1/erasure-requests"): ("super", _get(lambda w: "/api/v1/erasure-requests")),
    ("POST", "/api/v1/members/{member_id}/subject-access"): ("super", lambda w, _who: ("POST", f"/api/v1/members/{w.a.extra['leaver']}/subject-access", {"verified": "signed form"})),
    ("GET", "/api/v1/erasure-requests/{request_id}"): ("super", _get(lambda w: f"/api/v1/erasure-requests/{w.a.extra['erasure']}")),
    ("GET", "/api/v1/approvals/export"): ("super", _get(lambda w: "/api/v1/approvals/export?format=json")),
    ("POST", "/api/v1/members/{member_id}/compliance-report"): ("super", lambda w, _who: ("POST", f"/api/v1/members/{w.a.extra['leaver']}/compliance-report", None)),
    ("POST", "/api/v1/members/{member_id}/compliance-report.pdf"): ("super", lambda w, _who: ("POST", f"/api/v1/members/{w.a.extra['leaver']}/compliance-report.pdf", None)),
    ("GET", "/api/v1/webhooks"): ("super", _get(lambda w: "/api/v1/webhooks")),
    ("POST", "/api/v1/webhooks"): ("super", lambda w, _who: ("POST", "/api/v1/webhooks", {"url": f"https://{fresh('h')}.alpha.example/hooks", "events": ["member.exited"]})),
    ("GET", "/api/v1/webhooks/{webhook_id}"): ("super", _get(lambda w: f"/api/v1/webhooks/{w.a.extra['webhook']}")),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): ("super", lambda w, _who: ("PATCH", f"/api/v1/webhooks/{_webhook(w)}", {"description": fresh("CRM ")})),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): ("super", lambda w, _who: ("DELETE", f"/api/v1/webhooks/{_webhook(w)}", None)),
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): ("super", lambda w, _who: ("POST", f"/api/v1/webhooks/{_webhook(w)}/test", None)),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): ("super", _get(lambda w: f"/api/v1/webhooks/{w.a.extra['webhook']}/deliveries")),
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/resend"): ("super", lambda w, _who: ("POST", f"/api/v1/webhooks/deliveries/{_delivered(w)}/resend", None)),
    # A's enterprise starts exits by hand: with the scope, filing and approving answer 409.
    ("POST", "/api/v1/me/exit-requests"): ("member", lambda w, _who: ("POST", "/api/v1/me/exit-requests", {"leave_date": "2026-12-31", "reason": "new job"})),
    ("GET", "/api/v1/exit-requests"): ("hr", _get(lambda w: "/api/v1/exit-requests")),
    ("GET", "/api/v1/exit-requests/{exit_request_id}"): ("hr", _get(lambda w: f"/api/v1/exit-requests/{w.a.extra['exit_request']}")),
    ("POST", "/api/v1/exit-requests/{exit_request_id}/approve"): ("hr", lambda w, _who: ("POST", f"/api/v1/exit-requests/{_exit_request(w)}/approve", {"comment": "ok"})),
    ("POST", "/api/v1/exit-requests/{exit_request_id}/reject"): ("hr", lambda w, _who: ("POST", f"/api/v1/exit-requests/{_exit_request(w)}/reject", {"comment": "stay"})),
    ("POST", "/api/v1/exit-requests/{exit_request_id}/withdraw"): ("member", lambda w, who: ("POST", f"/api/v1/exit-requests/{_own_exit_request(w, who)}/withdraw", None)),
    ("GET", "/api/v1/exit-request-flow"): ("super", _get(lambda w: "/api/v1/exit-request-flow")),
    ("PUT", "/api/v1/exit-request-flow"): ("super", lambda w, _who: ("PUT", "/api/v1/exit-request-flow", {"steps": ["manager", "hr"]})),
}

# Routes whose scope depends on the body or the row: the other cases, (route, scope, who, request).
VARIANTS: list[tuple[tuple[str, str], str, str, Make]] = [
    (("POST", "/api/v1/exits/{exit_id}/signoff"), Action.ATTEST_IT.value, "it", lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w))}/signoff", {"role": "it"})),
    (
        ("POST", "/api/v1/exits/{exit_id}/checklist/{item}/attest"),
        Action.ATTEST_HR.value,
        "hr",
        lambda w, _who: ("POST", f"/api/v1/exits/{_exit(w, _member(w))}/checklist/{_custom_hr_item(w)}/attest", {"evidence": "badge #42 returned"}),
    ),
    (("POST", "/api/v1/exits/{exit_id}/cancel"), Action.VOLUNTARY_EXIT.value, "member", lambda w, who: ("POST", f"/api/v1/exits/{_own_scheduled_exit(w, who)}/cancel", None)),
]

WALK = [(route, scope, *CASES[route]) for route, scope in ROUTE_SCOPE.items() if scope is not None and route in CASES] + VARIANTS
SERVICE_WALK = [(route, scope, "service", make) for route, scope, _who, make in WALK if scope not in NOT_FOR_SERVICE]


def _label(case) -> str:
    (method, path), scope = case[0], case[1]
    return f"{method} {path} [{scope}]"


# --- checks ------------------------------------------------------------------------------------------


def assert_scope_missing(response, scope: str, label: str) -> None:
    assert response.status_code == 403, f"{label}: {response.status_code}, want 403 scope_missing: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), f"{label}: not JSON"
    body = response.json()
    assert body["error"] == "scope_missing", f"{label}: error {body['error']!r}, want 'scope_missing': {body['message']}"
    assert scope in body["message"], f"{label}: message does not name the missing scope {scope}: {body['message']}"


def assert_not_refused_for_scope(response, label: str) -> None:
    assert response.status_code < 500, f"{label}: server error {response.text[:300]}"
    if response.status_code == 403:
        assert response.json()["error"] != "scope_missing", f"{label}: refused for scope: {response.text[:300]}"


def _walk(world: World, client, route, scope: str, who: str, make: Make) -> None:
    label = f"{route[0]} {route[1]} as {who} lacking {scope}"
    if scope in NOT_A_TOKEN_SCOPE:
        # No tenant token can hold it: even one with every scope is refused, and changes nothing.
        headers = token_headers(world, who, list(SCOPES))
        before = audit_seq(world.services, world.a.slug)
        method, url, body = make(world, who)
        refused = client.request(method, url, headers=headers, json=body)
        assert refused.status_code == 403, f"{label}: {refused.status_code}: {refused.text[:300]}"
        assert refused.json()["error"] in ("scope_missing", "operator_only"), refused.text
        assert audit_seq(world.services, world.a.slug) == before, f"{label}: refused, yet the audit chain grew"
        allowed = client.request(method, url, headers={**world.operator(world.a.slug), **EN}, json=body)
        assert allowed.status_code < 300, f"{label}: the operator was refused: {allowed.text[:300]}"
        return

    lacking = token_headers(world, who, all_but(scope))
    method, url, body = make(world, who)
    before = audit_seq(world.services, world.a.slug)
    refused = client.request(method, url, headers=lacking, json=body)
    assert_scope_missing(refused, scope, label)
    assert audit_seq(world.services, world.a.slug) == before, f"{label}: refused, yet the audit chain grew"

    # The same request (new rows, the same kind of target) with the scope and everything it needs.
    holding = token_headers(world, who, all_but(UNRELATED))
    method, url, body = make(world, who)
    assert_not_refused_for_scope(client.request(method, url, headers=holding, json=body), f"{label}, with {scope}")


# --- the tests ---------------------------------------------------------------------------------------


@decided_in_python
def test_route_scope_table_covers_every_api_route(world):
    served = {(method, path) for method, path, _route in api_operations(world.app)}
    assert set(ROUTE_SCOPE) - served == set(), "ROUTE_SCOPE names routes the app does not serve"
    assert served - set(ROUTE_SCOPE) == set(), "add the scope of each new route to ROUTE_SCOPE (None if it needs none)"
    values = {a.value for a in Action}
    assert {s for s in ROUTE_SCOPE.values() if s is not None} <= values, "a scope is an Action value"
    assert NOT_A_TOKEN_SCOPE <= {Action.TENANT_ADMIN.value}
    walked = {route for route, *_ in WALK}
    assert walked == {route for route, scope in ROUTE_SCOPE.items() if scope is not None}, "teach CASES a valid request for each scoped route"
    assert UNRELATED not in {scope for _route, scope, *_ in WALK}


@decided_in_python
@pytest.mark.parametrize("case", WALK, ids=_label)
def test_spec_3_2_a_token_lacking_the_routes_scope_is_refused_with_scope_missing(world, client, case):
    route, scope, who, make = case
    _walk(world, client, route, scope, who, make)


@decided_in_python
@pytest.mark.parametrize("case", SERVICE_WALK, ids=_label)
def test_spec_3_2_a_service_token_lacking_the_routes_scope_is_refused_with_scope_missing(world, client, case):
    """A tenant service token (no person) is narrowed by its scopes the same way."""
    route, scope, who, make = case
    _walk(world, client, route, scope, who, make)


@decided_in_python
@pytest.mark.parametrize("route", [r for r, s in ROUTE_SCOPE.items() if s is None], ids=" ".join)
@pytest.mark.parametrize("who", ["super", "hr", "member", "service"])
def test_spec_3_2_routes_needing_no_scope_take_a_token_with_none(world, client, route, who):
    method, path = route
    body = {"code": "000000"} if path.endswith("/reverify") else None
    response = client.request(method, path, headers=token_headers(world, who, []), json=body)
    assert_not_refused_for_scope(response, f"{method} {path} as {who} with no scopes")


def _exit_ready_for_signoff(world: World) -> int:
    """An exit that took effect, of a member who owned nothing: every item but 11 is done."""
    eid = _exit(world, _member(world))
    with tenant_transaction(world.services, world.a.slug) as uow:
        items = cl_queries.checklist(uow.conn, uow.tenant, uow.actor, eid, uow.now)
    assert items.open_for_signoff == [], items
    return eid


def test_finding_read_directory_tokens_of_hr_and_it_cannot_sign_off_an_exit(world, client):
    """The finding: HR's and IT's tokens scoped only to read_directory signed off as HR and as IT."""
    eid = _exit_ready_for_signoff(world)
    url = f"/api/v1/exits/{eid}/signoff"
    read_only = {who: token_headers(world, who, ["read_directory"]) for who in ("hr", "it")}
    before = audit_seq(world.services, world.a.slug)
    for who, role, scope in (("hr", "hr", "attest_hr"), ("it", "it", "attest_it")):
        refused = client.post(url, headers=read_only[who], json={"role": role})
        assert_scope_missing(refused, scope, f"sign-off as {role} with {who}'s read_directory token")
    assert audit_seq(world.services, world.a.slug) == before, "a refused sign-off changed something"
    checklist = client.get(f"/api/v1/exits/{eid}/checklist", headers=read_only["hr"])
    assert checklist.status_code == 200 and checklist.json()["signoffs"] == {}, checklist.text

    # With the scope of their sign-off added, the same people may.
    for who, role, scope in (("hr", "hr", "attest_hr"), ("it", "it", "attest_it")):
        signed = client.post(url, headers=token_headers(world, who, ["read_directory", scope]), json={"role": role})
        assert signed.status_code == 200, f"sign-off as {role} with {scope}: {signed.text[:300]}"
    assert set(signed.json()["signoffs"]) == {"hr", "it"}


def test_finding_a_sign_off_token_of_one_role_does_not_sign_for_the_other(world, client):
    """attest_hr is not attest_it: a person holding both roles needs the scope of the role they sign as."""
    eid = _exit_ready_for_signoff(world)
    with tenant_transaction(world.services, world.a.slug) as uow:
        role_actions.grant_role(uow, world.a["hr"].member_id, "it")
    lacking = token_headers(world, "hr", all_but("attest_it"))
    before = audit_seq(world.services, world.a.slug)
    refused = client.post(f"/api/v1/exits/{eid}/signoff", headers=lacking, json={"role": "it"})
    assert_scope_missing(refused, "attest_it", "sign-off as it with an hr token lacking attest_it")
    assert audit_seq(world.services, world.a.slug) == before


@decided_in_python
def test_spec_3_2_a_service_token_lacking_a_scope_is_refused_like_a_personal_one(world, client):
    lacking_read = token_headers(world, "service", all_but("read_directory"))
    assert_scope_missing(client.get("/api/v1/members", headers=lacking_read), "read_directory", "service token listing members")
    lacking_manage = token_headers(world, "service", all_but("manage_directory"))
    before = audit_seq(world.services, world.a.slug)
    created = client.post("/api/v1/members", headers=lacking_manage, json={"userid": fresh("alpha-n"), "name": "Alpha New", "department_ids": [world.a.sales]})
    assert_scope_missing(created, "manage_directory", "service token adding a member")
    assert audit_seq(world.services, world.a.slug) == before
    # The tenant's service token without scopes at all is refused for scope too.
    unscoped = {"Authorization": f"Bearer {world.a.unscoped_service_token}", **EN}
    assert_scope_missing(client.get("/api/v1/departments", headers=unscoped), "read_directory", "unscoped service token")
    # With the scope it may.
    listed = client.get("/api/v1/members", headers=lacking_manage)
    assert listed.status_code == 200, listed.text
