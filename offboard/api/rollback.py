"""REST: the rollback plan of a member's account (R-EXC-1), shown, then applied with a code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field

from offboard.actions import rollback as rollback_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import Strict
from offboard.http.locale import locale_of
from offboard.queries.rollback import RollbackPlan, rollback_plan

router = APIRouter(prefix="/api/v1")
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Since = Annotated[str, Field(min_length=10, max_length=40, description="A day (2026-12-01) or a time (2026-12-01T09:30, or with an offset) in the enterprise's time zone.")]


class RollbackApply(Strict):
    since: Since
    totp: Annotated[str, Field(pattern=r"^[0-9]{6}$", description="The applier's current 6-digit code.")]
    plan: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$", description="The digest of the plan that was shown (GET); refused if the plan has changed since.")]


@router.get("/members/{member_id}/rollback", tags=["members"], summary="The rollback plan of a member's changes since a time (R-EXC-1); changes nothing")
def get_rollback(
    request: Request,
    member_id: PathId,
    since: Annotated[str, Query(min_length=10, max_length=40, description="A day (2026-12-01) or a time (2026-12-01T09:30) in the enterprise's time zone.")],
    scope: TenantScope = Depends(tenant_scope),
) -> RollbackPlan:
    svc = services(request)
    with tenant_read(svc, scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return rollback_plan(conn, tenant, actor, member_id, since, svc.clock.now(), locale_of(request))


@router.post("/members/{member_id}/rollback", tags=["members"], summary="Apply the rollback plan shown, in one audited transaction, with your code")
def post_rollback(request: Request, member_id: PathId, body: RollbackApply, scope: TenantScope = Depends(tenant_scope)) -> rollback_actions.RollbackApplied:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        return rollback_actions.apply(uow, member_id, since=body.since, totp=body.totp, digest=body.plan, locale=locale_of(request))
