"""Console: the rollback plan of a member's account (R-EXC-1): the changes they made since a time,
each with what undoing it does or why it is left alone, and applying it with your code."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse

from offboard.actions import rollback as rollback_actions
from offboard.actions.context import tenant_transaction
from offboard.domain.errors import OffboardError
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.errors import failure
from offboard.http.locale import locale_of
from offboard.queries.members import show_member
from offboard.queries.rollback import rollback_plan
from offboard.web.rendering import render
from offboard.web.session import Console, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)
MemberId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _page(
    request: Request,
    c: Console,
    member_id: int,
    since: str | None,
    *,
    error: dict | None = None,
    applying: bool = False,
    notice: str | None = None,
    status_code: int = 200,
):
    """The plan from `since`, by default the last 24 hours; a bad time is said above the form, a
    refused apply (`applying`) inside the apply form, its code field focused."""
    now = request.app.state.services.clock.now()
    plan = None
    with c.read() as (conn, tenant, actor):
        member = show_member(conn, tenant.id, actor, member_id, now=request.app.state.services.clock.now())
        since = since or (now - timedelta(days=1)).astimezone(ZoneInfo(tenant.timezone)).strftime("%Y-%m-%dT%H:%M")
        try:
            plan = rollback_plan(conn, tenant, actor, member_id, since, now, locale_of(request))
        except OffboardError as exc:
            if exc.status == 403:
                raise
            error = error or failure(request, exc)
            status_code = exc.status if 400 <= exc.status < 500 else 400
    beside = applying and plan is not None and plan.to_undo > 0  # the apply form is there to hold it
    return render(request, "rollback.html", status_code=status_code, c=c, member=member, plan=plan, since=since, error=error, apply_error=error if beside else None, notice=notice)


@router.get("/members/{member_id}/rollback")
def rollback_page(
    request: Request,
    member_id: MemberId,
    c: Console = Depends(console),
    since: Annotated[str | None, Query(max_length=40)] = None,
    done: Annotated[int | None, Query(ge=0, le=1)] = None,
):
    notice = _("Rolled back: the changes marked to undo are undone, in one transaction recorded in the audit trail.") if done else None
    return _page(request, c, member_id, since or None, notice=notice)


@router.post("/members/{member_id}/rollback")
async def rollback_apply(request: Request, member_id: MemberId, c: Console = Depends(console)):
    form = await request.form()
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, str(form.get("csrf", ""))[:128])
    since, digest, code = (str(form.get(k, ""))[:40].strip() for k in ("since", "plan", "totp"))
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            rollback_actions.apply(uow, member_id, since=since, totp=code.replace(" ", ""), digest=digest or None, locale=locale_of(request))
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _page(request, c, member_id, since, error=failure(request, exc), applying=True, status_code=exc.status if 400 <= exc.status < 500 else 400)
    return RedirectResponse(f"/members/{member_id}/rollback?{urlencode({'since': since, 'done': 1})}", status_code=303)
