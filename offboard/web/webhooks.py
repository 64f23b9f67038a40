"""Console: the enterprise's webhook endpoints and each delivery made to them (SPEC §9).

GET /settings/webhooks lists the endpoints with what reached each, and holds the form that adds
one; GET /settings/webhooks/{id} lists an endpoint's deliveries, newest first, each re-sendable.
Every change is an action of offboard.actions.webhooks (which checks, audits and emits), posted
from a form with its CSRF token and re-verified in place like the policy's (MANAGE_TOKENS is a
SENSITIVE action). A new endpoint's signing secret exists only in the answer to the form that
added it: that answer is the page itself, never a redirect, cookie or address that could keep it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from offboard.actions import webhooks as actions
from offboard.actions.context import UnitOfWork, tenant_transaction
from offboard.domain import webhooks as wh
from offboard.domain.authz import Action
from offboard.domain.errors import NotFound, OffboardError, Terms, ValidationError, error
from offboard.domain.vocabulary import OutboxState, WebhookStatus
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.locale import locale_of
from offboard.i18n import translate
from offboard.queries import webhooks as queries
from offboard.web.exit_views import local_time
from offboard.web.rendering import render
from offboard.web.reverify import PostedForm, posted_form
from offboard.web.session import Console, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE_SIZE = 50  # deliveries per page
LIST = "/settings/webhooks"
STATES = {s.value for s in OutboxState}
PURPOSE = _("Enter your 6-digit code to change the webhook endpoints.")
# What a page says after a form of its own (the redirect's `done`); {name} is the endpoint's.
NOTICES = {
    "paused": _("{name} is paused: it is sent nothing until you resume it."),
    "resumed": _("{name} is active again: new events are sent to it."),
    "removed": _("{name} is removed: it is sent nothing more. What was sent to it stays listed for the record."),
    "tested": _("A test event to {name} is queued: the next pass of the worker sends it. Reload this page to see the endpoint's answer."),
    "resent": _("Delivery {id} will be sent again by the next pass of the worker, with a new 24 hours of retries."),
}
# The fields of the add form, as a person reads them in a refusal that names one.
FIELDS = {"url": _("Endpoint URL"), "description": _("Description"), "app": _("App")}
MAX_TYPED = 4096  # longer than any field accepts: the action says what is too long
# A delivery's last answer when there was none: the sender's English sentence, as stored
# (offboard.webhooks.sender), read back for its reason; the page says the rest in the reader's words.
UNREACHABLE = re.compile(r"Webhook endpoint \S+ did not answer \((?P<reason>.*)\); the delivery is retried\.", re.S)
REMOVED = "endpoint removed"  # what remove_subscription writes on the deliveries it gives up


def _check_form(request: Request, csrf: str) -> None:
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, csrf[:128])


def _failure(request: Request, c: Console, exc: OffboardError) -> dict[str, str]:
    """A refusal beside the form, in words: a field named by its label, the events to choose
    from by their names, a paused endpoint by its name (the action names keys and ids, for the
    API and the CLI)."""
    locale = locale_of(request)
    params: dict[str, Any] = dict(exc.params)
    if params.get("field") in FIELDS:
        params["field"] = translate(FIELDS[params["field"]], locale)
    if exc.code == "webhook_event_unknown":
        params["choices"] = Terms("webhook_event", wh.EVENTS)
    if exc.code == "webhook_paused" and isinstance(params.get("id"), int):
        with c.read() as (conn, tenant, actor):
            params["id"] = _name(queries.show_webhook(conn, tenant.id, actor, params["id"]))
    return {"code": exc.code, "message": translate(exc.template, locale, **params)}


def _status(exc: OffboardError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _name(view: queries.WebhookView) -> str:
    return view.description or view.url


def _list_page(
    request: Request,
    c: Console,
    *,
    notice: str | None = None,
    error: dict[str, str] | None = None,
    failed: str | None = None,
    typed: dict[str, Any] | None = None,
    created: tuple[actions.Created, queries.WebhookView] | None = None,
    status_code: int = 200,
) -> Response:
    """The endpoints and the add form; after a refused add, its refusal inside the form
    (`failed="add"`) with what was typed; after an add, the new endpoint's secret, once."""
    with c.read() as (conn, tenant, actor):
        views = queries.list_webhooks(conn, tenant.id, actor)
        tz = tenant.timezone
    response = render(
        request,
        "webhooks.html",
        status_code=status_code,
        c=c,
        views=views,
        events=wh.EVENTS,
        every=wh.ALL,
        at=lambda moment: local_time(moment, tz),
        notice=notice,
        error=error,
        failed=failed if error else None,
        typed=typed or {"events": []},
        created=created,
        limit=wh.MAX_SUBSCRIPTIONS,
    )
    if created is not None:
        response.headers["Cache-Control"] = "no-store"  # the secret is in this answer only
    return response


