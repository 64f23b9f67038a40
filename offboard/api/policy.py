"""REST: the enterprise's policy (SPEC §6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel

from offboard.actions.context import tenant_read, tenant_transaction
from offboard.actions.policy import set_policy, show_policy
from offboard.api.deps import TenantScope, services, tenant_scope

router = APIRouter(prefix="/api/v1")


class SettingOut(BaseModel):
    key: str
    label_en: str
    label_zh: str
    value: int | str
    presets: dict[str, int | str]
    overridden: bool
    allowed: str


class PolicyOut(BaseModel):
    profile: str
    values: dict[str, int | str]
    overrides: dict[str, int | str]
    settings: list[SettingOut]


@router.get("/policy", tags=["policy"], summary="The policy in force, beside the wecom, dingtalk and feishu presets", response_model=PolicyOut)
def get_policy(request: Request, scope: TenantScope = Depends(tenant_scope)) -> dict[str, Any]:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return show_policy(conn, tenant, actor).as_dict()


@router.patch("/policy", tags=["policy"], summary="Change settings; each change is audited with its old and new value", response_model=PolicyOut)
def patch_policy(
    request: Request,
    changes: Annotated[dict[str, Any], Body(description='Settings to change, e.g. {"customer_limit": 5000}.', max_length=20)],
    scope: TenantScope = Depends(tenant_scope),
) -> dict[str, Any]:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        return set_policy(uow, changes).as_dict()
