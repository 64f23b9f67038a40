"""Console: the enterprise's policy beside the three platforms' presets (SPEC §6), and changing it."""

from __future__ import annotations


from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from offboard.actions.context import tenant_transaction
from offboard.actions.policy import parse_assignments, set_policy
from offboard.queries.policy import show_policy
from offboard.domain.authz import Action, allowed
from offboard.domain.errors import OffboardError
from offboard.domain.policy import SETTINGS
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.errors import failure
from offboard.web.rendering import render
from offboard.web.reverify import PostedForm, posted_form
from offboard.web.session import Console, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)


VALUE_WORDS = {
    "async_24h": _("Asynchronous: taken over after 24 h unless the customer refuses"),
    "immediate": _("Immediate"),
    "dual_verification": _("Both verify, then a transition window"),
    "escrow": _("A custodian holds power until a successor accepts"),
    "security": _("Security only: freeze accounts, read the audit trail"),
    "operations": _("Day-to-day: also exits, restores, inheritance and the directory"),
    "whole_account": _("Whole account only"),
    "selective": _("Module by module"),
    "levels": _("Erasure levels L1-L4"),
    "manual": _("Started by hand"),
    "hr_sync": _("From the HR system (SCIM, leave dates)"),
    "approval_flow": _("From an approved exit request"),
    "transfer": _("Transfer to the acceptor"),
    "archive": _("Keep in the enterprise archive"),
    "delete": _("Delete after the retention period"),
}
UNITS = {"h": _("hours"), "d": _("days")}


def _page(request: Request, c: Console, error: dict | None = None, notice: str | None = None, status_code: int = 200):
    with c.read() as (conn, tenant, actor):
        view = show_policy(conn, tenant, actor)
        can_change = allowed(actor, Action.MANAGE_ADMINS)
    return render(request, "policy.html", status_code=status_code, c=c, view=view, can_change=can_change, words=VALUE_WORDS, units=UNITS, settings=SETTINGS, error=error, notice=notice)


@router.get("/settings/policy")
def policy_page(request: Request, c: Console = Depends(console)):
    return _page(request, c, notice=request.query_params.get("saved") and _("Policy saved; the change is in the audit trail."))


@router.post("/settings/policy")
async def policy_submit(request: Request, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    form = await request.form()
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, str(form.get("csrf", ""))[:128])
    c.require_recent_verification(Action.MANAGE_ADMINS, "/settings/policy", posted)
    pairs = [f"{key}={str(form.get(key, ''))[:32]}" for key in SETTINGS if key in form]
    try:
        changes = parse_assignments(pairs)
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            set_policy(uow, changes)
    except OffboardError as exc:
        return _page(request, c, error=failure(request, exc), status_code=exc.status if 400 <= exc.status < 500 else 400)
    return RedirectResponse("/settings/policy?saved=1", status_code=303)
