"""REST: the enterprise's policy (SPEC §6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from offboard.actions.context import tenant_read, tenant_transaction
from offboard.actions.policy import set_policy
from offboard.queries.policy import PolicyView, show_policy
from offboard.api.deps import TenantScope, services, tenant_scope

router = APIRouter(prefix="/api/v1")


@router.get("/policy", tags=["policy"], summary="The policy in force, beside the wecom, dingtalk and feishu presets")
def get_policy(request: Request, scope: TenantScope = Depends(tenant_scope)) -> PolicyView:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return show_policy(conn, tenant, actor)


@router.patch("/policy", tags=["policy"], summary="Change settings; each change is audited with its old and new value")
def patch_policy(
    request: Request,
    changes: Annotated[dict[str, Any], Body(description='Settings to change, e.g. {"customer_limit": 5000}.', max_length=20)],
    scope: TenantScope = Depends(tenant_scope),
) -> PolicyView:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        return set_policy(uow, changes)
