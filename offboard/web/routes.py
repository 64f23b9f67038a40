"""Console pages. Every page reads through the same actions as the API and the CLI."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from offboard.queries import dashboard as dashboard_q
from offboard.queries import directory as directory_q
from offboard.queries import members as members_q
from offboard.queries.policy import show_policy
from offboard.actions.auth import authenticate_session, sign_in, sign_out, verify_second_factor
from offboard.actions.context import tenant_transaction
from offboard.crypto import signing
from offboard.crypto.secrets import equal, is_digits
from offboard.domain.errors import Forbidden, NotFound, OffboardError, ValidationError, error
from offboard.http.cookies import DEVICE_COOKIE, SESSION_COOKIE, session_token
from offboard.http.csrf import check_csrf, check_same_origin, csrf_token_for
from offboard.http.errors import failure
from offboard.http.locale import locale_of
from offboard.i18n import translate
from offboard.store import repo
from offboard.web.dashboard import overview
from offboard.web.exit_request_views import me_extras
from offboard.web.rendering import LANG_COOKIE, render
from offboard.web.reverify import PostedForm, give_code, posted_form, refusal_status, with_retry_after
from offboard.web.session import PAGE_SIZE, Console, console, safe_next
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)
PRE_COOKIE = "ob_pre"  # double-submit CSRF token of the sign-in forms, before any session exists
DEVICE_MAX_AGE = 365 * 24 * 3600


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/")


def _device_member(request: Request, tenant_slug: str) -> int | None:
    value = signing.unsign(request.app.state.cookie_key, "device", request.cookies.get(DEVICE_COOKIE))
    if not value:
        return None
    slug, _, rest = value.partition(":")
    member_id = rest.split(":", 1)[0]
    return int(member_id) if slug == tenant_slug and is_digits(member_id) else None


def _demo_logins(request: Request) -> list[dict]:
    if not request.app.state.demo:
        return []
    import pyotp

    from offboard.demo.company import demo_logins

    services = request.app.state.services
    at = services.clock.now()
    return [{**login, "current_code": pyotp.TOTP(login["totp_secret"]).at(at)} for login in demo_logins(services)]


def _tenants(request: Request) -> list[str]:
    """The enterprises to choose from: listed in demo mode only; anywhere else an anonymous
    visitor types the enterprise's slug (prefilled from this browser's last sign-in)."""
    if not request.app.state.demo:
        return []
    with request.app.state.services.db.read() as conn:
        return repo.tenant_slugs(conn)


def _remembered_tenant(request: Request) -> str:
    value = signing.unsign(request.app.state.cookie_key, "device", request.cookies.get(DEVICE_COOKIE)) or ""
    return value.partition(":")[0]


@router.get("/login")
def login_page(request: Request, next: Annotated[str, Query(max_length=200)] = "/"):
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(16)
    response = render(request, "login.html", tenants=_tenants(request), next=safe_next(next), pre=pre, logins=_demo_logins(request), error=None, tenant=_remembered_tenant(request))
    _cookie(response, request, PRE_COOKIE, pre)
    return response


MAX_ID = 2**63 - 1


def _optional_id(value: str | None, field: str) -> int | None:
    """An id typed into a filter: "" means any; anything beyond a 64-bit id is refused here,
    before it can overflow a database integer."""
    if not value:
        return None
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise error(ValidationError, "invalid_id", "{field} must be a number from 1 to {max}.", field=field, max=MAX_ID)
    return number


@router.post("/login")
def login_submit(
    request: Request,
    tenant: Annotated[str, Form(max_length=40)],
    userid: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    pre: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form(max_length=200)] = "/",
):
    check_same_origin(request)
    if not equal(pre, request.cookies.get(PRE_COOKIE)):
        raise error(Forbidden, "csrf_failed", "The form has expired or did not come from this site; reload the page and try again.")
    try:
        result = sign_in(request.app.state.services, tenant, userid.strip(), password, client=_client(request), device_member_id=_device_member(request, tenant))
    except OffboardError as exc:
        status = exc.status if exc.status in (401, 404, 423, 429) else 400
        response: Response = render(
            request,
            "login.html",
            status_code=status,
            tenants=_tenants(request),
            next=safe_next(next),
            pre=pre,
            logins=_demo_logins(request),
            error=exc.render(locale_of(request)),
            userid=userid,
            tenant=tenant,
        )
        return with_retry_after(exc, response)
    target = "/login/totp?next=" + quote(safe_next(next)) if result.stage == "password" else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    _cookie(response, request, SESSION_COOKIE, signing.sign(request.app.state.cookie_key, "session", result.session_token))
    if result.stage == "full":
        _set_device(response, request, result.tenant_slug, result.member_id)
    return response


def _set_device(response: Response, request: Request, slug: str, member_id: int) -> None:
    value = signing.sign(request.app.state.cookie_key, "device", f"{slug}:{member_id}:{secrets.token_hex(8)}")
    _cookie(response, request, DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE)


@router.get("/login/totp")
def totp_page(request: Request, next: Annotated[str, Query(max_length=200)] = "/"):
    token = session_token(request)
    if token is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "totp.html", next=safe_next(next), csrf=csrf_token_for(request, token), logins=_demo_logins(request), error=None)


@router.post("/login/totp")
def totp_submit(
    request: Request,
    code: Annotated[str, Form(max_length=16)],
    csrf: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=200)] = "/",
):
    token = session_token(request)
    if token is None:
        return RedirectResponse("/login", status_code=303)
    check_csrf(request, token, csrf)
    services = request.app.state.services
    try:
        token = verify_second_factor(services, token, code, client=_client(request))
    except OffboardError as exc:
        status = exc.status if exc.status in (401, 423, 429) else 400
        return with_retry_after(exc, render(request, "totp.html", status_code=status, next=safe_next(next), csrf=csrf, logins=_demo_logins(request), error=exc.render(locale_of(request))))
    auth = authenticate_session(services, token)
    assert auth.tenant_slug is not None and auth.actor.member_id is not None, "a console session is a member's, in a tenant"
    response = RedirectResponse(safe_next(next), status_code=303)
    _cookie(response, request, SESSION_COOKIE, signing.sign(request.app.state.cookie_key, "session", token))  # rotated
    _set_device(response, request, auth.tenant_slug, auth.actor.member_id)
    return response


@router.get("/reverify")
def reverify_page(request: Request, c: Console = Depends(console), next: Annotated[str, Query(max_length=200)] = "/"):
    """For a link that is not a form post (a form re-verifies in place: offboard.web.reverify)."""
    return _reverify(request, c, safe_next(next))


def _reverify(request: Request, c: Console, next: str, error: dict | None = None, status_code: int = 200) -> Response:
    carried = [("csrf", c.csrf), ("next", next)]
    return render(request, "reverify.html", status_code=status_code, c=c, target="/reverify", carried=carried, code_field="code", purpose=None, back=None, error=error)


@router.post("/reverify")
def reverify_submit(
    request: Request,
    code: Annotated[str, Form(max_length=16)],
    csrf: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=200)] = "/",
    c: Console = Depends(console),
):
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, csrf)
    try:
        give_code(request, code)
    except OffboardError as exc:
        return with_retry_after(exc, _reverify(request, c, safe_next(next), error=failure(request, exc), status_code=refusal_status(exc)))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=128)]):
    token = session_token(request)
    if token is not None:
        check_csrf(request, token, csrf)
        try:
            sign_out(request.app.state.services, token)
        except OffboardError:
            pass  # already ended: signing out again is harmless
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/lang")
def set_language(request: Request, lang: Annotated[str, Form(max_length=8)], back: Annotated[str, Form(max_length=200)] = "/"):
    check_same_origin(request)
    response = RedirectResponse(safe_next(back), status_code=303)
    if lang in ("zh-CN", "en"):
        _cookie(response, request, LANG_COOKIE, lang, max_age=DEVICE_MAX_AGE)
    return response


@router.get("/demo/codes")
def demo_codes(request: Request):
    """Demo mode only: the personas' current TOTP codes, refreshed by htmx."""
    if not request.app.state.demo:
        return render(request, "error.html", status_code=404, code="not_found", message="Not found.")
    return render(request, "_demo_codes.html", logins=_demo_logins(request))


