"""Console: a member's data under the law (R-LAW-1, R-LAW-2, R-DATA-1). For HR and the auditors,
a departed member's data page: what is kept of each kind of record, until when and why, whether
it is sealed, the legal holds on it, the erasure requests with their schedule, who read it; the
forms that place and release a hold, file an erasure request on the member's behalf and read
their chats (each read audited with its reason). For every member, their own data page and the
form of their own erasure request.

Every rule lives in the actions (offboard.actions.holds, erasure, chats) and the read models
(offboard.queries.data_lifecycle, data_accesses): a page reads a form, calls the action, and
shows its answer, or its refusal beside the form with what was typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from offboard.actions import chats, erasure, holds
from offboard.actions.context import tenant_transaction
from offboard.actions.members import target_of
from offboard.domain.authz import Action, allowed
from offboard.domain.data_lifecycle import Level, RecordKind, Step
from offboard.domain.errors import OffboardError
from offboard.domain.policy import DataClearing, Policy
from offboard.domain.vocabulary import MemberStatus
from offboard.exports import data_words
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.locale import locale_of
from offboard.i18n import Terms, glossary, translate
from offboard.queries import data_accesses
from offboard.queries import data_lifecycle as data_q
from offboard.queries.conversations import conversations
from offboard.store import repo
from offboard.web import exit_views as views
from offboard.web.rendering import render
from offboard.web.reverify import PostedForm, posted_form
from offboard.web.session import Console, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Csrf = Annotated[str, Form(max_length=128)]
Text = Annotated[str, Form(max_length=2000)]
Choices = Annotated[list[str] | None, Form(max_length=16)]
Notice = Annotated[str | None, Query(max_length=16)]
CHAT_PAGE = 50  # messages a read shows; the next page is a read of its own, audited again
DEPARTED = (MemberStatus.EXITED, MemberStatus.FINALIZED)

NOTICES = {
    "held": _("The legal hold is placed: nothing it covers is erased until it is released."),
    "released": _("The legal hold is released: the erasures it held back run with the next sweep."),
    "filed": _("The erasure request is filed. Its schedule is below: what could be erased now is erased already, the rest runs when its time comes."),
}
PURPOSES = {
    "hold": _("Enter your 6-digit code to place the legal hold."),
    "release": _("Enter your 6-digit code to release the legal hold."),
    "erasure": _("Enter your 6-digit code to file the erasure request."),
    "chats": _("Enter your 6-digit code to read the chats; the read is recorded with your reason."),
}
# A refused field named in words (validation.text names it by its key).
FIELDS = {"reason": _("The reason"), "verified": _("How the identity was verified")}

MILESTONES = {
    "exited": _("{name} left the enterprise"),
    "held": _("Legal hold placed: what it covers is kept until it is released"),
    "retention": _("The chat retention ends: chat messages may be erased from this day"),
    "erased": _("{step}: done"),
}
# When an erasure step runs (data_lifecycle.ScheduledStep: state, waiting_for).
WHEN = {
    "done": _("Done on {at}"),
    "kept": _("Kept until a compliant deletion"),
    "retention": _("Runs on {at}, when the retention ends"),
    "hold": _("Runs after the legal hold is released"),
    "finalization": _("Runs after the exit is finalized"),
    "due": _("Runs on {at}"),
}
SCOPES = {"whole_account": _("The whole account"), "selective": _("Modules: {modules}")}
EVERY_KIND = _("Every kind of their records")
UNREADABLE = {
    "destroyed": _("This message can no longer be opened: its data key was destroyed by an erasure request."),
    "present": _("This message cannot be opened: its sealed record was changed or damaged. The other messages are not affected."),
    "none": _("This message cannot be opened: there is no data key for it. The other messages are not affected."),
}
CONVERSATIONS = {"group": _("Group chat {name}"), "direct": _("Direct chat with {name}")}
UNKNOWN_CONVERSATION = {"group": _("A group chat"), "direct": _("A direct chat"), "other": _("Another conversation")}


def _check_form(request: Request, csrf: str) -> None:
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, csrf)


def _milestones(data: data_q.MemberData, tz: str, locale: str) -> list[dict[str, str]]:
    """The dated moments of the retention, oldest first: the exit, the holds placed, the erasure
    steps done and the end of the chat retention."""
    found: list[tuple[datetime, str]] = []
    if data.exited_at:
        found.append((data.exited_at, translate(MILESTONES["exited"], locale, name=data.name)))
    found += [(h.placed_at, translate(MILESTONES["held"], locale)) for h in data.holds if h.released_at is None]
    found += [(s.done_at, translate(MILESTONES["erased"], locale, step=glossary.term("erasure_step", s.step, locale))) for r in data.requests for s in r.steps if s.state == "done" and s.done_at]
    chat = next((k for k in data.kept if k.kind == RecordKind.CHAT), None)
    if chat and chat.records and chat.why == "retention" and chat.until:
        found.append((chat.until, translate(MILESTONES["retention"], locale)))
    return [{"at": data_words.day(at, tz), "text": text} for at, text in sorted(found, key=lambda m: m[0])]


def _step(step: data_q.ScheduledStep, tz: str, locale: str) -> dict[str, Any]:
    if step.state == "done":
        when = translate(WHEN["done"], locale, at=data_words.day(step.done_at, tz))
    elif step.state == "kept":
        when = translate(WHEN["kept"], locale)
    else:
        when = translate(WHEN[step.waiting_for or "due"], locale, at=data_words.day(step.due_at, tz))
    return {"step": step.step, "state": step.state, "when": when, "rows": step.rows}


def _scope(request_: data_q.Request, locale: str) -> str:
    if request_.mode == DataClearing.LEVELS:
        return glossary.term("erasure_level", request_.scope.get("level"), locale)
    return translate(SCOPES[request_.mode], locale, modules=Terms("record_kind", tuple(request_.scope.get("modules", ()))))


def _requests(data: data_q.MemberData, names: dict[str, str], tz: str, locale: str) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "state": r.state,
            "scope": _scope(r, locale),
            "reason": r.reason,
            "verified": r.verified,
            "by": names.get(r.requested_by, r.requested_by),
            "own": r.requested_by == f"member:{data.member_id}",
            "filed": views.local_time(r.created_at, tz),
            "steps": [_step(s, tz, locale) for s in r.steps],
        }
        for r in data.requests
    ]


def _holds(data: data_q.MemberData, names: dict[str, str], tz: str, locale: str) -> list[dict[str, Any]]:
    return [
        {
            "id": h.id,
            "active": h.released_at is None,
            "kinds": glossary.join((glossary.term("record_kind", k, locale) for k in h.kinds), locale) if h.kinds else translate(EVERY_KIND, locale),
            "reason": h.reason,
            "placed_by": names.get(h.placed_by, h.placed_by),
            "placed_at": views.local_time(h.placed_at, tz),
            "released_by": names.get(h.released_by, h.released_by) if h.released_by else None,
            "released_at": views.local_time(h.released_at, tz) if h.released_at else None,
            "release_reason": h.release_reason,
        }
        for h in data.holds
    ]


def _failure(request: Request, exc: OffboardError) -> dict[str, str]:
    """A refusal beside its form, a field it names by its key named in words."""
    params: dict[str, Any] = dict(exc.params)
    locale = locale_of(request)
    if params.get("field") in FIELDS:
        params["field"] = translate(FIELDS[params["field"]], locale)
    return {"code": exc.code, "message": translate(exc.template, locale, **params)}


def _data_page(
    request: Request,
    c: Console,
    member_id: int,
    *,
    own: bool = False,
    notice: str | None = None,
    failed: str | None = None,
    error: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The data page of a member (their own with `own`); after a refused form (`failed`: hold,
    release-{id}, erasure or chats), its refusal beside it and what was typed into it."""
    locale = locale_of(request)
    with c.read() as (conn, tenant, actor):
        data = data_q.member_data(conn, tenant, actor, member_id)
        target = target_of(conn, tenant.id, repo.member_by_id(conn, tenant.id, member_id))
        policy = Policy.of(tenant.profile, tenant.policy)
        refs = {r.requested_by for r in data.requests} | {h.placed_by for h in data.holds} | {h.released_by for h in data.holds if h.released_by}
        names = views.people(conn, tenant.id, refs, locale)
        can = {
            "directory": allowed(actor, Action.READ_DIRECTORY, target),
            "hold": not own and allowed(actor, Action.LEGAL_HOLD, target),
            "chats": not own and data.status in DEPARTED and allowed(actor, Action.READ_DEPARTED_CHATS, target),
            "erase": data.status != MemberStatus.ERASED,
            "accesses": not own and data_accesses.may_read(actor, target),
            "report": not own and allowed(actor, Action.READ_AUDIT) and allowed(actor, Action.DATA_REQUESTS, target),  # offboard.actions.compliance
        }
        accesses = data_accesses.accesses(conn, tenant, actor, member_id, locale=locale) if can["accesses"] else []
        exit_links = views.member_exit_links(conn, tenant.id, actor, member_id) if can["directory"] else None
    tz = tenant.timezone
    return render(
        request,
        "data.html",
        status_code=status_code,
        c=c,
        own=own,
        data=data,
        exited=data_words.day(data.exited_at, tz) if data.exited_at else None,
        kept=data_words.kept_rows(data, policy, tz, locale, own=own),
        milestones=_milestones(data, tz, locale),
        seal=data_words.seal_words(data, locale),
        holds=_holds(data, names, tz, locale),
        requests=_requests(data, names, tz, locale),
        accesses=accesses,
        exit=exit_links["exit"] if exit_links else None,
        can=can,
        everything_asked={s.step for r in data.requests for s in r.steps} >= set(Step),  # a new request would add nothing
        mode=policy.data_clearing.value,
        modules=[k.value for k in RecordKind],
        levels=[lv.value for lv in Level],
        notice=translate(NOTICES[notice], locale) if notice in NOTICES else None,
        failed=failed if error else None,
        error=error,
        typed=typed or {},
        lang_back="/me/data" if own else f"/members/{member_id}/data",  # also after a refused POST
    )


