"""REST: a member's data under the law (R-LAW-1, R-LAW-2): what is kept until when and why,
legal holds, and erasure requests answered with their schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import Field

from offboard.actions import compliance, erasure, holds, subject_access
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import Strict
from offboard.http.downloads import download
from offboard.http.locale import locale_of
from offboard.queries.compliance import ComplianceReport
from offboard.queries import data_lifecycle as data_q

router = APIRouter(prefix="/api/v1")
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Reason = Annotated[str, Field(min_length=1, max_length=500, description="Why (kept in the audit trail), e.g. a case or request reference.")]
Kind = Literal["chat", "files", "calendar", "approvals", "attendance", "profile"]


@dataclass(frozen=True)
class PersonalDataCopy:
    """The subject-access copy (format offboard-subject-access/1): the member's profile and every
    record held about them; of their chats only how many are kept and until when."""

    format: str
    enterprise: str
    generated_at: str
    member: dict[str, Any]
    departments: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    exits: list[dict[str, Any]]
    attendance: list[dict[str, Any]]
    reimbursements: list[dict[str, Any]]
    app_grants: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    chats: dict[str, Any]
    erasure_requests: list[dict[str, Any]]


class HoldPlace(Strict):
    reason: Reason
    kinds: list[Kind] = Field(default_factory=list, max_length=6, description="The record kinds held; every kind of the member's records when empty.")


class HoldRelease(Strict):
    reason: Reason


class ErasureFile(Strict):
    reason: Reason
    modules: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(
        default=None, max_length=6, description="Selective clearing: the modules to erase (chat, files, calendar, approvals, attendance, profile)."
    )
    level: Annotated[str, Field(min_length=1, max_length=4)] | None = Field(default=None, description="Clearing by levels: L1 to L4.")
    verified: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(default=None, description="How the member's identity was checked, when filing for them.")


class SubjectAccess(Strict):
    verified: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(default=None, description="How the member's identity was checked, when answering their request.")
    destination: Annotated[str, Field(min_length=2, max_length=8)] | None = Field(default=None, description="The data region the copy goes to, when not the member's own (R-LAW-4).")
    legal_basis: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        default=None, description="For another region: security_assessment, certification, standard_contract or separate_consent."
    )
    basis_reference: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(default=None, description="Where the legal basis is recorded.")


def _write(request: Request, scope: TenantScope):
    return tenant_transaction(services(request), scope.slug, actor=scope.auth.actor)


def _read(request: Request, scope: TenantScope):
    return tenant_read(services(request), scope.slug, actor=scope.auth.actor)


@router.get("/members/{member_id}/data", tags=["data"], summary="What is kept of a member's records, until when and why; their holds and erasure requests")
def get_member_data(request: Request, member_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> data_q.MemberData:
    with _read(request, scope) as (conn, tenant, actor):
        return data_q.member_data(conn, tenant, actor, member_id)


@router.post("/members/{member_id}/holds", status_code=201, tags=["data"], summary="Place a legal hold: nothing it covers is erased until it is released (R-LAW-2)")
def post_hold(request: Request, member_id: PathId, body: HoldPlace, scope: TenantScope = Depends(tenant_scope)) -> data_q.MemberData:
    with _write(request, scope) as uow:
        holds.place_hold(uow, member_id, reason=body.reason, kinds=body.kinds)
        return data_q.member_data(uow.conn, uow.tenant, uow.actor, member_id)


@router.post("/holds/{hold_id}/release", tags=["data"], summary="Release a legal hold; erasures it held back run on the next sweep")
def post_hold_release(request: Request, hold_id: PathId, body: HoldRelease, scope: TenantScope = Depends(tenant_scope)) -> data_q.MemberData:
    with _write(request, scope) as uow:
        holds.release_hold(uow, hold_id, reason=body.reason)
        return data_q.member_data(uow.conn, uow.tenant, uow.actor, holds.hold_member(uow, hold_id))


@router.post("/members/{member_id}/erasure-requests", status_code=201, tags=["data"], summary="File an erasure request (R-LAW-1); the answer is its schedule")
def post_erasure(request: Request, member_id: PathId, body: ErasureFile, scope: TenantScope = Depends(tenant_scope)) -> data_q.Request:
    with _write(request, scope) as uow:
        request_id = erasure.request_erasure(uow, member_id, reason=body.reason, modules=body.modules, level=body.level, verified=body.verified)
        (filed,) = data_q.requests_of(uow.conn, uow.tenant_id, request_id=request_id)
        return filed


@router.post("/members/{member_id}/subject-access", tags=["data"], summary="A machine-readable copy of the personal data held about a member (R-LAW-1); audited")
def post_subject_access(request: Request, member_id: PathId, body: SubjectAccess, scope: TenantScope = Depends(tenant_scope)) -> PersonalDataCopy:
    with _write(request, scope) as uow:
        return PersonalDataCopy(
            **subject_access.export_personal_data(uow, member_id, verified=body.verified, destination=body.destination, legal_basis=body.legal_basis, basis_reference=body.basis_reference)
        )


@router.get("/erasure-requests", tags=["data"], summary="The enterprise's erasure requests with their schedules, newest first")
def get_erasures(
    request: Request, state: Annotated[Literal["open", "done"] | None, Query()] = None, limit: Annotated[int, Query(ge=1, le=500)] = 100, scope: TenantScope = Depends(tenant_scope)
) -> list[data_q.Request]:
    with _read(request, scope) as (conn, tenant, actor):
        return data_q.all_requests(conn, tenant, actor, state=state, limit=limit)


@router.get("/erasure-requests/{request_id}", tags=["data"], summary="One erasure request and its schedule")
def get_erasure(request: Request, request_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> data_q.Request:
    with _read(request, scope) as (conn, tenant, actor):
        return data_q.one_request(conn, tenant, actor, request_id)


@router.post(
    "/members/{member_id}/compliance-report",
    tags=["data"],
    summary="A member's compliance report: what of their data is kept, sealed, erased or exported, who read it, and every audit event about them with its proof in a checkpoint signed first (SPEC §8); audited",
)
def post_compliance_report(request: Request, member_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> ComplianceReport:
    with _write(request, scope) as uow:
        return compliance.compliance_report(uow, member_id, fmt="json", locale=locale_of(request))


@router.post(
    "/members/{member_id}/compliance-report.pdf",
    tags=["data"],
    summary="The compliance report as a PDF, in the language of Accept-Language; audited",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}},
)
def post_compliance_report_pdf(request: Request, member_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> Response:
    with _write(request, scope) as uow:
        made = compliance.export_report(uow, member_id, "pdf", locale_of(request))
    return download(made.file)
