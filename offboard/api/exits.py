"""REST: plans, exits, inheritance, transfer results, restore, checklist, sign-off, inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field

from offboard.actions import checklist as cl_actions
from offboard.actions import exits as exit_actions
from offboard.actions import inheritance, ledger_bulk, restore
from offboard.domain.ledger_bulk import Selection, action_of
from offboard.actions.exports import MEDIA_TYPES, export
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.queries import checklist as cl_queries
from offboard.queries import exits as exit_queries
from offboard.queries.checklist import ChecklistBoard, ExitChecklist
from offboard.queries.exits import ExitPage, ExitSummary, LedgerPage, PlanView
from offboard.queries.inbox import Inbox, inbox
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import DbId, Strict
from offboard.domain.errors import ValidationError, error
from offboard.http.downloads import download
from offboard.http.locale import locale_of

router = APIRouter(prefix="/api/v1")
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Ref = Annotated[str, Field(min_length=1, max_length=64, description="A userid.")]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class PlanRequest(Strict):
    successor: Ref | None = None
    acceptors: Annotated[dict[Annotated[str, Field(max_length=24)], Ref], Field(max_length=10)] | None = Field(default=None, description="kind -> userid")


class ExitRequest(PlanRequest):
    member_id: DbId
    type: Annotated[str, Field(max_length=16)] = "removal"
    reason_category: Annotated[str, Field(max_length=16)]
    reason: Text
    plan_id: DbId | None = None
    effective_at: datetime | None = Field(default=None, description="A future time makes a scheduled exit (ISO 8601 with time zone).")


class SelfExitRequest(Strict):
    reason_category: Annotated[str, Field(max_length=16)] = "resignation"
    reason: Text
    plan_id: DbId | None = None
    effective_at: datetime | None = None


class RescheduleRequest(Strict):
    effective_at: datetime = Field(description="The new effective time, ISO 8601 with time zone; one already past takes effect on the worker's next sweep.")


class RestoreRequest(Strict):
    totp: Annotated[str, Field(min_length=6, max_length=8)]
    reason: Text


class InheritRequest(Strict):
    kind: Annotated[str, Field(max_length=24)]
    to: Ref
    resource_ids: Annotated[list[DbId], Field(min_length=1, max_length=10000)] | None = None


class BulkRequest(Strict):
    action: Annotated[
        str, Field(max_length=16, description="result (record an outcome of waiting transfers), reassign (hand waiting transfers to another acceptor) or inherit (give unassigned resources)")
    ]
    state: Annotated[str, Field(max_length=16, description="The outcome, for result: done, refused or acceptor_full")] | None = None
    to: Ref | None = Field(default=None, description="The acceptor's userid, for reassign and inherit")
    correlation_ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=36)]], Field(max_length=10000)] | None = None
    everything: bool = Field(default=False, description="Every newest ledger row of the exit the action applies to (of `kind`, in `in_state`) instead of correlation_ids")
    kind: Annotated[str, Field(max_length=24)] | None = None
    in_state: Annotated[str, Field(max_length=16)] | None = Field(default=None, description="With everything: only the rows in this state")
    expected: Annotated[int, Field(ge=0)] | None = Field(default=None, description="The count the caller expects; refused with selection_changed when it no longer holds")


class ResultRequest(Strict):
    state: Annotated[str, Field(max_length=16)]


class Evidence(Strict):
    evidence: Annotated[str, Field(min_length=1, max_length=4000)]


class GrantAck(Evidence):
    app: Annotated[str, Field(max_length=128)] | None = None


class SignoffRequest(Strict):
    role: Annotated[str, Field(max_length=8)]


@dataclass(frozen=True)
class GrantsAcknowledged:
    acknowledged: int  # grants recorded as told to re-authorize


@dataclass(frozen=True)
class ReimbursementsClosed:
    closed: int  # open reimbursements recorded as settled


def _write(request: Request, scope: TenantScope):
    return tenant_transaction(services(request), scope.slug, actor=scope.auth.actor)


def _read(request: Request, scope: TenantScope):
    return tenant_read(services(request), scope.slug, actor=scope.auth.actor)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise error(ValidationError, "timezone_required", "effective_at needs a time zone, e.g. 2026-12-31T18:00:00+08:00.")
    return value


@router.post("/members/{member_id}/exit-plans", status_code=201, tags=["exits"], summary="Plan an exit (R-EXIT-5); changes nothing else")
def post_plan(request: Request, member_id: PathId, body: PlanRequest, scope: TenantScope = Depends(tenant_scope)) -> PlanView:
    with _write(request, scope) as uow:
        result = exit_actions.plan(uow, member_id, successor=body.successor, acceptors=body.acceptors)
    return result.in_language(locale_of(request))


@router.post("/exits", status_code=201, tags=["exits"], summary="Start an exit (with the plan_id that was shown), or schedule it")
def post_exit(request: Request, body: ExitRequest, scope: TenantScope = Depends(tenant_scope)) -> ExitSummary:
    with _write(request, scope) as uow:
        return exit_actions.start_exit(
            uow,
            body.member_id,
            type=body.type,
            reason_category=body.reason_category,
            reason=body.reason,
            plan_id=body.plan_id,
            successor=body.successor,
            acceptors=body.acceptors,
            effective_at=_aware(body.effective_at),
        )


@router.post("/me/exit", status_code=201, tags=["me"], summary="Leave the enterprise (self-service, R-EXIT-2)")
def post_self_exit(request: Request, response: Response, body: SelfExitRequest, scope: TenantScope = Depends(tenant_scope)) -> ExitSummary:
    actor = scope.auth.actor
    if actor.kind != "member":
        raise error(ValidationError, "member_required", "Only a member leaves by self-service; use POST /api/v1/exits for a removal.")
    assert actor.member_id is not None, "a member actor has its member id"
    with _write(request, scope) as uow:
        result = exit_actions.start_exit(
            uow,
            actor.member_id,
            type="voluntary",
            reason_category=body.reason_category,
            reason=body.reason,
            plan_id=body.plan_id,
            effective_at=_aware(body.effective_at),
        )
    # R-EXIT-2: the member's client clears its local cache; enterprise data stays.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return result


@router.get("/exits", tags=["exits"])
def get_exits(
    request: Request,
    scope: TenantScope = Depends(tenant_scope),
    state: Annotated[list[Annotated[str, Field(max_length=16)]] | None, Query(max_length=5, description="One or more states (repeat the parameter).")] = None,
    q: Annotated[str | None, Query(max_length=64, description="Part of the leaver's name or userid.")] = None,
    department: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="The leaver's primary department (id).")] = None,
    subdepartments: Annotated[bool, Query(description="With department: its sub-departments too.")] = True,
    reason: Annotated[str | None, Query(max_length=16, description="A reason category.")] = None,
    since: Annotated[str | None, Query(alias="from", max_length=32, description="First day of the effective date, YYYY-MM-DD in the enterprise's time zone.")] = None,
    until: Annotated[str | None, Query(alias="to", max_length=32, description="Last day of the effective date, YYYY-MM-DD in the enterprise's time zone.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ExitPage:
    """Newest first; each item has its checklist progress (items done of all) and the roles that signed it off."""
    with _read(request, scope) as (conn, tenant, actor):
        return exit_queries.list_exits(
            conn,
            tenant.id,
            actor,
            state=state,
            query=q,
            department_id=department,
            subdepartments=subdepartments,
            reason_category=reason,
            since=since,
            until=until,
            now=services(request).clock.now(),
            limit=limit,
            offset=offset,
        )


@router.get("/exits/{exit_id}", tags=["exits"])
def get_exit(request: Request, exit_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> ExitSummary:
    with _read(request, scope) as (conn, tenant, actor):
        return exit_queries.show_exit(conn, tenant.id, actor, exit_id)


@router.get("/exits/{exit_id}/ledger", tags=["exits"], summary="The transfer ledger, by kind and state")
def get_ledger(
    request: Request,
    exit_id: PathId,
    scope: TenantScope = Depends(tenant_scope),
    kind: Annotated[str | None, Query(max_length=24)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> LedgerPage:
    with _read(request, scope) as (conn, tenant, actor):
        return exit_queries.ledger(conn, tenant.id, actor, exit_id, kind=kind, state=state, limit=limit, offset=offset)


@router.get(
    "/exits/{exit_id}/export/{what}.{fmt}",
    tags=["exits"],
    summary="Download the ledger or the checklist (xlsx, csv) or the handover sheet (pdf); audited",
    response_class=Response,
    responses={200: {"content": {media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()}}},
)
def get_export(
    request: Request,
    exit_id: PathId,
    what: Annotated[str, Path(max_length=24, description="ledger, checklist or handover-sheet")],
    fmt: Annotated[str, Path(max_length=8, description="xlsx or csv (ledger, checklist), pdf (handover-sheet)")],
    scope: TenantScope = Depends(tenant_scope),
) -> Response:
    with _write(request, scope) as uow:
        found = export(uow, exit_id, what, fmt, locale_of(request))
    return download(found)


@router.post("/exits/{exit_id}/cancel", tags=["exits"], summary="Cancel a scheduled exit")
def post_cancel(request: Request, exit_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> ExitSummary:
    with _write(request, scope) as uow:
        return exit_actions.cancel_exit(uow, exit_id)


@router.post("/exits/{exit_id}/reschedule", tags=["exits"], summary="Move a scheduled exit to another time before it takes effect (R-EXIT-8)")
def post_reschedule(request: Request, exit_id: PathId, body: RescheduleRequest, scope: TenantScope = Depends(tenant_scope)) -> ExitSummary:
    effective_at = _aware(body.effective_at)
    assert effective_at is not None
    with _write(request, scope) as uow:
        return exit_actions.reschedule_exit(uow, exit_id, effective_at)


@router.post("/exits/{exit_id}/restore", tags=["exits"], summary="Restore a mistaken exit within its window (re-verified with TOTP)")
def post_restore(request: Request, exit_id: PathId, body: RestoreRequest, scope: TenantScope = Depends(tenant_scope)) -> restore.RestoredExit:
    with _write(request, scope) as uow:
        return restore.restore_exit(uow, exit_id, totp=body.totp, reason=body.reason)


@router.post("/exits/{exit_id}/inherit", tags=["exits"], summary="Assign unassigned resources of one kind (离职继承)")
def post_inherit(request: Request, exit_id: PathId, body: InheritRequest, scope: TenantScope = Depends(tenant_scope)) -> inheritance.Inherited:
    with _write(request, scope) as uow:
        return inheritance.inherit(uow, exit_id, body.kind, body.to, resource_ids=body.resource_ids)


@router.post("/exits/{exit_id}/ledger/bulk", tags=["exits"], summary="One action on many ledger rows: record an outcome, re-assign, or inherit")
def post_bulk(request: Request, exit_id: PathId, body: BulkRequest, scope: TenantScope = Depends(tenant_scope)) -> ledger_bulk.BulkDone:
    selection = Selection.of(body.correlation_ids, kind=body.kind, everything=body.everything, state=body.in_state)
    with _write(request, scope) as uow:
        return ledger_bulk.bulk(uow, exit_id, action_of(body.action), selection, expected=body.expected, state=body.state, to=body.to)


@router.post("/transfers/{correlation_id}/result", tags=["exits"], summary="Record a waiting transfer's outcome by correlation id")
def post_result(request: Request, correlation_id: Annotated[str, Path(min_length=1, max_length=36)], body: ResultRequest, scope: TenantScope = Depends(tenant_scope)) -> inheritance.TransferResult:
    with _write(request, scope) as uow:
        return inheritance.record_result(uow, correlation_id, body.state)


@router.get("/exits/{exit_id}/checklist", tags=["checklist"])
def get_checklist(request: Request, exit_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> ExitChecklist:
    with _read(request, scope) as (conn, tenant, actor):
        return cl_queries.checklist(conn, tenant, actor, exit_id, services(request).clock.now())


@router.post("/exits/{exit_id}/checklist/{item}/attest", tags=["checklist"], summary="Attest an item with evidence")
def post_attest(request: Request, exit_id: PathId, item: Annotated[str, Path(max_length=40)], body: Evidence, scope: TenantScope = Depends(tenant_scope)) -> ExitChecklist:
    with _write(request, scope) as uow:
        return cl_actions.attest(uow, exit_id, item, body.evidence)


@router.post("/exits/{exit_id}/grants/ack", tags=["checklist"], summary="Acknowledge third-party re-authorization (item 8)")
def post_grants_ack(request: Request, exit_id: PathId, body: GrantAck, scope: TenantScope = Depends(tenant_scope)) -> GrantsAcknowledged:
    with _write(request, scope) as uow:
        return GrantsAcknowledged(cl_actions.acknowledge_grants(uow, exit_id, body.evidence, app=body.app))


@router.post("/exits/{exit_id}/reimbursements/close", tags=["checklist"], summary="Record settled reimbursements (item 4)")
def post_reimbursements_close(request: Request, exit_id: PathId, body: Evidence, scope: TenantScope = Depends(tenant_scope)) -> ReimbursementsClosed:
    with _write(request, scope) as uow:
        return ReimbursementsClosed(cl_actions.close_reimbursements(uow, exit_id, body.evidence))


@router.post("/exits/{exit_id}/signoff", tags=["checklist"], summary="Sign off as hr or it (two different people)")
def post_signoff(request: Request, exit_id: PathId, body: SignoffRequest, scope: TenantScope = Depends(tenant_scope)) -> ExitChecklist:
    with _write(request, scope) as uow:
        return cl_actions.signoff(uow, exit_id, body.role)


@router.get("/checklist/board", tags=["checklist"], summary="Open checklist items of open exits, by owner role")
def get_board(request: Request, scope: TenantScope = Depends(tenant_scope)) -> ChecklistBoard:
    with _read(request, scope) as (conn, tenant, actor):
        return cl_queries.checklist_board(conn, tenant, actor, services(request).clock.now())


@router.get("/me/inbox", tags=["me"], summary="What waits for me (R-EXIT-9)")
def get_inbox(request: Request, scope: TenantScope = Depends(tenant_scope)) -> Inbox:
    with _read(request, scope) as (conn, tenant, actor):
        return inbox(conn, tenant, actor, services(request).clock.now())
