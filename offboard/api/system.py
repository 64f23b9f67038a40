"""REST: the audit trail, the caller, health and metrics."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from offboard.actions.context import tenant_read
from offboard.actions.auth import verify_second_factor
from offboard.domain.errors import Unauthorized
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import Strict
from offboard.crypto.secrets import equal
from offboard.domain.errors import Forbidden, ValidationError, error
from offboard.http.cookies import session_token
from offboard.http.locale import locale_of
from offboard.queries import audit as audit_q
from offboard.queries import members as members_q
from offboard.queries import outbox as outbox_q
from offboard.queries.audit import AuditPage, ChainVerdict
from offboard.queries.outbox import OutboxPage
from offboard.queries.members import MemberDetail

router = APIRouter()


@router.get("/api/v1/audit", tags=["audit"], summary="Audit events, newest first, paged by sequence number, with names and a sentence")
def get_audit(
    request: Request,
    scope: TenantScope = Depends(tenant_scope),
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Only events before this sequence number.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    action: Annotated[str | None, Query(max_length=64, description="An action (member.added), or a prefix ending in a dot (exit.).")] = None,
    actor: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Only events done by this member (id).")] = None,
    member: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Only events about this member (id), among their targets.")] = None,
    since: Annotated[str | None, Query(alias="from", max_length=32, description="First day, YYYY-MM-DD in the enterprise's time zone.")] = None,
    until: Annotated[str | None, Query(alias="to", max_length=32, description="Last day, YYYY-MM-DD in the enterprise's time zone.")] = None,
) -> AuditPage:
    """Each event keeps its stored fields and adds `at_local`, the actor and targets resolved to
    names, and `sentence`, in the request's language (Accept-Language)."""
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, reader):
        return audit_q.events(conn, tenant, reader, before=before, limit=limit, action=action, by=actor, member=member, since=since, until=until, locale=locale_of(request))


@router.get("/api/v1/outbox", tags=["audit"], summary="Work handed to subscribers after commit, with its attempts")
def get_outbox(
    request: Request,
    scope: TenantScope = Depends(tenant_scope),
    state: Annotated[str | None, Query(max_length=16, description="pending, failing, delivered or dead")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> OutboxPage:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return outbox_q.list_outbox(conn, tenant.id, actor, state=state, limit=limit, offset=offset)


@router.get("/api/v1/audit/verify", tags=["audit"], summary="Verify the tenant's audit chain end to end")
def get_audit_verify(request: Request, scope: TenantScope = Depends(tenant_scope)) -> ChainVerdict:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return audit_q.verify_chain(conn, tenant, actor)


@dataclass(frozen=True)
class SignedInMember(MemberDetail):
    kind: str = "member"
    tenant: str = ""


@dataclass(frozen=True)
class SignedInToken:
    """An operator or a tenant service token: no person, the scopes it carries."""

    kind: str
    tenant: str | None
    scopes: list[str]


@router.get("/api/v1/me", tags=["me"], summary="The signed-in member, or the token's kind and scopes")
def get_me(request: Request, scope: TenantScope = Depends(tenant_scope)) -> SignedInMember | SignedInToken:
    actor = scope.auth.actor
    if actor.kind != "member":
        return SignedInToken(actor.kind, scope.slug, sorted(actor.scopes or []))
    assert actor.member_id is not None, "a member actor has its member id"
    with tenant_read(services(request), scope.slug, actor=actor) as (conn, tenant, fresh):
        detail = members_q.show_member(conn, tenant.id, fresh, actor.member_id, now=services(request).clock.now())
    return SignedInMember(**{f.name: getattr(detail, f.name) for f in fields(detail)}, tenant=scope.slug)


class Reverify(Strict):
    code: Annotated[str, Field(min_length=6, max_length=8)]


@router.post("/api/v1/me/reverify", status_code=204, tags=["me"], summary="Re-verify a console session with a TOTP code")
def post_reverify(request: Request, body: Reverify, scope: TenantScope = Depends(tenant_scope)) -> Response:
    token = session_token(request)
    if scope.auth.session_id is None or token is None:
        raise error(ValidationError, "session_required", "Only a console session is re-verified; an API token needs no code.")
    verify_second_factor(services(request), token, body.code, client=request.client.host if request.client else "unknown")
    return Response(status_code=204)


@router.get("/healthz", tags=["system"], summary="Liveness and database reachability")
def healthz(request: Request) -> dict[str, Any]:
    with services(request).db.read() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok"}


_LOOPBACK = ("127.0.0.1", "::1")


@router.get("/metrics", tags=["system"], summary="Prometheus metrics (loopback only, or with OFFBOARD_METRICS_TOKEN)", response_class=Response)
def metrics(request: Request) -> Response:
    """Request counts and latencies tell an outsider what the service does: /metrics answers a
    client on the loopback interface, or one that sends the configured metrics token."""
    expected = request.app.state.settings.metrics_token
    if expected is not None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not equal(credential.strip(), expected):
            raise error(Unauthorized, "metrics_token_required", "Send the metrics token as Authorization: Bearer <OFFBOARD_METRICS_TOKEN>.")
    elif (request.client.host if request.client else None) not in _LOOPBACK:
        raise error(Forbidden, "metrics_loopback_only", "Metrics are served on the loopback interface only; set OFFBOARD_METRICS_TOKEN to scrape them from elsewhere.")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
