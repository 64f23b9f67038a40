"""Console pages of the exports (SPEC §7): the handover sheet as a printable page, and the
downloads of the sheet as a PDF and of the ledger and the checklist as XLSX or CSV. Each
download is the action the API and the CLI call, audited in its transaction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from offboard.actions.context import tenant_transaction
from offboard.actions.exports import export
from offboard.exports.sheet import STYLESHEET, sheet_html
from offboard.http.downloads import download
from offboard.http.locale import locale_of
from offboard.queries.handover import handover_sheet
from offboard.web.session import Console, console

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Word = Annotated[str, Path(max_length=24)]


def _download(request: Request, c: Console, exit_id: int, what: str, fmt: str) -> Response:
    with tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor) as uow:
        found = export(uow, exit_id, what, fmt, locale_of(request))
    return download(found)


@router.get("/exits/{exit_id}/export/{what}.{fmt}")
def export_download(request: Request, exit_id: Id, what: Word, fmt: Word, c: Console = Depends(console)) -> Response:
    return _download(request, c, exit_id, what, fmt)


@router.get("/exits/{exit_id}/handover-sheet.pdf")
def handover_pdf(request: Request, exit_id: Id, c: Console = Depends(console)) -> Response:
    return _download(request, c, exit_id, "handover-sheet", "pdf")


@router.get("/exits/{exit_id}/handover-sheet")
def handover_page(request: Request, exit_id: Id, c: Console = Depends(console)) -> HTMLResponse:
    """The sheet to read or print; the same template the PDF is rendered from."""
    with c.read() as (conn, tenant, actor):
        found = handover_sheet(conn, tenant, actor, exit_id, request.app.state.services.clock.now())
    links = {"exit": f"/exits/{exit_id}", "pdf": f"/exits/{exit_id}/export/handover-sheet.pdf"}
    return HTMLResponse(sheet_html(found, locale_of(request), stylesheet_href="/handover-sheet.css", links=links))


@router.get("/handover-sheet.css")
def handover_stylesheet() -> Response:
    return Response(STYLESHEET, media_type="text/css")
