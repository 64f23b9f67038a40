"""REST: exit requests approved through a flow (离职申请审批; issue 13 item 3, SPEC §6
`approval_flow`): a member files one for themself, each step's approver approves or rejects it,
the last approval schedules the exit for the leave date; and the tenant's flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field

from offboard.actions import exit_requests as actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import Strict
from offboard.domain import exit_requests as flow
from offboard.domain.errors import ValidationError, error
from offboard.queries import exit_requests as queries
from offboard.queries.exit_requests import ExitRequestPage, ExitRequestView, FlowView

router = APIRouter(prefix="/api/v1")
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Comment = Annotated[str, Field(max_length=flow.MAX_COMMENT)]


class FileRequest(Strict):
    leave_date: Annotated[
        str, Field(min_length=1, max_length=32, description="YYYY-MM-DD, today or later, at most a year ahead: the exit takes effect at the end of that day in the enterprise's time zone")
    ]
    reason: Annotated[str, Field(min_length=1, max_length=flow.MAX_REASON)]
    reason_category: Annotated[str, Field(max_length=16)] = Field(default="resignation", description="resignation, dismissal, contract_end, retirement, transfer or other")
    successor: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(default=None, description="The userid of who receives what no acceptor is named for")


Seen = Annotated[int, Field(ge=1, le=flow.MAX_STEPS + 1, description="The step the caller looked at: refused with exit_request_moved_on when another approver moved the request on")]


class Approval(Strict):
    comment: Comment | None = None
    step: Seen | None = None


class Rejection(Strict):
    comment: Annotated[str, Field(min_length=1, max_length=flow.MAX_COMMENT, description="Why: the member reads it")]
    step: Seen | None = None


class FlowRequest(Strict):
    steps: Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(min_length=1, max_length=flow.MAX_STEPS)] = Field(
        description="In order: manager, department_leader, hr or member:USERID"
    )


def _write(request: Request, scope: TenantScope):
    return tenant_transaction(services(request), scope.slug, actor=scope.auth.actor)


@router.post("/me/exit-requests", status_code=201, tags=["exit requests"], summary="File an exit request (离职申请) for oneself; it goes to the approval flow")
def post_exit_request(request: Request, body: FileRequest, scope: TenantScope = Depends(tenant_scope)) -> ExitRequestView:
    """Enabled where exits start from an approved exit request (exit_automation approval_flow);
    elsewhere 409 exit_trigger_disabled names the mode. One pending request per member (409
    exit_request_open). The steps are resolved to approvers now; a step without a usable approver
    is skipped with its reason, and with none left HR decides."""
    actor = scope.auth.actor
    if actor.kind != "member" or actor.member_id is None:
        raise error(ValidationError, "member_required", "Only a member files an exit request, for themself.")
    with _write(request, scope) as uow:
        return actions.file_request(uow, actor.member_id, leave_date=body.leave_date, reason=body.reason, reason_category=body.reason_category, successor=body.successor)


@router.get("/exit-requests", tags=["exit requests"], summary="Exit requests the caller may see, newest first")
def get_exit_requests(
    request: Request,
    scope: TenantScope = Depends(tenant_scope),
    state: Annotated[str | None, Query(max_length=16, description="pending, approved, rejected, withdrawn or cancelled")] = None,
    waiting_for_me: Annotated[bool, Query(description="Only those waiting for the caller's decision")] = False,
    mine: Annotated[bool, Query(description="Only the caller's own")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ExitRequestPage:
    """A member sees their own and those whose steps name them; HR and super admins every request
    (a token reads them all with its read_directory scope)."""
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return queries.list_requests(conn, tenant, actor, state=state, waiting_for_me=waiting_for_me, mine=mine, limit=limit, offset=offset)


@router.get("/exit-requests/{exit_request_id}", tags=["exit requests"], summary="An exit request with its steps: who decides each, its state and comment")
def get_exit_request(request: Request, exit_request_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> ExitRequestView:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return queries.show_request(conn, tenant, actor, exit_request_id)


@router.post("/exit-requests/{exit_request_id}/approve", tags=["exit requests"], summary="Approve the step waiting for the caller; the last approval schedules the exit")
def post_approve(request: Request, exit_request_id: PathId, body: Approval | None = None, scope: TenantScope = Depends(tenant_scope)) -> ExitRequestView:
    """The step's approver, any HR member for HR's step, or a super admin (never the requester).
    When the exit cannot be scheduled (a blocker of its plan, e.g. a super admin who has not
    handed over) the approval is refused with that error and the request stays at its step."""
    with _write(request, scope) as uow:
        return actions.approve(uow, exit_request_id, comment=body.comment if body else None, step=body.step if body else None)


@router.post("/exit-requests/{exit_request_id}/reject", tags=["exit requests"], summary="Reject the step waiting for the caller, saying why; the request ends")
def post_reject(request: Request, exit_request_id: PathId, body: Rejection, scope: TenantScope = Depends(tenant_scope)) -> ExitRequestView:
    with _write(request, scope) as uow:
        return actions.reject(uow, exit_request_id, comment=body.comment, step=body.step)


@router.post("/exit-requests/{exit_request_id}/withdraw", tags=["exit requests"], summary="Withdraw one's own pending exit request")
def post_withdraw(request: Request, exit_request_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> ExitRequestView:
    with _write(request, scope) as uow:
        return actions.withdraw(uow, exit_request_id)


@router.get("/exit-request-flow", tags=["exit requests"], summary="The steps a new exit request goes through")
def get_flow(request: Request, scope: TenantScope = Depends(tenant_scope)) -> FlowView:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return queries.show_flow(conn, tenant.id, actor)


@router.put("/exit-request-flow", tags=["exit requests"], summary="Set the steps of the exit requests filed from now on; audited with the old and new steps")
def put_flow(request: Request, body: FlowRequest, scope: TenantScope = Depends(tenant_scope)) -> FlowView:
    with _write(request, scope) as uow:
        return actions.set_flow(uow, body.steps)
