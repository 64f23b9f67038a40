"""Console: a member's compliance report (SPEC §8), the page the PDF is rendered from. Reading
the page is audited like taking the report; it proves the events against the latest checkpoint
as it is. The PDF and JSON downloads (forms: they sign a checkpoint first, so every event is
proven) are the action the API and the CLI call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from offboard.actions import compliance
from offboard.actions.context import tenant_transaction
from offboard.exports.report import STYLESHEET, report_html
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.downloads import download
from offboard.http.locale import locale_of
from offboard.web.session import Console, console

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Format = Annotated[str, Path(pattern="^(pdf|json)$")]
Csrf = Annotated[str, Form(max_length=128)]


def _write(request: Request, c: Console):
    return tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor)


@router.get("/members/{member_id}/compliance-report")
def report_page(request: Request, member_id: Id, c: Console = Depends(console)) -> HTMLResponse:
    locale = locale_of(request)
    with _write(request, c) as uow:
        found = compliance.compliance_report(uow, member_id, fmt="page", locale=locale, sign=False)
        policy = uow.policy
    forms = {"pdf": f"/members/{member_id}/compliance-report.pdf", "json": f"/members/{member_id}/compliance-report.json"}
    links = {"data": f"/members/{member_id}/data"}
    return HTMLResponse(report_html(found, policy, locale, stylesheet_href="/compliance-report.css", links=links, forms=forms, csrf=c.csrf))


@router.post("/members/{member_id}/compliance-report.{fmt}")
def report_download(request: Request, member_id: Id, fmt: Format, csrf: Csrf, c: Console = Depends(console)) -> Response:
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, csrf)
    with _write(request, c) as uow:
        made = compliance.export_report(uow, member_id, fmt, locale_of(request))
    return download(made.file)


@router.get("/compliance-report.css")
def report_stylesheet() -> Response:
    return Response(STYLESHEET, media_type="text/css")