def _notice(c: Console, done: str | None, webhook_id: int | None, locale: str) -> str | None:
    if done not in NOTICES or done == "resent" or webhook_id is None:
        return None
    try:
        with c.read() as (conn, tenant, actor):
            view = queries.show_webhook(conn, tenant.id, actor, webhook_id)
    except NotFound:
        return None  # an address typed by hand: no notice
    return translate(NOTICES[done], locale, name=_name(view))


@router.get("/settings/webhooks")
def webhooks_page(
    request: Request,
    c: Console = Depends(console),
    done: Annotated[str | None, Query(max_length=16)] = None,
    webhook: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
):
    return _list_page(request, c, notice=_notice(c, done, webhook, locale_of(request)))


@router.post("/settings/webhooks")
async def add_submit(request: Request, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """Subscribe an endpoint; the answer is the page with its signing secret, shown this once."""
    form = await request.form()
    _check_form(request, str(form.get("csrf", "")))
    c.require_recent_verification(Action.MANAGE_TOKENS, LIST + "#add", posted, purpose=PURPOSE)
    typed: dict[str, Any] = {
        "url": str(form.get("url", ""))[:MAX_TYPED],
        "description": str(form.get("description", ""))[:MAX_TYPED],
        "app": str(form.get("app", ""))[:MAX_TYPED],
        "events": [str(e)[:64] for e in form.getlist("events")[: len(wh.EVENTS) + 1]],
    }
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            done = actions.create_subscription(uow, url=typed["url"], events=typed["events"], description=typed["description"], app_name=typed["app"].strip() or None)
            view = queries.show_webhook(uow.conn, uow.tenant_id, uow.actor, done.id)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _list_page(request, c, error=_failure(request, c, exc), failed="add", typed=typed, status_code=_status(exc))
    return _list_page(request, c, created=(done, view))


def _posted(posted: PostedForm, name: str) -> str:
    return dict(posted.fields).get(name, "")


def _change(
    request: Request,
    c: Console,
    posted: PostedForm,
    act: Callable[[UnitOfWork], Any],
    *,
    back: str,
    target: str,
    page: Callable[..., Response],
) -> Response:
    """A one-button form: re-verified (`back`: the page the form is on), done by the action,
    answered with a redirect to `target` and its notice, or with `page` showing the refusal."""
    _check_form(request, _posted(posted, "csrf"))
    c.require_recent_verification(Action.MANAGE_TOKENS, back, posted, purpose=PURPOSE)
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            act(uow)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return page(error=_failure(request, c, exc), status_code=_status(exc))
    return RedirectResponse(target, status_code=303)


def _from_deliveries(posted: PostedForm) -> bool:
    """Whether the form was sent from the endpoint's deliveries page (else from the list)."""
    return _posted(posted, "from") == "deliveries"


def _endpoint_change(request: Request, c: Console, posted: PostedForm, webhook_id: int, act: Callable[[UnitOfWork], Any], done: str, *, to_deliveries: bool = False) -> Response:
    """Pause, resume, remove or test from either page: a refusal is shown on the page the
    button was on; done, the notice on the list, or on the deliveries page when `to_deliveries`."""
    here = f"{LIST}/{webhook_id}"
    on_deliveries = _from_deliveries(posted)
    back = here if on_deliveries else LIST
    target = f"{here}?{urlencode({'done': done})}" if to_deliveries or on_deliveries else f"{LIST}?{urlencode({'done': done, 'webhook': webhook_id})}"

    def page(**shown: Any) -> Response:
        return _deliveries_page(request, c, webhook_id, **shown) if on_deliveries else _list_page(request, c, **shown)

    return _change(request, c, posted, act, back=back, target=target, page=page)


@router.post("/settings/webhooks/{webhook_id}/pause")
def pause_submit(request: Request, webhook_id: Id, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """Send the endpoint nothing until it is resumed."""
    return _endpoint_change(request, c, posted, webhook_id, lambda uow: actions.update_subscription(uow, webhook_id, status=WebhookStatus.PAUSED), "paused")


@router.post("/settings/webhooks/{webhook_id}/resume")
def resume_submit(request: Request, webhook_id: Id, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    return _endpoint_change(request, c, posted, webhook_id, lambda uow: actions.update_subscription(uow, webhook_id, status=WebhookStatus.ACTIVE), "resumed")


@router.post("/settings/webhooks/{webhook_id}/remove")
def remove_submit(request: Request, webhook_id: Id, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """Tell the endpoint nothing more; its deliveries stay listed."""
    return _endpoint_change(request, c, posted, webhook_id, lambda uow: actions.remove_subscription(uow, webhook_id), "removed")


@router.post("/settings/webhooks/{webhook_id}/test")
def test_submit(request: Request, webhook_id: Id, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """Queue a test event to this endpoint; its deliveries page shows it and, once sent, the answer."""
    return _endpoint_change(request, c, posted, webhook_id, lambda uow: actions.send_test(uow, webhook_id), "tested", to_deliveries=True)


# --- one endpoint's deliveries ------------------------------------------------------------------


def _deliveries_page(
    request: Request,
    c: Console,
    webhook_id: int,
    *,
    state: str | None = None,
    page: int = 1,
    notice: str | None = None,
    error: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    if state and state not in STATES:
        raise error_unknown_state(state)
    with c.read() as (conn, tenant, actor):
        view = queries.show_webhook(conn, tenant.id, actor, webhook_id)
        found = queries.list_deliveries(conn, tenant.id, actor, webhook_id=webhook_id, state=state or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        tz = tenant.timezone
    pages = max(1, -(-found.total // PAGE_SIZE))

    def link(to_page: int) -> str:
        query = {k: v for k, v in (("state", state), ("page", to_page if to_page > 1 else None)) if v}
        return f"{LIST}/{webhook_id}" + (f"?{urlencode(query)}" if query else "")

    return render(
        request,
        "webhook_deliveries.html",
        status_code=status_code,
        c=c,
        view=view,
        found=found,
        states=list(OutboxState),
        state=state or "",
        page=page,
        pages=pages,
        first=(page - 1) * PAGE_SIZE + 1,
        previous=link(page - 1) if page > 1 else None,
        following=link(page + 1) if page < pages else None,
        at=lambda moment: local_time(moment, tz),
        answer=lambda delivery: last_answer(delivery, locale_of(request)),
        notice=notice,
        error=error,
    )


def last_answer(delivery: queries.DeliveryView, locale: str) -> tuple[str, str | None]:
    """What the endpoint last answered, in words, and the technical detail beside it (or None)."""
    if delivery.last_status:
        return f"HTTP {delivery.last_status}", None
    if not delivery.last_error:
        return "—", None
    if delivery.last_error == REMOVED:
        return translate(_("Not sent: the endpoint was removed"), locale), None
    unreachable = UNREACHABLE.fullmatch(delivery.last_error)
    return translate(_("No answer"), locale), unreachable["reason"] if unreachable else delivery.last_error


def error_unknown_state(state: str) -> OffboardError:
    return error(
        ValidationError,
        "delivery_state_unknown",
        "{value} is not a state of a delivery; choose one of: {choices}.",
        value=state,
        choices=Terms("delivery_state", tuple(OutboxState)),
    )


@router.get("/settings/webhooks/{webhook_id}")
def deliveries_page(
    request: Request,
    webhook_id: Id,
    c: Console = Depends(console),
    state: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str | None, Query(max_length=16)] = None,
    delivery: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
):
    locale = locale_of(request)
    notice = _notice(c, done, webhook_id, locale)
    if done == "resent" and delivery is not None:
        notice = translate(NOTICES["resent"], locale, id=delivery)
    return _deliveries_page(request, c, webhook_id, state=state, page=page, notice=notice)


@router.post("/settings/webhooks/{webhook_id}/deliveries/{delivery_id}/resend")
def resend_submit(request: Request, webhook_id: Id, delivery_id: Id, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """Send a delivery again, with a new 24 hours of retries; back to the page it was sent from."""
    state, page = _posted(posted, "state")[:16], _posted(posted, "page")[:8]
    page_no = int(page) if page.isdigit() and 1 <= int(page) <= 100_000 else 1
    state = state if state in STATES else ""
    query: dict[str, str | int] = {k: v for k, v in (("state", state), ("page", page_no if page_no > 1 else "")) if v}
    back = f"{LIST}/{webhook_id}" + (f"?{urlencode(query)}" if query else "")
    _check_form(request, _posted(posted, "csrf"))
    c.require_recent_verification(Action.MANAGE_TOKENS, back, posted, purpose=PURPOSE)
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            actions.resend(uow, delivery_id)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _deliveries_page(request, c, webhook_id, state=state, page=page_no, error=_failure(request, c, exc), status_code=_status(exc))
    return RedirectResponse(f"{LIST}/{webhook_id}?{urlencode({**query, 'done': 'resent', 'delivery': delivery_id})}", status_code=303)