@router.get("/")
def dashboard(
    request: Request,
    c: Console = Depends(console),
    frozen: Annotated[str | None, Query(max_length=64)] = None,
    sessions: Annotated[int, Query(ge=0, le=10**9)] = 0,
    tokens: Annotated[int, Query(ge=0, le=10**9)] = 0,
):
    return _dashboard(request, c, frozen=frozen, counts={"sessions": sessions, "tokens": tokens})


def _dashboard(
    request: Request,
    c: Console,
    *,
    frozen: str | None = None,
    counts: dict[str, int] | None = None,
    freeze_error: dict | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The overview; for an old super admin inside their emergency window, with the form that
    freezes an account at risk (R-ADM-2), its error beside it, or what it froze."""
    from offboard.domain.authz import Action, allowed
    from offboard.web.exit_views import local_time

    frozen_name = None
    with c.read() as (conn, tenant, actor):
        if frozen:
            try:
                frozen_name = repo.member_by_userid(conn, tenant.id, frozen).name
            except NotFound:
                pass  # an address typed by hand: no notice
        me = members_q.show_member(conn, tenant.id, actor, actor.member_id, now=request.app.state.services.clock.now())
        tiles = {status: members_q.list_members(conn, tenant.id, actor, status=status, limit=1).total for status in ("active", "frozen", "exited", "finalized")} if _can_read_directory(actor) else {}
        tree = directory_q.list_departments(conn, tenant.id, actor) if _can_read_directory(actor) else []
        figures = dashboard_q.dashboard(conn, tenant, actor, request.app.state.services.clock.now()) if _can_read_directory(actor) else None
        no_backup = _can_read_directory(actor) and show_policy(conn, tenant, actor).backup_admin is None
        names_backup = allowed(actor, Action.MANAGE_ADMINS)
        emergency_until = local_time(me.emergency_until, tenant.timezone) if me.emergency_until else None
    pending = [d for d in tree if d.status == "pending_dissolution"]
    shown = overview(figures, locale_of(request)) if figures else None
    return render(
        request,
        "dashboard.html",
        status_code=status_code,
        c=c,
        tenant=tenant,
        me=me,
        counts=tiles,
        frozen_notice=translate(MEMBER_NOTICES["frozen"], locale_of(request), name=frozen_name, **(counts or {})) if frozen_name else None,
        freeze_error=freeze_error,
        typed=typed or {},
        departments=len(tree),
        pending=pending,
        overview=shown,
        no_backup=no_backup,
        names_backup=names_backup,
        emergency_until=emergency_until,
    )


def _manager(conn: Any, tenant_id: int, member: members_q.MemberDetail) -> Any:
    """The member's manager, whom the page names by name (the detail carries their userid)."""
    return repo.member_by_userid(conn, tenant_id, member.manager) if member.manager else None


def _can_read_directory(actor) -> bool:
    from offboard.domain.authz import Action, allowed

    return allowed(actor, Action.READ_DIRECTORY)


@router.get("/members")
def members_page(
    request: Request,
    c: Console = Depends(console),
    q: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    role: Annotated[str | None, Query(max_length=16)] = None,
    department: Annotated[str | None, Query(max_length=19, pattern=r"^[0-9]*$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
):
    department_id = _optional_id(department, "department")  # the filter form sends "" for "any"
    with c.read() as (conn, tenant, actor):
        result = members_q.list_members(
            conn,
            tenant.id,
            actor,
            status=status or None,
            role=role or None,
            department_id=department_id,
            query=q or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        tree = directory_q.list_departments(conn, tenant.id, actor)
    pages = max(1, -(-result.total // PAGE_SIZE))
    context: dict[str, Any] = dict(c=c, result=result, page=page, pages=pages, q=q or "", status=status or "", role=role or "", department=department_id, tree=tree)
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "member-table":
        return render(request, "_member_table.html", **context)
    return render(request, "members.html", **context)


MemberId = Annotated[int, Path(ge=1, le=2**63 - 1)]


# What the member page says after a form of its own (the redirect's `notice`).
MEMBER_NOTICES = {
    "frozen": _("The account of {name} is frozen: {sessions} session(s) and {tokens} API token(s) ended, signing in locked."),
    "unfrozen": _("The account of {name} is unfrozen: they sign in anew, their ended sessions and tokens stay ended."),
}
BACKUP_NOW_PRIMARY = _("{name}, the backup super admin, is now the primary super admin.")
FREEZE_PURPOSE = _("Enter your 6-digit code to freeze the account.")


@router.get("/members/{member_id}")
def member_page(
    request: Request,
    member_id: MemberId,
    c: Console = Depends(console),
    notice: Annotated[str | None, Query(max_length=16)] = None,
    sessions: Annotated[int, Query(ge=0, le=10**9)] = 0,
    tokens: Annotated[int, Query(ge=0, le=10**9)] = 0,
    backup: Annotated[str | None, Query(max_length=64)] = None,
):
    return _member_page(request, c, member_id, notice=notice, counts={"sessions": sessions, "tokens": tokens}, backup=backup)


def _member_page(
    request: Request,
    c: Console,
    member_id: int,
    *,
    notice: str | None = None,
    counts: dict[str, int] | None = None,
    backup: str | None = None,
    error: dict | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The member page; after a form of its own, with its notice, or its error beside the form
    and what was typed into it."""
    from offboard.actions.members import target_of
    from offboard.domain.authz import Action, allowed
    from offboard.web.exit_views import local_time, member_exit_links

    locale = locale_of(request)
    messages = []
    with c.read() as (conn, tenant, actor):
        member = members_q.show_member(conn, tenant.id, actor, member_id, now=request.app.state.services.clock.now())
        exit_links = member_exit_links(conn, tenant.id, actor, member_id)
        can_roll_back = allowed(actor, Action.MANAGE_ADMINS)
        can_see_data = allowed(actor, Action.DATA_REQUESTS, target_of(conn, tenant.id, repo.member_by_id(conn, tenant.id, member_id)))
        freeze = members_q.freeze_options(conn, tenant.id, actor, member_id)
        manager = _manager(conn, tenant.id, member)
        if notice in MEMBER_NOTICES:
            messages.append(translate(MEMBER_NOTICES[notice], locale, name=member.name, **(counts or {})))
        if backup:
            try:
                messages.append(translate(BACKUP_NOW_PRIMARY, locale, name=repo.member_by_userid(conn, tenant.id, backup).name))
            except NotFound:
                pass  # an address typed by hand: no notice
    return render(
        request,
        "member.html",
        status_code=status_code,
        c=c,
        member=member,
        manager=manager,
        emergency_until=local_time(member.emergency_until, tenant.timezone) if member.emergency_until else None,
        exit_links=exit_links,
        can_roll_back=can_roll_back,
        can_see_data=can_see_data,
        freeze=freeze,
        notices=messages,
        error=error,
        typed=typed or {},
    )


@router.post("/members/{member_id}/freeze")
def freeze_submit(
    request: Request,
    member_id: MemberId,
    csrf: Annotated[str, Form(max_length=128)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    force: Annotated[str, Form(max_length=8)] = "",
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    """Freeze a stolen account from its member page (R-EXC-1): a security call, so re-verified."""
    from offboard.actions import freeze as freeze_actions
    from offboard.domain.authz import Action

    _check_form(request, csrf)
    c.require_recent_verification(Action.FREEZE, f"/members/{member_id}#freeze", posted, purpose=FREEZE_PURPOSE)
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            done = freeze_actions.freeze(uow, member_id, reason=reason, force=bool(force))
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _member_page(request, c, member_id, error=failure(request, exc), typed={"reason": reason, "force": force}, status_code=exc.status if 400 <= exc.status < 500 else 400)
    query: dict[str, str | int] = {"notice": "frozen", "sessions": done.sessions_revoked, "tokens": done.tokens_revoked}
    if done.backup_activated:
        query["backup"] = done.backup_activated
    return RedirectResponse(f"/members/{member_id}?{urlencode(query)}#freeze", status_code=303)


@router.post("/freeze")
def emergency_freeze(
    request: Request,
    csrf: Annotated[str, Form(max_length=128)],
    userid: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    """Freeze an account named by its userid, from the overview: the emergency power of an old
    super admin inside their window, who may not browse the directory (R-ADM-2, R-EXC-1)."""
    from offboard.actions import freeze as freeze_actions
    from offboard.domain.authz import Action

    _check_form(request, csrf)
    c.require_recent_verification(Action.FREEZE, "/#emergency-window", posted, purpose=FREEZE_PURPOSE)
    typed = {"userid": userid, "reason": reason}
    try:
        if not userid.strip():
            raise error(ValidationError, "userid_required", "Type the userid of the account to freeze.")
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            done = freeze_actions.freeze(uow, userid.strip(), reason=reason)
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _dashboard(request, c, freeze_error=failure(request, exc), typed=typed, status_code=exc.status if 400 <= exc.status < 500 else 400)
    query = {"frozen": userid.strip(), "sessions": done.sessions_revoked, "tokens": done.tokens_revoked}
    return RedirectResponse(f"/?{urlencode(query)}#emergency-window", status_code=303)


@router.post("/members/{member_id}/unfreeze")
def unfreeze_submit(
    request: Request,
    member_id: MemberId,
    csrf: Annotated[str, Form(max_length=128)],
    totp: Annotated[str, Form(max_length=16)] = "",
    c: Console = Depends(console),
):
    """Give a frozen account back; the code typed into the form is the change's own second factor."""
    from offboard.actions import freeze as freeze_actions

    _check_form(request, csrf)
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            freeze_actions.unfreeze(uow, member_id, totp=totp.replace(" ", ""))
    except OffboardError as exc:
        if exc.status == 403:
            raise
        return _member_page(request, c, member_id, error=failure(request, exc), status_code=exc.status if 400 <= exc.status < 500 else 400)
    return RedirectResponse(f"/members/{member_id}?notice=unfrozen#freeze", status_code=303)


def _check_form(request: Request, csrf: str) -> None:
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, csrf)


@router.get("/departments")
def departments_page(request: Request, c: Console = Depends(console)):
    with c.read() as (conn, tenant, actor):
        tree = directory_q.list_departments(conn, tenant.id, actor)
    return render(request, "departments.html", c=c, tree=tree)


@router.get("/me")
def me_page(request: Request, c: Console = Depends(console)):
    now = request.app.state.services.clock.now()
    with c.read() as (conn, tenant, actor):
        member = members_q.show_member(conn, tenant.id, actor, actor.member_id, now=now)
        extras = me_extras(conn, tenant, actor, now)  # the exit request card (离职申请)
    return render(request, "me.html", c=c, member=member, tenant=tenant, **extras)
