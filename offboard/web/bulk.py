"""Console pages of bulk exits (R-EXIT-7, issue 10): HR uploads a file of departures, reads the
combined plan and each line's outcome, confirms, and watches the job run. The same actions as
`offboard bulk-exit` and POST /api/v1/exits/bulk: a page reads a form, calls them, shows their
answer.

A confirmed job runs in the background (`offboard serve`'s bulk thread, `offboard worker`), so
its page polls a fragment of its progress every second while it runs (htmx: the bar, the
counts by status and the lines on show), and is shown afresh once the job is done.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import quote, urlencode
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from offboard.actions import bulk_exits
from offboard.actions.auth import authenticate_session
from offboard.actions.context import tenant_transaction
from offboard.domain import bulk_file
from offboard.domain.authz import Action, needs_reverification
from offboard.domain.errors import OffboardError, ValidationError, error
from offboard.domain.vocabulary import JobState, ReasonCategory, ResourceKind, RowStatus
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.errors import failure
from offboard.http.locale import locale_of
from offboard.i18n import translate
from offboard.i18n.glossary import GLOSSARY, term
from offboard.queries.jobs import list_jobs, show_job
from offboard.web.exit_views import local_time
from offboard.web.rendering import render
from offboard.web.reverify import PostedForm, give_code, posted_form, refusal_status, with_retry_after
from offboard.web.session import PAGE_SIZE, Console, SignInRequired, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Csrf = Annotated[str, Form(max_length=128)]
UPLOAD_PAGE = "/exits/bulk"
# A file is cut into at most this many batches (each one transaction), so the progress bar moves
# in steps a person can follow; never more than bulk_exits.BATCH_SIZE leavers a batch.
PROGRESS_STEPS = 20


NOTICES = {
    "confirmed": _("Confirmed: the exits have started."),
    "cancelled": _("The bulk exit was cancelled; nothing was changed."),
}
CONFIRM_PURPOSE = _("Enter your 6-digit code to start these exits as planned.")
CANCEL_PURPOSE = _("Enter your 6-digit code to cancel this bulk exit.")

# The template a person downloads: the headers as HR writes them (bulk_file reads them back)
# and one line to overwrite.
TEMPLATE_NAME = "批量离职模板.csv"
TEMPLATE_HEADER = (
    *(term("bulk_column", key, "zh-CN") for key in ("userid", "reason_category", "reason", "successor")),
    *(f"接收人:{term('resource_kind', kind, 'zh-CN')}" for kind in (ResourceKind.EXTERNAL_CONTACT, ResourceKind.DOCUMENT)),
    term("bulk_column", "effective", "zh-CN"),
)
TEMPLATE_EXAMPLE = ("zhangsan", term("reason_category", ReasonCategory.DISMISSAL, "zh-CN"), "部门撤销", "lisi", "", "", "2026-01-31")


def _csrf(request: Request, csrf: str) -> None:
    token = session_token(request)
    assert token is not None, "every caller takes the console dependency, which refused a request without a session"
    check_csrf(request, token, csrf)


def batch_size_for(lines: int) -> int:
    return max(1, min(bulk_exits.BATCH_SIZE, -(-lines // PROGRESS_STEPS)))


# --- the upload --------------------------------------------------------------------------------


def _upload_page(request: Request, c: Console, *, form: dict[str, str] | None = None, error: dict | None = None, status: int = 200, page: int = 1) -> Response:
    with c.read() as (conn, tenant, actor):
        found = list_jobs(conn, tenant.id, actor, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    now = request.app.state.services.clock.now()
    return render(
        request,
        "exits_bulk.html",
        status_code=status,
        c=c,
        jobs=found,
        created={j.id: local_time(j.created_at, tenant.timezone) for j in found.items},
        page=page,
        pages=max(1, -(-found.total // PAGE_SIZE)),
        form=form or {"reason_category": ReasonCategory.RESIGNATION.value, "reason": ""},
        error=error,
        needs_code=needs_reverification(c.auth.actor, Action.START_REMOVAL, now),
        columns=[(key, term("bulk_column", key, "zh-CN"), term("bulk_column", key, "en")) for key in GLOSSARY["bulk_column"] if key != "type"],
        reasons=[r.value for r in ReasonCategory],
        max_mb=bulk_file.MAX_BYTES // (1024 * 1024),
        timezone=tenant.timezone,
    )


@router.get(UPLOAD_PAGE)
def upload_page(request: Request, c: Console = Depends(console), page: Annotated[int, Query(ge=1, le=100_000)] = 1):
    return _upload_page(request, c, page=page)


@router.get(UPLOAD_PAGE + "/template.csv")
def upload_template(c: Console = Depends(console)):
    """UTF-8 with a byte-order mark: Excel opens it in Chinese by a double click."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([TEMPLATE_HEADER, TEMPLATE_EXAMPLE])
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=\"bulk-exit.csv\"; filename*=UTF-8''{quote(TEMPLATE_NAME)}"},
    )


def _verified(request: Request, c: Console, code: str) -> None:
    """A file cannot be carried on to a page that asks for the code (a browser fills a file input
    only by hand), so when the last check is too old the upload form asks for the code itself;
    without one the person gives it at /reverify and comes back to the form."""
    if not needs_reverification(c.auth.actor, Action.START_REMOVAL, request.app.state.services.clock.now()):
        return
    if not code.strip():
        raise SignInRequired("/reverify?next=" + UPLOAD_PAGE)
    give_code(request, code)
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    c.auth = authenticate_session(request.app.state.services, token)


