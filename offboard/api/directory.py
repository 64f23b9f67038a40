"""REST: tenants (operator), departments, members, roles, tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field

from offboard.actions.sign_in_locks import unlock_sign_in
from offboard.actions import departments as dept_actions
from offboard.actions import freeze as freeze_actions
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions.auth import Authenticated
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.actions.tenants import TenantCreated, create_tenant
from offboard.actions.tokens import TokenCreated
from offboard.api.deps import TenantScope, authenticated, services, tenant_scope
from offboard.api.schemas import Strict
from offboard.api.schemas import DbId, DepartmentCreate, DepartmentUpdate, MemberCreate, MemberUpdate, RoleGrant, TenantCreate, TokenCreate
from offboard.domain.errors import NotFound, error
from offboard.queries import directory as directory_q
from offboard.queries import members as members_q
from offboard.queries.directory import DepartmentNode, TenantSummary, TokenInfo
from offboard.queries.members import MemberDetail, MemberPage

router = APIRouter(prefix="/api/v1")
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _write(request: Request, scope: TenantScope):
    return tenant_transaction(services(request), scope.slug, actor=scope.auth.actor)


def _read(request: Request, scope: TenantScope):
    return tenant_read(services(request), scope.slug, actor=scope.auth.actor)


@dataclass(frozen=True)
class DepartmentAdded:
    id: int
    name: str


@dataclass(frozen=True)
class SignInUnlocked:
    member_id: int
    locks_cleared: int  # the throttle rows removed (password and second-factor counters)


@router.get("/tenants", tags=["tenants"], summary="List enterprises (operator)")
def get_tenants(request: Request, auth: Authenticated = Depends(authenticated)) -> list[TenantSummary]:
    return directory_q.list_tenants(services(request), auth.actor)


@router.post("/tenants", status_code=201, tags=["tenants"], summary="Create an enterprise with its first super admin (operator)")
def post_tenant(request: Request, body: TenantCreate, auth: Authenticated = Depends(authenticated)) -> TenantCreated:
    return create_tenant(services(request), **body.model_dump(), actor=auth.actor)


@router.get("/departments", tags=["departments"], summary="The department tree with headcount and status")
def get_departments(request: Request, scope: TenantScope = Depends(tenant_scope)) -> list[DepartmentNode]:
    with _read(request, scope) as (conn, tenant, actor):
        return directory_q.list_departments(conn, tenant.id, actor)


@router.post("/departments", status_code=201, tags=["departments"])
def post_department(request: Request, body: DepartmentCreate, scope: TenantScope = Depends(tenant_scope)) -> DepartmentAdded:
    with _write(request, scope) as uow:
        dept_id = dept_actions.add_department(uow, body.name, body.parent_id)
    return DepartmentAdded(dept_id, body.name)


@router.patch("/departments/{department_id}", tags=["departments"], summary="Move a department or set its leader")
def patch_department(request: Request, department_id: PathId, body: DepartmentUpdate, scope: TenantScope = Depends(tenant_scope)) -> DepartmentNode:
    with _write(request, scope) as uow:
        if body.parent_id is not None:
            dept_actions.move_department(uow, department_id, body.parent_id)
        if body.leader is not None or body.clear_leader:
            dept_actions.set_leader(uow, department_id, None if body.clear_leader else body.leader)
        # Read back in the same transaction: a caller who may change but not read is refused
        # before anything is kept, never after.
        for dept in directory_q.list_departments(uow.conn, uow.tenant_id, uow.actor):
            if dept.id == department_id:
                return dept
    # An empty body changes nothing and so never looked the department up.
    raise error(NotFound, "department_not_found", "No department with id {id} in this enterprise.", id=department_id)


@router.get("/members", tags=["members"], summary="Members, filtered and paged")
def get_members(
    request: Request,
    scope: TenantScope = Depends(tenant_scope),
    status: Annotated[str | None, Query(max_length=16)] = None,
    department: Annotated[DbId | None, Query()] = None,
    role: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=64, description="Part of userid, name or email.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> MemberPage:
    with _read(request, scope) as (conn, tenant, actor):
        return members_q.list_members(conn, tenant.id, actor, status=status, department_id=department, role=role, query=q, limit=limit, offset=offset)


@router.post("/members", status_code=201, tags=["members"])
def post_member(request: Request, body: MemberCreate, scope: TenantScope = Depends(tenant_scope)) -> MemberDetail:
    fields = body.model_dump()
    fields["manager_userid"] = fields.pop("manager")
    with _write(request, scope) as uow:
        member_id = member_actions.add_member(uow, **fields)
        return members_q.show_member(uow.conn, uow.tenant_id, uow.actor, member_id, now=uow.now)


@router.get("/members/{member_id}", tags=["members"], summary="A member with departments, roles and owned resources")
def get_member(request: Request, member_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> MemberDetail:
    with _read(request, scope) as (conn, tenant, actor):
        return members_q.show_member(conn, tenant.id, actor, member_id, now=services(request).clock.now())


@router.patch("/members/{member_id}", tags=["members"])
def patch_member(request: Request, member_id: PathId, body: MemberUpdate, scope: TenantScope = Depends(tenant_scope)) -> MemberDetail:
    changes = body.model_dump(exclude_unset=True, exclude={"department_ids", "manager", "clear_manager"})
    with _write(request, scope) as uow:
        member_actions.update_member(uow, member_id, changes=changes, department_ids=body.department_ids, manager_userid=body.manager, clear_manager=body.clear_manager)
        return members_q.show_member(uow.conn, uow.tenant_id, uow.actor, member_id, now=uow.now)


@router.post("/members/{member_id}/roles", status_code=201, tags=["members"], summary="Grant a role")
def post_role(request: Request, member_id: PathId, body: RoleGrant, scope: TenantScope = Depends(tenant_scope)) -> MemberDetail:
    with _write(request, scope) as uow:
        role_actions.grant_role(uow, member_id, body.role, rank=body.rank, scope=body.scope, permissions=body.permissions)
        return members_q.show_member(uow.conn, uow.tenant_id, uow.actor, member_id, now=uow.now)


@router.delete("/members/{member_id}/roles/{role}", status_code=204, tags=["members"], summary="Remove a role (never the last super admin)")
def delete_role(request: Request, member_id: PathId, role: Annotated[str, Path(max_length=16)], scope: TenantScope = Depends(tenant_scope)) -> Response:
    with _write(request, scope) as uow:
        role_actions.remove_role(uow, member_id, role)
    return Response(status_code=204)


class FreezeRequest(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    force: bool = False


@router.post("/members/{member_id}/freeze", tags=["members"], summary="Freeze an account at once: sessions and tokens revoked, sign-in locked (R-EXC-1)")
def post_freeze(request: Request, member_id: PathId, body: FreezeRequest, scope: TenantScope = Depends(tenant_scope)) -> freeze_actions.Frozen:
    with _write(request, scope) as uow:
        return freeze_actions.freeze(uow, member_id, reason=body.reason, force=body.force)


@router.post("/members/{member_id}/unlock", tags=["members"], summary="Lift a sign-in lock left by failed passwords or codes")
def post_unlock(request: Request, member_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> SignInUnlocked:
    with _write(request, scope) as uow:
        return SignInUnlocked(member_id, unlock_sign_in(uow, member_id))


@router.get("/tokens", tags=["tokens"])
def get_tokens(request: Request, scope: TenantScope = Depends(tenant_scope)) -> list[TokenInfo]:
    with _read(request, scope) as (conn, tenant, actor):
        return directory_q.list_tokens(conn, tenant.id, actor)


@router.post("/tokens", status_code=201, tags=["tokens"], summary="Create a token; its secret is in this answer only")
def post_token(request: Request, body: TokenCreate, scope: TenantScope = Depends(tenant_scope)) -> TokenCreated:
    with _write(request, scope) as uow:
        return token_actions.create_token(uow, name=body.name, service=body.service, scopes=body.scopes, expires_days=body.expires_days)


@router.delete("/tokens/{token_id}", status_code=204, tags=["tokens"])
def delete_token(request: Request, token_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> Response:
    with _write(request, scope) as uow:
        token_actions.revoke_token(uow, token_id)
    return Response(status_code=204)