def _refused(request: Request, c: Console, member_id: int, form: str, exc: OffboardError, typed: dict[str, Any], *, own: bool = False) -> Response:
    """A form refused on its data: the page again, the refusal beside that form, what was typed
    kept. A refusal of the person (403) is the error page: there is no form of theirs to show."""
    if exc.status == 403:
        raise exc
    status = exc.status if 400 <= exc.status < 500 else 400
    return _data_page(request, c, member_id, own=own, failed=form, error=_failure(request, exc), typed=typed, status_code=status)


def _write(request: Request, c: Console):
    return tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor)


def _me(c: Console) -> int:
    assert c.auth.actor.member_id is not None, "a console session is a member's"
    return c.auth.actor.member_id


@router.get("/members/{member_id}/data")
def data_page(request: Request, member_id: Id, c: Console = Depends(console), notice: Notice = None):
    if member_id == c.auth.actor.member_id:
        return RedirectResponse("/me/data", status_code=303)  # one's own data has a page of its own
    return _data_page(request, c, member_id, notice=notice)


@router.get("/me/data")
def my_data_page(request: Request, c: Console = Depends(console), notice: Notice = None):
    return _data_page(request, c, _me(c), own=True, notice=notice)


@router.post("/members/{member_id}/data/holds")
def place_hold_submit(request: Request, member_id: Id, csrf: Csrf, reason: Text = "", kinds: Choices = None, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """A legal hold on every kind of the member's records, or on the kinds ticked (R-LAW-2)."""
    _check_form(request, csrf)
    c.require_recent_verification(Action.LEGAL_HOLD, f"/members/{member_id}/data#holds", posted, purpose=PURPOSES["hold"])
    try:
        with _write(request, c) as uow:
            holds.place_hold(uow, member_id, reason=reason, kinds=kinds or None)
    except OffboardError as exc:
        return _refused(request, c, member_id, "hold", exc, {"reason": reason, "kinds": kinds or []})
    return RedirectResponse(f"/members/{member_id}/data?notice=held#holds", status_code=303)


@router.post("/members/{member_id}/data/holds/{hold_id}/release")
def release_hold_submit(request: Request, member_id: Id, hold_id: Id, csrf: Csrf, reason: Text = "", c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    _check_form(request, csrf)
    c.require_recent_verification(Action.LEGAL_HOLD, f"/members/{member_id}/data#holds", posted, purpose=PURPOSES["release"])
    try:
        with _write(request, c) as uow:
            holds.release_hold(uow, hold_id, reason=reason)
            held = holds.hold_member(uow, hold_id)  # the hold's own member, whatever the address said
    except OffboardError as exc:
        return _refused(request, c, member_id, f"release-{hold_id}", exc, {"reason": reason})
    return RedirectResponse(f"/members/{held}/data?notice=released#holds", status_code=303)


def _file_erasure(request: Request, c: Console, member_id: int, typed: dict[str, Any], *, own: bool) -> Response:
    """The request, by the tenant's data-clearing mode (R-LAW-1); the action refuses what the
    mode does not take and, on someone else's behalf, a request that says no verification."""
    try:
        with _write(request, c) as uow:
            erasure.request_erasure(uow, member_id, reason=typed["reason"], modules=typed["modules"] or None, level=typed["level"] or None, verified=typed["verified"] or None)
    except OffboardError as exc:
        return _refused(request, c, member_id, "erasure", exc, typed, own=own)
    back = "/me/data" if own else f"/members/{member_id}/data"
    return RedirectResponse(f"{back}?notice=filed#requests", status_code=303)


@router.post("/members/{member_id}/data/erasure")
def erasure_submit(
    request: Request,
    member_id: Id,
    csrf: Csrf,
    reason: Text = "",
    verified: Text = "",
    modules: Choices = None,
    level: Annotated[str, Form(max_length=4)] = "",
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    """An erasure request filed for the member, saying how their identity was verified (R-LAW-1)."""
    _check_form(request, csrf)
    c.require_recent_verification(Action.DATA_REQUESTS, f"/members/{member_id}/data#erase", posted, purpose=PURPOSES["erasure"])
    return _file_erasure(request, c, member_id, {"reason": reason, "verified": verified, "modules": modules or [], "level": level}, own=False)


@router.post("/me/data/erasure")
def my_erasure_submit(
    request: Request,
    csrf: Csrf,
    reason: Text = "",
    modules: Choices = None,
    level: Annotated[str, Form(max_length=4)] = "",
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    """The signed-in member's own erasure request (R-LAW-1)."""
    _check_form(request, csrf)
    c.require_recent_verification(Action.DATA_REQUESTS, "/me/data#erase", posted, purpose=PURPOSES["erasure"])
    return _file_erasure(request, c, _me(c), {"reason": reason, "verified": "", "modules": modules or [], "level": level}, own=True)


@router.post("/members/{member_id}/data/chats")
def read_chats_submit(
    request: Request,
    member_id: Id,
    csrf: Csrf,
    reason: Text = "",
    after: Annotated[int, Form(ge=0, le=2**63 - 1)] = 0,
    seen: Annotated[int, Form(ge=0, le=10**9)] = 0,
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    """A page of the departed member's messages, read with a reason; each page is a read of its
    own in the audit trail (R-DATA-1, INV-9)."""
    _check_form(request, csrf)
    c.require_recent_verification(Action.READ_DEPARTED_CHATS, f"/members/{member_id}/data#chats", posted, purpose=PURPOSES["chats"])
    locale = locale_of(request)
    try:
        with _write(request, c) as uow:
            page = chats.read_chats(uow, member_id, reason=reason, after=after, limit=CHAT_PAGE)
            named = conversations(uow.conn, uow.tenant_id, member_id, [line.conversation for line in page.lines])
            # Why a message does not open: its key destroyed by an erasure, or its record damaged.
            key = data_q.member_data(uow.conn, uow.tenant, uow.actor, member_id).data_key if any(line.body is None for line in page.lines) else "present"
            tz = uow.tenant.timezone
    except OffboardError as exc:
        return _refused(request, c, member_id, "chats", exc, {"reason": reason})
    lines = []
    for line in page.lines:
        where = named[line.conversation]
        said = translate(CONVERSATIONS[where.kind], locale, name=where.name) if where.name else translate(UNKNOWN_CONVERSATION[where.kind], locale)
        lines.append({"at": views.local_time(line.sent_at, tz), "conversation": said, "body": line.body, "problem": None if line.body is not None else translate(UNREADABLE[key], locale)})
    return render(
        request,
        "data_chats.html",
        c=c,
        page=page,
        lines=lines,
        reason=reason,
        first=seen + 1,
        last=seen + len(lines),
        lang_back=f"/members/{member_id}/data",  # this answer is to a POST: a language switch goes back to the data page
    )