@router.post(UPLOAD_PAGE)
def upload_submit(
    request: Request,
    csrf: Csrf,
    c: Console = Depends(console),
    file: Annotated[UploadFile | None, File()] = None,
    reason_category: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    reverify_code: Annotated[str, Form(max_length=16)] = "",
):
    """Read and plan the file: a planned job, shown on its page; nothing else changes yet. A file
    that cannot be read comes back to this form with what is wrong, and no job is made."""
    _csrf(request, csrf)
    form = {"reason_category": reason_category, "reason": reason}
    try:
        _verified(request, c, reverify_code)
    except OffboardError as exc:
        return with_retry_after(exc, _upload_page(request, c, form=form, error=failure(request, exc), status=refusal_status(exc)))
    try:
        if file is None or not file.filename:
            raise error(ValidationError, "file_required", "Choose the file of departures (CSV or JSON) to upload.")
        data = file.file.read(bulk_file.MAX_BYTES + 1)  # one byte more than allowed is enough to refuse it
        name = file.filename
        defaults = bulk_exits.Defaults(reason_category=reason_category or None, reason=reason.strip() or None)
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            departures = bulk_file.read(data, name, uow.tenant.timezone)
            job_id = bulk_exits.create(uow, departures, name, defaults, batch_size=batch_size_for(len(departures.lines)))
    except OffboardError as exc:
        return _upload_page(request, c, form=form, error=failure(request, exc), status=exc.status)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


# --- a job -------------------------------------------------------------------------------------


def _job(request: Request, c: Console, job_id: int, status: str, page: int) -> dict[str, Any]:
    """What the job's page and its polled fragment show: the job in the reader's language, a
    page of its lines (of one status, when chosen), and its times in the enterprise's zone."""
    with c.read() as (conn, tenant, actor):
        view = show_job(conn, tenant.id, actor, job_id, status=status or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    kept = urlencode([*([("status", status)] if status else []), *([("page", page)] if page > 1 else [])])
    query = f"?{kept}" if kept else ""
    return {
        "job": view.in_language(locale_of(request)),
        "status": status,
        "page": page,
        "offset": (page - 1) * PAGE_SIZE,
        "pages": max(1, -(-view.lines_total // PAGE_SIZE)),
        "statuses": [s.value for s in RowStatus if view.counts.get(s.value)],
        "poll": f"/jobs/{job_id}/progress{query}",
        "here": f"/jobs/{job_id}{query}",
        "when": lambda value: local_time(value, tenant.timezone),
    }


def _job_page(request: Request, c: Console, job_id: int, *, status: str = "", page: int = 1, notice: str | None = None, error: dict | None = None, code: int = 200) -> Response:
    shown = _job(request, c, job_id, status, page)
    cannot = sum(shown["job"].counts.get(s, 0) for s in (RowStatus.INVALID, RowStatus.BLOCKED))
    message = translate(NOTICES[notice], locale_of(request)) if notice in NOTICES else None
    return render(request, "job.html", status_code=code, c=c, cannot=cannot, notice=message, error=error, **shown)


Status = Annotated[str, Query(max_length=16)]
Page = Annotated[int, Query(ge=1, le=100_000)]


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: Id, c: Console = Depends(console), status: Status = "", page: Page = 1, notice: Annotated[str | None, Query(max_length=16)] = None):
    return _job_page(request, c, job_id, status=status, page=page, notice=notice)


@router.get("/jobs/{job_id}/progress")
def job_progress(request: Request, job_id: Id, c: Console = Depends(console), status: Status = "", page: Page = 1):
    """Polled by the job's page every second while the job runs: the progress bar, and, swapped
    in out of band, the counts by status and the page of lines the reader is looking at. Once the
    job no longer runs, htmx is sent to the job's page again (without the notice of its
    confirmation), which then shows the outcome."""
    shown = _job(request, c, job_id, status, page)
    response = render(request, "_job_poll.html", c=c, **shown)
    if shown["job"].state != JobState.RUNNING:
        response.headers["HX-Redirect"] = shown["here"]
    return response


def _act(request: Request, c: Console, job_id: int, act: Any, notice: str) -> Response:
    try:
        with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
            act(uow, job_id)
    except OffboardError as exc:
        return _job_page(request, c, job_id, error=failure(request, exc), code=exc.status)
    return RedirectResponse(f"/jobs/{job_id}?notice={notice}", status_code=303)


@router.post("/jobs/{job_id}/confirm")
def confirm_submit(request: Request, job_id: Id, csrf: Csrf, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """Start the exits of the planned lines: from now on workers take the job's batches."""
    _csrf(request, csrf)
    c.require_recent_verification(Action.START_REMOVAL, f"/jobs/{job_id}", posted, CONFIRM_PURPOSE)
    return _act(request, c, job_id, bulk_exits.confirm, "confirmed")


@router.post("/jobs/{job_id}/cancel")
def cancel_submit(request: Request, job_id: Id, csrf: Csrf, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    _csrf(request, csrf)
    c.require_recent_verification(Action.START_REMOVAL, f"/jobs/{job_id}", posted, CANCEL_PURPOSE)
    return _act(request, c, job_id, bulk_exits.cancel, "cancelled")
