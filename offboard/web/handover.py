"""Console: the super admin's handover (R-ADM-1, R-ADM-2) and the backup super admin (R-ADM-3).

GET /handover shows who holds power, the enterprise's handover mode in plain words and where the
latest handover stands, with the forms the reader may use: start (successor, custodian in
escrow, the reader's code), cancel, accept without the link, revert inside the emergency window,
and set, replace or remove the backup. A started handover that waits for its successor is
answered with the page itself, carrying the QR code of the acceptance link: the link's secret
exists only in that answer (the database keeps its hash), so it is never put into a redirect.
GET /handover/accept/{link} is the page the QR code opens for the successor.

Every change is an action of offboard.actions.handover or offboard.actions.backup_admin, which
check, audit and emit; a handover form's code is the change's own second factor, the backup's
forms re-verify like the policy's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from offboard.actions import backup_admin
from offboard.actions import handover as handover_actions
from offboard.actions.context import tenant_transaction
from offboard.domain.authz import Action
from offboard.domain.errors import NotFound, OffboardError
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.locale import locale_of
from offboard.i18n import translate
from offboard.queries import power
from offboard.store import repo
from offboard.web.exit_views import local_time
from offboard.web.rendering import render
from offboard.web.reverify import PostedForm, posted_form
from offboard.web.session import Console, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)
LINK = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what handover.start hands out (token_urlsafe)
Link = Annotated[str, Path(max_length=128)]  # anything else is answered as a link that is not valid


MODES = {
    "dual_verification": _("WeCom style: both verify, and the old super admin keeps an emergency window of {days} days."),
    "immediate": _("DingTalk style: power moves as soon as you verify."),
    "escrow": _("Feishu style: a custodian can hold power in escrow until the successor accepts."),
}
NO_WINDOW = _("WeCom style: both verify; the old super admin keeps no emergency window (the policy sets 0 days).")
CUSTODIAN_POWERS = {
    "security": _("freezing accounts and reading the audit trail"),
    "operations": _("freezing accounts, the audit trail, exits, restores, inheritance and the directory"),
}
# What the page says after a form of its own (the redirect's `done`).
NOTICES = {
    "accepted": _("You accepted: you are now a super admin of this enterprise."),
    "cancelled": _("The handover to {to} is cancelled; nothing moved."),
    "cancelled_escrow": _("The handover to {to} is cancelled; super-admin power came back to you from {custodian}."),
    "reverted": _("The handover is reverted: you hold your super-admin power again, and {to} holds what they held before."),
    "backup_set": _("{name} is now the backup super admin."),
    "backup_replaced": _("{name} is no longer the backup and no longer a super admin."),
    "backup_removed": _("{name} is no longer the backup super admin."),
}
BACKUP_PURPOSE = _("Enter your 6-digit code to change the backup super admin.")


@dataclass(frozen=True)
class Started:
    """The answer to a start that waits for the successor: the QR code of the acceptance link."""

    url: str
    svg: Markup


def qr_svg(url: str, title: str) -> Markup:
    """The QR code of `url` as inline SVG (segno), sized by CSS, named for screen readers."""
    svg = segno.make(url, error="m").svg_inline(scale=1, border=4, omitsize=True, title=title, svgclass="qr-code", lineclass=None, dark="#000000", light="#ffffff")
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def time_left(until: datetime | None, now: datetime, locale: str) -> str | None:
    """How long until `until`, in days and hours from two days on, else in hours and minutes (a
    link's 24 hours read as hours); None once passed."""
    if until is None:
        return None
    seconds = int((until - now).total_seconds())
    if seconds <= 0:
        return None
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days >= 2:
        return translate("{d} d {h} h left", locale, d=days, h=hours)
    return translate("{h} h {m} min left", locale, h=days * 24 + hours, m=minutes)


def _mode_words(mode: str, days: int) -> str:
    return NO_WINDOW if mode == "dual_verification" and days <= 0 else MODES[mode]


def _code(text: str) -> str:
    return text.replace(" ", "").strip()


def _check_form(request: Request, csrf: str) -> None:
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, csrf)


def _names(c: Console, userids: dict[str, str]) -> dict[str, str]:
    """key -> the name of the member a userid names; a userid that names nobody is left out."""
    found = {}
    with c.read() as (conn, tenant, _actor):
        for key, userid in userids.items():
            try:
                found[key] = repo.member_by_userid(conn, tenant.id, userid).name
            except NotFound:
                pass
    return found


