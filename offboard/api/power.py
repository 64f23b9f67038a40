"""REST: power changing hands (R-ADM-1..3, R-EXC-1): the super admin's handover, unfreezing an
account, the backup super admin. Each party acts as themself, with their own code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field

from offboard.actions import backup_admin, handover
from offboard.actions import freeze as freeze_actions
from offboard.actions.backup_admin import BackupSet
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import DbId, Strict
from offboard.domain.errors import NotFound, error
from offboard.queries.power import Handover, current_handover
from offboard.store import repo

router = APIRouter(prefix="/api/v1")
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Totp = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="Your current 6-digit code.")]
Userid = Annotated[str, Field(min_length=1, max_length=64)]


class HandoverStart(Strict):
    to: Userid = Field(description="Userid of the successor.")
    totp: Totp
    custodian: Userid | None = Field(default=None, description="escrow mode: who holds power until the successor accepts.")


class HandoverAccept(Strict):
    totp: Totp
    link: Annotated[str, Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = Field(default=None, description="The acceptance link's secret, when accepting through it.")


class CodeOnly(Strict):
    totp: Totp


class BackupChoice(Strict):
    member: DbId | Userid = Field(description="The member who becomes the backup super admin: their id (a number) or their userid (a string).")


@dataclass(frozen=True)
class HandoverStarted(Handover):
    accept_url: str | None = None  # the console page the successor opens (the QR code's address)


@dataclass(frozen=True)
class Unfrozen:
    member_id: int
    userid: str
    status: str


@dataclass(frozen=True)
class BackupRemoved:
    userid: str  # the member who no longer holds the super-admin role


def _write(request: Request, scope: TenantScope):
    return tenant_transaction(services(request), scope.slug, actor=scope.auth.actor)


@router.post("/handovers", status_code=201, tags=["handover"], summary="Start handing your super-admin power over (R-ADM-1), in the policy's mode")
def post_handover(request: Request, body: HandoverStart, scope: TenantScope = Depends(tenant_scope)) -> HandoverStarted:
    with _write(request, scope) as uow:
        started = handover.start(uow, to=body.to, totp=body.totp, custodian=body.custodian)
    url = f"{str(request.base_url).rstrip('/')}/handover/accept/{started.link}" if started.link else None
    return HandoverStarted(**vars(started), accept_url=url)


@router.post("/handovers/accept", tags=["handover"], summary="Accept the handover that waits for you, with your own code")
def post_handover_accept(request: Request, body: HandoverAccept, scope: TenantScope = Depends(tenant_scope)) -> Handover:
    with _write(request, scope) as uow:
        return handover.accept(uow, totp=body.totp, link=body.link)


@router.post("/handovers/cancel", tags=["handover"], summary="Cancel your pending handover (in escrow, power comes back from the custodian)")
def post_handover_cancel(request: Request, body: CodeOnly, scope: TenantScope = Depends(tenant_scope)) -> Handover:
    with _write(request, scope) as uow:
        return handover.cancel(uow, totp=body.totp)


@router.post("/handovers/revert", tags=["handover"], summary="Take power back inside your emergency window (R-ADM-2)")
def post_handover_revert(request: Request, body: CodeOnly, scope: TenantScope = Depends(tenant_scope)) -> Handover:
    with _write(request, scope) as uow:
        return handover.revert(uow, totp=body.totp)


@router.get("/handovers/current", tags=["handover"], summary="The latest handover of the enterprise")
def get_handover(request: Request, scope: TenantScope = Depends(tenant_scope)) -> Handover:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        found = current_handover(conn, tenant.id, actor)
    if found is None:
        raise error(NotFound, "no_handover", "This enterprise has had no super-admin handover yet.")
    return replace(found, link=None)


@router.post("/members/{member_id}/unfreeze", tags=["members"], summary="Give a frozen account back, verified with your code (R-EXC-1)")
def post_unfreeze(request: Request, member_id: PathId, body: CodeOnly, scope: TenantScope = Depends(tenant_scope)) -> Unfrozen:
    with _write(request, scope) as uow:
        freeze_actions.unfreeze(uow, member_id, totp=body.totp)
        member = repo.member_by_id(uow.conn, uow.tenant_id, member_id)
        return Unfrozen(member.id, member.userid, member.status)


@router.put("/backup-admin", tags=["handover"], summary="Name the backup super admin (R-ADM-3); a previous backup gives up the role")
def put_backup(request: Request, body: BackupChoice, scope: TenantScope = Depends(tenant_scope)) -> BackupSet:
    with _write(request, scope) as uow:
        return backup_admin.set_backup(uow, body.member)


@router.delete("/backup-admin", tags=["handover"], summary="Remove the backup super admin (never the last super admin)")
def delete_backup(request: Request, scope: TenantScope = Depends(tenant_scope)) -> BackupRemoved:
    with _write(request, scope) as uow:
        return BackupRemoved(backup_admin.remove_backup(uow))
