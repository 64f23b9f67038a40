"""REST: bulk exits (R-EXIT-7) and the jobs that run them."""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field

from offboard.actions import bulk_exits
from offboard.actions.context import UnitOfWork, tenant_read, tenant_transaction
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import Strict
from offboard.domain import bulk_file
from offboard.domain.errors import ValidationError, error
from offboard.http.locale import locale_of
from offboard.queries.jobs import JobView, show_job

router = APIRouter(prefix="/api/v1")
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Ref = Annotated[str, Field(min_length=1, max_length=64)]


class Departure(Strict):
    userid: Ref
    type: Annotated[str, Field(max_length=16)] | None = None
    reason_category: Annotated[str, Field(max_length=16)] | None = None
    reason: Annotated[str, Field(max_length=2000)] | None = None
    successor: Ref | None = None
    acceptors: Annotated[dict[Annotated[str, Field(max_length=24)], Ref], Field(max_length=10)] | None = Field(default=None, description="kind -> userid")
    effective: Annotated[str, Field(max_length=32)] | None = Field(default=None, description="Leave date YYYY-MM-DD (end of that day in the enterprise's time zone) or an ISO time")


class DepartureFile(Strict):
    name: Annotated[str, Field(min_length=1, max_length=255, description="The file's name; .json is read as JSON, anything else as CSV")]
    content_base64: Annotated[str, Field(min_length=1, max_length=(bulk_file.MAX_BYTES * 4) // 3 + 4, description="The file's bytes, base64: UTF-8 or GBK, as Excel saves it")]


class BulkExitRequest(Strict):
    departures: Annotated[list[Departure], Field(min_length=1, max_length=bulk_file.MAX_LINES)] | None = Field(default=None, description="The departures as objects")
    file: DepartureFile | None = Field(default=None, description="Or the departures as a CSV or JSON file, as HR exports it")
    reason_category: Annotated[str, Field(max_length=16)] | None = Field(default=None, description="For departures that give none")
    reason: Annotated[str, Field(max_length=2000)] | None = Field(default=None, description="For departures that give none")
    dry_run: bool = Field(default=False, description="Return the combined plan and keep nothing")
    confirm: bool = Field(default=False, description="Confirm at once: workers start on it (otherwise POST /jobs/{id}/confirm after looking at the plan)")


class _DryRun(Exception):
    def __init__(self, view: JobView) -> None:
        self.view = view


def _bulk(request: Request, response: Response, scope: TenantScope, departures: Any, source: str, defaults: bulk_exits.Defaults, *, dry_run: bool, confirm: bool) -> JobView:
    locale = locale_of(request)

    def _view(uow: UnitOfWork, job_id: int) -> JobView:
        return show_job(uow.conn, uow.tenant_id, uow.actor, job_id).in_language(locale)

    try:
        with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
            job_id = bulk_exits.create(uow, departures(uow.tenant.timezone), source, defaults)
            if dry_run:
                raise _DryRun(replace(_view(uow, job_id), dry_run=True))
            if confirm:
                bulk_exits.confirm(uow, job_id)
            return _view(uow, job_id)
    except _DryRun as planned:  # rolled back: nothing is kept, nothing is created
        response.status_code = 200
        return planned.view


@router.post("/exits/bulk", status_code=201, tags=["bulk exits"], summary="Plan many exits together (R-EXIT-7); with confirm, workers run them")
def post_bulk_exit(request: Request, response: Response, body: BulkExitRequest, scope: TenantScope = Depends(tenant_scope)) -> JobView:
    """Each departure's outcome is in `lines` (its status, and issues that say what is wrong);
    one bad departure never stops the others. The job's progress: GET /api/v1/jobs/{id}."""
    defaults = bulk_exits.Defaults(reason_category=body.reason_category, reason=body.reason)
    if (body.departures is None) == (body.file is None):
        raise error(ValidationError, "departures_required", "Give the departures either as a list (departures) or as a file (file), not both.")
    if body.file is not None:
        try:
            data = base64.b64decode(body.file.content_base64, validate=True)
        except binascii.Error:
            raise error(ValidationError, "file_unreadable", "file.content_base64 is not base64.") from None
        name = body.file.name
        return _bulk(request, response, scope, lambda tz: bulk_file.read(data, name, tz), name, defaults, dry_run=body.dry_run, confirm=body.confirm)
    records = [d.model_dump(exclude_none=True) for d in body.departures or []]
    return _bulk(request, response, scope, lambda tz: bulk_file.from_records(records, tz), "api", defaults, dry_run=body.dry_run, confirm=body.confirm)


@router.get("/jobs/{job_id}", tags=["bulk exits"], summary="A bulk job: its state, progress, combined plan and a page of its lines")
def get_job(
    request: Request,
    job_id: PathId,
    scope: TenantScope = Depends(tenant_scope),
    status: Annotated[str | None, Query(max_length=16, description="Only lines in this status: invalid, blocked, ready, exited, scheduled, failed")] = None,
    limit: Annotated[int, Query(ge=0, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JobView:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return show_job(conn, tenant.id, actor, job_id, status=status, limit=limit, offset=offset).in_language(locale_of(request))


@router.post("/jobs/{job_id}/confirm", tags=["bulk exits"], summary="Confirm a planned bulk exit: workers take its batches")
def post_job_confirm(request: Request, job_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> JobView:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        bulk_exits.confirm(uow, job_id)
        return show_job(uow.conn, uow.tenant_id, uow.actor, job_id).in_language(locale_of(request))


@router.post("/jobs/{job_id}/cancel", tags=["bulk exits"], summary="Drop a planned bulk exit before it runs")
def post_job_cancel(request: Request, job_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> JobView:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        bulk_exits.cancel(uow, job_id)
        return show_job(uow.conn, uow.tenant_id, uow.actor, job_id).in_language(locale_of(request))
