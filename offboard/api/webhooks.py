"""REST: webhook endpoints, their deliveries, and the signed re-authorization callback (SPEC §9, R-POST-1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from offboard.actions import webhooks as actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.api.schemas import Strict
from offboard.domain import webhooks as wh
from offboard.domain.authz import Actor
from offboard.queries import webhooks as queries

router = APIRouter(prefix="/api/v1")
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Slug = Annotated[str, Path(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
Event = Annotated[str, Field(min_length=1, max_length=64)]
EVENTS_HELP = 'Events to send, or ["*"] for every event: ' + ", ".join(wh.EVENTS)


class NewWebhook(Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048, description="An https:// endpoint (plain http only to this host's loopback interface)")]
    events: Annotated[list[Event], Field(min_length=1, max_length=len(wh.EVENTS) + 1, description=EVENTS_HELP)]
    description: Annotated[str, Field(max_length=255)] = ""
    app: Annotated[str, Field(min_length=1, max_length=128, description="The third-party app this endpoint belongs to: its signed callbacks acknowledge that app's grants (R-POST-1)")] | None = None


class WebhookChange(Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    events: Annotated[list[Event], Field(min_length=1, max_length=len(wh.EVENTS) + 1, description=EVENTS_HELP)] | None = None
    description: Annotated[str, Field(max_length=255)] | None = None
    app: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    status: Annotated[str, Field(description="active, or paused (sends nothing until active again)")] | None = None


class CreatedWebhook(Strict):
    webhook: queries.WebhookView
    secret: str = Field(description="The signing secret, shown in this answer only: keep it where the endpoint verifies signatures")


class TestSent(Strict):
    delivery_id: int


class Resent(Strict):
    delivery_id: int
    state: str = Field(description="pending: the next worker pass sends it")


class Acknowledgement(Strict):
    grant_id: int
    app: str
    member_id: int
    already_acknowledged: bool


@router.get("/webhooks", tags=["webhooks"], summary="Webhook endpoints, with how many deliveries reached each, wait for a retry, or were given up")
def get_webhooks(request: Request, scope: TenantScope = Depends(tenant_scope)) -> list[queries.WebhookView]:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return queries.list_webhooks(conn, tenant.id, actor)


@router.post("/webhooks", tags=["webhooks"], status_code=201, summary="Subscribe an endpoint to events; the answer holds its signing secret, once")
def post_webhook(request: Request, body: NewWebhook, scope: TenantScope = Depends(tenant_scope)) -> CreatedWebhook:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        created = actions.create_subscription(uow, url=body.url, events=body.events, description=body.description, app_name=body.app)
        view = queries.show_webhook(uow.conn, uow.tenant_id, uow.actor, created.id)
    return CreatedWebhook(webhook=view, secret=created.secret)


@router.get("/webhooks/{webhook_id}", tags=["webhooks"], summary="One webhook endpoint")
def get_webhook(request: Request, webhook_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> queries.WebhookView:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return queries.show_webhook(conn, tenant.id, actor, webhook_id)


@router.patch("/webhooks/{webhook_id}", tags=["webhooks"], summary="Change an endpoint's URL, events, description or app, or pause and resume it")
def patch_webhook(request: Request, webhook_id: PathId, body: WebhookChange, scope: TenantScope = Depends(tenant_scope)) -> queries.WebhookView:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        actions.update_subscription(uow, webhook_id, url=body.url, events=body.events, description=body.description, app_name=body.app, status=body.status)
        return queries.show_webhook(uow.conn, uow.tenant_id, uow.actor, webhook_id)


@router.delete("/webhooks/{webhook_id}", tags=["webhooks"], status_code=204, summary="Remove an endpoint: it is told nothing more; its deliveries stay listed")
def delete_webhook(request: Request, webhook_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> Response:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        actions.remove_subscription(uow, webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/test", tags=["webhooks"], status_code=202, summary="Send the endpoint a webhook.test event (by the next worker pass)")
def post_webhook_test(request: Request, webhook_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> TestSent:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        return TestSent(delivery_id=actions.send_test(uow, webhook_id))


@router.get("/webhooks/{webhook_id}/deliveries", tags=["webhooks"], summary="An endpoint's deliveries, newest first: state, attempts, the last answer")
def get_deliveries(
    request: Request,
    webhook_id: PathId,
    state: Annotated[str | None, Query(max_length=16, description="pending, failing, delivered or dead")] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    scope: TenantScope = Depends(tenant_scope),
) -> queries.DeliveryPage:
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return queries.list_deliveries(conn, tenant.id, actor, webhook_id=webhook_id, state=state, limit=limit, offset=offset)


@router.post("/webhooks/deliveries/{delivery_id}/resend", tags=["webhooks"], status_code=202, summary="Send a delivery again, with a new 24 hours of retries")
def post_resend(request: Request, delivery_id: PathId, scope: TenantScope = Depends(tenant_scope)) -> Resent:
    with tenant_transaction(services(request), scope.slug, actor=scope.auth.actor) as uow:
        actions.resend(uow, delivery_id)
    return Resent(delivery_id=delivery_id, state="pending")


@router.post(
    "/callbacks/{tenant}/webhooks/{webhook_id}/reauthorized",
    tags=["webhooks"],
    summary="A third-party app acknowledges re-authorization (R-POST-1), signed with its endpoint's secret",
    description=(
        'No token: the body, JSON like {"grant_id": 17}, is signed like our webhooks, in the Offboard-Signature header '
        "(t=<unix seconds>,v1=<hex HMAC-SHA256 of t, '.', the body>), within five minutes. The path is in each "
        "app.reauthorization_required delivery. Acknowledging twice changes nothing the second time."
    ),
)
async def post_reauthorized(
    request: Request,
    tenant: Slug,
    webhook_id: PathId,
    offboard_signature: Annotated[str | None, Header(max_length=1024)] = None,
) -> Acknowledgement:
    body = await request.body()

    def acknowledge() -> actions.Acknowledged:
        with tenant_transaction(services(request), tenant, actor=Actor(kind="webhook", webhook_id=webhook_id)) as uow:
            return actions.acknowledge_by_callback(uow, webhook_id, offboard_signature, body)

    done = await run_in_threadpool(acknowledge)
    return Acknowledgement(grant_id=done.grant_id, app=done.app, member_id=done.member_id, already_acknowledged=done.already)