def _failure(request: Request, c: Console, exc: OffboardError) -> dict[str, str]:
    """A refusal beside the form, naming a member by name where the action names their userid."""
    params: dict[str, Any] = dict(exc.params)
    userid = params.get("userid")
    if isinstance(userid, str):
        params["userid"] = _names(c, {"userid": userid}).get("userid", userid)
    return {"code": exc.code, "message": translate(exc.template, locale_of(request), **params)}


def _status(exc: OffboardError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _page(
    request: Request,
    c: Console,
    *,
    started: Started | None = None,
    notices: list[str] | None = None,
    error: dict[str, str] | None = None,
    failed: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The handover page; after a refused form, its refusal inside that form (`failed`: start,
    cancel, revert, accept or backup) with the form's code field focused."""
    now = request.app.state.services.clock.now()
    locale = locale_of(request)
    with c.read() as (conn, tenant, actor):
        view = power.power_view(conn, tenant, actor, now)
        tz = tenant.timezone
    latest = view.latest
    typed = typed or {}
    typed_names = _names(c, {k: v for k, v in typed.items() if v}) if typed else {}
    return render(
        request,
        "handover.html",
        status_code=status_code,
        c=c,
        view=view,
        latest=latest,
        mode_words=_mode_words(view.mode, view.window_days),
        custodian_powers=CUSTODIAN_POWERS[view.custodian_powers],
        at=lambda moment: local_time(moment, tz),
        left=lambda moment: time_left(moment, now, locale),
        started=started,
        notices=notices or [],
        error=error,
        failed=failed if error and failed in view.forms else None,
        typed=typed,
        typed_names=typed_names,
    )


@router.get("/handover")
def handover_page(
    request: Request,
    c: Console = Depends(console),
    done: Annotated[str | None, Query(max_length=24)] = None,
    who: Annotated[str | None, Query(max_length=64)] = None,
    replaced: Annotated[str | None, Query(max_length=64)] = None,
):
    locale = locale_of(request)
    notices = []
    if done in ("backup_set", "backup_removed") and who:
        names = _names(c, {"who": who, **({"replaced": replaced} if replaced else {})})
        if "who" in names:
            notices.append(translate(NOTICES[done], locale, name=names["who"]))
        if "replaced" in names:
            notices.append(translate(NOTICES["backup_replaced"], locale, name=names["replaced"]))
    elif done in ("accepted", "cancelled", "reverted"):
        with c.read() as (conn, tenant, actor):
            view = power.power_view(conn, tenant, actor, request.app.state.services.clock.now())
        latest = view.latest
        if latest is not None:
            key = "cancelled_escrow" if done == "cancelled" and latest.custodian else done
            notices.append(translate(NOTICES[key], locale, to=latest.to_person.name, custodian=latest.custodian.name if latest.custodian else ""))
        elif done == "cancelled":
            notices.append(translate(NOTICES["cancelled"], locale, to="—"))
    return _page(request, c, notices=notices)


@router.post("/handover")
def start_submit(
    request: Request,
    csrf: Annotated[str, Form(max_length=128)],
    to: Annotated[str, Form(max_length=64)] = "",
    custodian: Annotated[str, Form(max_length=64)] = "",
    totp: Annotated[str, Form(max_length=16)] = "",
    c: Console = Depends(console),
):
    """Start handing the reader's power over; the code is the change's own second factor."""
    _check_form(request, csrf)
    typed = {"to": to.strip(), "custodian": custodian.strip()}
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            started = handover_actions.start(uow, to=typed["to"], totp=_code(totp), custodian=typed["custodian"] or None)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _page(request, c, error=_failure(request, c, exc), failed="start", typed=typed, status_code=_status(exc))
    if started.link is None:
        # immediate: power moved already, and the reader, no longer a super admin, may not open
        # the handover page any more: the answer says what happened.
        return render(request, "handover_done.html", c=c, to=_names(c, {"to": started.to_userid}).get("to", started.to_userid))
    url = f"{request.base_url}handover/accept/{started.link}"
    title = translate("QR code of the acceptance link", locale_of(request))
    response = _page(request, c, started=Started(url, qr_svg(url, title)))
    response.headers["Cache-Control"] = "no-store"  # the link's secret is in this answer only
    return response


def _with_code(request: Request, c: Console, csrf: str, act: Any, done: str, form: str) -> Response:
    _check_form(request, csrf)
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            act(uow)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _page(request, c, error=_failure(request, c, exc), failed=form, status_code=_status(exc))
    return RedirectResponse(f"/handover?done={done}", status_code=303)


@router.post("/handover/cancel")
def cancel_submit(request: Request, csrf: Annotated[str, Form(max_length=128)], totp: Annotated[str, Form(max_length=16)] = "", c: Console = Depends(console)):
    """The old super admin drops their pending handover (in escrow, power comes back)."""
    return _with_code(request, c, csrf, lambda uow: handover_actions.cancel(uow, totp=_code(totp)), "cancelled", "cancel")


@router.post("/handover/revert")
def revert_submit(request: Request, csrf: Annotated[str, Form(max_length=128)], totp: Annotated[str, Form(max_length=16)] = "", c: Console = Depends(console)):
    """Inside the emergency window the old super admin takes power back (R-ADM-2)."""
    return _with_code(request, c, csrf, lambda uow: handover_actions.revert(uow, totp=_code(totp)), "reverted", "revert")


@router.post("/handover/accept")
def accept_submit(request: Request, csrf: Annotated[str, Form(max_length=128)], totp: Annotated[str, Form(max_length=16)] = "", c: Console = Depends(console)):
    """The nominee accepts from their own handover page, without the link."""
    return _with_code(request, c, csrf, lambda uow: handover_actions.accept(uow, totp=_code(totp)), "accepted", "accept")


def _backup(request: Request, c: Console, posted: PostedForm, act: Any, typed: dict[str, str]) -> Response:
    c.require_recent_verification(Action.MANAGE_ADMINS, "/handover#backup", posted, purpose=BACKUP_PURPOSE)
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            query = act(uow)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _page(request, c, error=_failure(request, c, exc), failed="backup", typed=typed, status_code=_status(exc))
    return RedirectResponse(f"/handover?{urlencode(query)}#backup", status_code=303)


@router.post("/handover/backup")
def backup_set_submit(
    request: Request,
    csrf: Annotated[str, Form(max_length=128)],
    member: Annotated[str, Form(max_length=64)] = "",
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    """Name the backup super admin; a previous backup gives up the super-admin role (R-ADM-3)."""
    _check_form(request, csrf)

    def act(uow: Any) -> dict[str, str]:
        done = backup_admin.set_backup(uow, member.strip())
        return {"done": "backup_set", "who": done.userid, **({"replaced": done.replaced} if done.replaced else {})}

    return _backup(request, c, posted, act, {"backup": member.strip()})


@router.post("/handover/backup/remove")
def backup_remove_submit(request: Request, csrf: Annotated[str, Form(max_length=128)], c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """Remove the backup super admin (never the last super admin, INV-1)."""
    _check_form(request, csrf)
    return _backup(request, c, posted, lambda uow: {"done": "backup_removed", "who": backup_admin.remove_backup(uow)}, {})


# --- the acceptance link --------------------------------------------------------------------


ACCEPT_STATUS = {"ready": 200, "expired": 410, "not_yours": 403, "invalid": 404}


def _accept_page(request: Request, c: Console, link: str, *, error: dict[str, str] | None = None, status_code: int | None = None) -> Response:
    now = request.app.state.services.clock.now()
    with c.read() as (conn, tenant, actor):
        found = power.acceptance(conn, tenant, actor, link, now) if LINK.fullmatch(link) else power.Acceptance("invalid", None, 0, False)
        tz = tenant.timezone
    h = found.handover
    return render(
        request,
        "handover_accept.html",
        status_code=status_code or ACCEPT_STATUS[found.state],
        c=c,
        found=found,
        h=h,
        link=link,
        mode_words=_mode_words(h.mode, found.window_days) if h else "",
        at=lambda moment: local_time(moment, tz),
        left=lambda moment: time_left(moment, now, locale_of(request)),
        error=error,
    )


@router.get("/handover/accept/{link}")
def accept_page(request: Request, link: Link, c: Console = Depends(console)):
    """What the QR code opens: who hands power to the reader, in which mode, until when."""
    return _accept_page(request, c, link)


@router.post("/handover/accept/{link}")
def accept_link_submit(request: Request, link: Link, csrf: Annotated[str, Form(max_length=128)], totp: Annotated[str, Form(max_length=16)] = "", c: Console = Depends(console)):
    """The nominee accepts through the link with their own code; power moves at once."""
    _check_form(request, csrf)
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            handover_actions.accept(uow, totp=_code(totp), link=link)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _accept_page(request, c, link, error=_failure(request, c, exc), status_code=_status(exc))
    return RedirectResponse("/handover?done=accepted", status_code=303)
