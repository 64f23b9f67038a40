"""Console: exit requests approved through a flow (离职申请审批; issue 13 item 3, SPEC §6
`approval_flow`). A member files one from their own page (/me) and follows its steps there; an
approver finds what waits for them on /exit-requests (待我审批) and approves or rejects each with a
comment; HR and super admins see every request there too.

Every form posts its CSRF token to an action of offboard.actions.exit_requests. Filing and
withdrawing are the member's own exit (VOLUNTARY_EXIT), deciding is DECIDE_EXIT_REQUESTS: both
SENSITIVE, so a console session whose last 6-digit code is over five minutes old gives it again in
place, and the form then carries on (a member holding no role signs in without a code and is
never asked for one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from offboard.actions import exit_requests as actions
from offboard.actions.context import UnitOfWork, tenant_transaction
from offboard.domain import exit_requests as flow
from offboard.domain.authz import Action
from offboard.domain.errors import OffboardError
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.errors import failure
from offboard.queries import exit_requests as queries
from offboard.queries import members as members_q
from offboard.queries.exit_requests import ExitRequestView
from offboard.web.exit_request_views import automation, me_extras, request_dict
from offboard.web.rendering import render
from offboard.web.reverify import PostedForm, posted_form
from offboard.web.session import PAGE_SIZE, Console, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Csrf = Annotated[str, Form(max_length=128)]
CommentField = Annotated[str, Form(max_length=flow.MAX_COMMENT)]
StepField = Annotated[int | None, Form(ge=1, le=flow.MAX_STEPS + 1)]  # the step the page showed
FILE_PURPOSE = _("Enter your 6-digit code to file your exit request.")
WITHDRAW_PURPOSE = _("Enter your 6-digit code to withdraw your exit request.")
DECIDE_PURPOSE = _("Enter your 6-digit code to record your decision on the exit request.")
NOTICES = {
    "filed": _("Your exit request is filed; it waits for its first approver."),
    "withdrawn": _("Your exit request is withdrawn."),
    "approved": _("Approved."),
    "scheduled": _("Approved: the exit is scheduled for the end of the leave date."),
    "rejected": _("Rejected; the member reads your comment in their inbox."),
}
VIEWS = ("waiting", "mine", "all")


def _check_form(request: Request, csrf: str) -> None:
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, csrf)


def _write(request: Request, c: Console):
    return tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor)


def _status(exc: OffboardError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


# --- the member's own: file and withdraw, from /me ---------------------------------------------


def _me_page(request: Request, c: Console, status_code: int = 200, **context: Any) -> Response:
    now = request.app.state.services.clock.now()
    with c.read() as (conn, tenant, actor):
        member = members_q.show_member(conn, tenant.id, actor, actor.member_id, now=now)
        extras = me_extras(conn, tenant, actor, now)
    return render(request, "me.html", status_code, c=c, member=member, tenant=tenant, **extras, **context)


@router.post("/me/exit-requests")
def file_submit(
    request: Request,
    csrf: Csrf,
    c: Console = Depends(console),
    leave_date: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=flow.MAX_REASON)] = "",
    reason_category: Annotated[str, Form(max_length=16)] = "resignation",
    successor: Annotated[str, Form(max_length=64)] = "",
    posted: PostedForm = Depends(posted_form),
):
    _check_form(request, csrf)
    c.require_recent_verification(Action.VOLUNTARY_EXIT, "/me#exit-request", posted, FILE_PURPOSE)
    form = {"leave_date": leave_date, "reason": reason, "reason_category": reason_category, "successor": successor}
    assert c.auth.actor.member_id is not None, "a console session is a member's"
    try:
        with _write(request, c) as uow:
            filed = actions.file_request(uow, c.auth.actor.member_id, leave_date=leave_date, reason=reason, reason_category=reason_category, successor=successor.strip() or None)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _me_page(request, c, _status(exc), request_error=failure(request, exc), request_form=form)
    return RedirectResponse(f"/exit-requests/{filed.id}?done=filed", status_code=303)


@router.post("/exit-requests/{exit_request_id}/withdraw")
def withdraw_submit(request: Request, exit_request_id: Id, csrf: Csrf, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    _check_form(request, csrf)
    c.require_recent_verification(Action.VOLUNTARY_EXIT, "/me#exit-request", posted, WITHDRAW_PURPOSE)
    try:
        with _write(request, c) as uow:
            actions.withdraw(uow, exit_request_id)
    except OffboardError as exc:
        if exc.status in (403, 404):
            raise
        return _me_page(request, c, _status(exc), request_error=failure(request, exc))
    return RedirectResponse(f"/exit-requests/{exit_request_id}?done=withdrawn", status_code=303)


# --- what waits for the reader, and every request for HR ---------------------------------------


@router.get("/exit-requests")
def list_page(
    request: Request,
    c: Console = Depends(console),
    view: Annotated[Literal["waiting", "mine", "all"], Query()] = "waiting",
    state: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
):
    """待我审批 first; the reader's own; and, for HR and super admins, every request by state."""
    with c.read() as (conn, tenant, actor):
        everyone = flow.sees_all(actor)
        shown = view if view != "all" or everyone else "waiting"
        result = queries.list_requests(
            conn,
            tenant,
            actor,
            state=state if shown == "all" and state else None,
            waiting_for_me=shown == "waiting",
            mine=shown == "mine",
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        items = [request_dict(i, tenant.timezone) for i in result.items]
        mode = automation(tenant)
    pages = max(1, -(-result.total // PAGE_SIZE))
    links = {v: "/exit-requests?" + urlencode({"view": v}) for v in VIEWS}
    more = "/exit-requests?" + urlencode({"view": shown, **({"state": state} if shown == "all" and state else {}), "page": page + 1}) if page < pages else None
    return render(
        request,
        "exit_requests.html",
        c=c,
        view=shown,
        state=state if shown == "all" else None,
        items=items,
        total=result.total,
        everyone=everyone,
        links=links,
        more=more,
        mode=mode,
    )


def _detail(request: Request, c: Console, request_id: int, *, error: dict | None = None, typed: dict | None = None, status_code: int = 200, done: str | None = None) -> Response:
    with c.read() as (conn, tenant, actor):
        view = queries.show_request(conn, tenant, actor, request_id)
        data = request_dict(view, tenant.timezone)
    return render(request, "exit_request.html", status_code, c=c, r=data, error=error, typed=typed or {}, notice=NOTICES.get(done) if done else None)


@router.get("/exit-requests/{exit_request_id}")
def detail_page(request: Request, exit_request_id: Id, c: Console = Depends(console), done: Annotated[str | None, Query(max_length=16)] = None):
    """A request with its steps; the approver's decision forms; the member's withdrawal."""
    return _detail(request, c, exit_request_id, done=done)


def _decide(request: Request, c: Console, request_id: int, csrf: str, posted: PostedForm, decide: Callable[[UnitOfWork], ExitRequestView], typed: dict[str, str]) -> Response:
    _check_form(request, csrf)
    c.require_recent_verification(Action.DECIDE_EXIT_REQUESTS, f"/exit-requests/{request_id}", posted, DECIDE_PURPOSE)
    try:
        with _write(request, c) as uow:
            view = decide(uow)
    except OffboardError as exc:
        if exc.status == 404:
            raise
        return _detail(request, c, request_id, error=failure(request, exc), typed=typed, status_code=_status(exc))
    done = "scheduled" if view.exit_id else view.state if view.state == "rejected" else "approved"
    return RedirectResponse(f"/exit-requests/{request_id}?" + urlencode({"done": done}), status_code=303)


@router.post("/exit-requests/{exit_request_id}/approve")
def approve_submit(request: Request, exit_request_id: Id, csrf: Csrf, comment: CommentField = "", step: StepField = None, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    return _decide(request, c, exit_request_id, csrf, posted, lambda u: actions.approve(u, exit_request_id, comment=comment, step=step), {"comment": comment})


@router.post("/exit-requests/{exit_request_id}/reject")
def reject_submit(request: Request, exit_request_id: Id, csrf: Csrf, comment: CommentField = "", step: StepField = None, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    return _decide(request, c, exit_request_id, csrf, posted, lambda u: actions.reject(u, exit_request_id, comment=comment, step=step), {"comment": comment, "rejecting": "1"})
