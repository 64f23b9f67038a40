"""REST: the enterprise's approval records as a CSV or JSON download (R-DATA-3), audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from offboard.actions import approval_export
from offboard.actions.context import Services, tenant_transaction
from offboard.api.deps import TenantScope, services, tenant_scope

router = APIRouter(prefix="/api/v1")


def _stream(svc: Services, taken: approval_export.ApprovalExport) -> Iterator[bytes]:
    # A read transaction of its own: the audited write one has committed, and a slow download
    # holds no lock a writer waits on.
    with svc.db.read() as conn:
        yield from taken.chunks(conn)


@router.get(
    "/approvals/export",
    tags=["data"],
    summary="Download the approval records (approval tasks and reimbursements) as CSV or JSON (R-DATA-3); audited",
    response_class=Response,
    responses={200: {"content": {media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}} for media in approval_export.MEDIA_TYPES.values()}}},
)
def get_approvals_export(
    request: Request,
    format: Annotated[Literal["csv", "json"], Query(description="csv (UTF-8 with a byte-order mark) or json")] = "csv",
    member: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this member's records (userid)")] = None,
    state: Annotated[str | None, Query(min_length=1, max_length=16, description="Only records in this state: pending, approved, open, closed, ...")] = None,
    from_day: Annotated[str | None, Query(alias="from", min_length=10, max_length=10, description="Created on or after this day (YYYY-MM-DD, the enterprise's time zone)")] = None,
    until_day: Annotated[str | None, Query(alias="until", min_length=10, max_length=10, description="Created on or before this day (YYYY-MM-DD)")] = None,
    to: Annotated[str | None, Query(min_length=2, max_length=8, description="The data region the file goes to, when not the records' own (R-LAW-4)")] = None,
    legal_basis: Annotated[str | None, Query(min_length=1, max_length=40, description="For another region: security_assessment, certification, standard_contract or separate_consent")] = None,
    basis_reference: Annotated[str | None, Query(min_length=1, max_length=200, description="Where the legal basis is recorded")] = None,
    scope: TenantScope = Depends(tenant_scope),
) -> Response:
    svc = services(request)
    with tenant_transaction(svc, scope.slug, actor=scope.auth.actor) as uow:
        taken = approval_export.export_approvals(
            uow, fmt=format, member=member, state=state, from_day=from_day, until_day=until_day, destination=to, legal_basis=legal_basis, basis_reference=basis_reference
        )
    # Personal data: no shared or browser cache keeps a copy of the file.
    headers = {"Content-Disposition": taken.content_disposition, "Cache-Control": "no-store", "X-Offboard-Records": str(taken.count)}
    return StreamingResponse(_stream(svc, taken), media_type=taken.media_type, headers=headers)
