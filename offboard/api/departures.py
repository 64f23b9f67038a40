"""REST: the HR leave-date feed (issue 13, R-EXIT-8): departures in, scheduled exits out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from offboard.actions import departures as feed_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import Strict
from offboard.domain import bulk_file
from offboard.domain import departures as feed
from offboard.http.locale import locale_of
from offboard.queries import departures as feed_queries

router = APIRouter(prefix="/api/v1")
Ref = Annotated[str, Field(min_length=1, max_length=64, description="A userid.")]


class FeedDeparture(Strict):
    userid: Ref
    leave_date: Annotated[str, Field(min_length=1, max_length=32, description="YYYY-MM-DD: the exit takes effect at the end of that day in the enterprise's time zone")]
    reason: Annotated[str, Field(max_length=2000)] | None = Field(default=None, description=f"Kept in the audit trail; {feed.DEFAULT_REASON!r} when left out")
    reason_category: Annotated[str, Field(max_length=16)] | None = Field(
        default=None, description="resignation, dismissal, contract_end, retirement, transfer or other (the default), or HR's word for it"
    )
    successor: Ref | None = Field(default=None, description="Who receives what no acceptor is named for")
    acceptors: Annotated[dict[Annotated[str, Field(max_length=24)], Ref], Field(max_length=10)] | None = Field(default=None, description="kind -> userid")


class DeparturesRequest(Strict):
    departures: Annotated[list[FeedDeparture], Field(min_length=1)] = Field(description=f"At most {feed.MAX_LINES} departures a request")
    accept_valid: bool = Field(default=False, description="Import the good departures even when some cannot be: without it, one bad departure changes nothing")


@router.post("/departures", tags=["departures"], summary="The HR leave-date feed: each departure becomes a scheduled exit (R-EXIT-8)")
def post_departures(request: Request, body: DeparturesRequest, scope: TenantScope = Depends(tenant_scope)) -> feed_actions.DepartureImport:
    """Enabled where exits start from the HR system (exit_automation hr_sync); elsewhere 409
    exit_trigger_disabled names the mode. Each departure's outcome is in `lines`: scheduled,
    moved (the member's scheduled exit, to the new date), unchanged (sent before: the same
    request again changes nothing), already_left, or invalid with its issues. `applied` is false
    when a departure is invalid and accept_valid was not given: then nothing changed. A date
    already past is scheduled too; the worker's next sweep makes it take effect."""
    records = [d.model_dump(exclude_none=True) for d in body.departures]
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        read = bulk_file.from_records(records, uow.tenant.timezone)
        result = feed_actions.import_departures(uow, read, "api", accept_valid=body.accept_valid)
    return result.in_language(locale_of(request))


@router.get("/departures", tags=["departures"], summary="The leave dates the HR feed imported, newest first, with their exits")
def get_departures(
    request: Request,
    scope: TenantScope = Depends(tenant_scope),
    state: Annotated[str | None, Query(max_length=16, description="Only departures whose exit is in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> feed_queries.DeparturePage:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return feed_queries.list_departures(conn, tenant.id, actor, state=state, limit=limit, offset=offset)
