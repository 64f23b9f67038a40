"""Reading webhook endpoints and their deliveries (SPEC §9): who may manage them may read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, case, func, select

from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import NotFound, error
from offboard.domain.vocabulary import OutboxState, WebhookStatus
from offboard.store.tables import webhook_deliveries, webhook_subscriptions

S, D = webhook_subscriptions, webhook_deliveries
MAX_PAGE = 200


@dataclass(frozen=True)
class WebhookView:
    id: int
    url: str
    description: str
    events: list[str]
    app: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    delivered: int  # deliveries that reached the endpoint
    failing: int  # waiting for a retry
    dead: int  # given up
    last_delivered_at: datetime | None


@dataclass(frozen=True)
class DeliveryView:
    id: int
    webhook_id: int
    event: str  # the event's id, the same in every attempt and re-send
    topic: str
    ids: dict[str, int | str]
    event_at: datetime  # when the event happened (a test event: when it was asked for)
    state: str
    attempts: int
    last_status: int | None  # the endpoint's HTTP answer to the last attempt
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None  # while it waits for an attempt
    give_up_at: datetime
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class DeliveryPage:
    total: int
    items: list[DeliveryView]


def _counts() -> Select[Any]:
    def n(state: str) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((D.c.state == state, 1), else_=0)), 0)

    return select(
        D.c.subscription_id,
        n(OutboxState.DELIVERED).label("delivered"),
        n(OutboxState.FAILING).label("failing"),
        n(OutboxState.DEAD).label("dead"),
        func.max(D.c.delivered_at).label("last_delivered_at"),
    ).group_by(D.c.subscription_id)


def list_webhooks(conn: Connection, tenant_id: int, actor: Actor, *, include_removed: bool = False) -> list[WebhookView]:
    require(actor, Action.MANAGE_TOKENS)
    counts = _counts().where(D.c.tenant_id == tenant_id).subquery()
    query = select(S, counts.c.delivered, counts.c.failing, counts.c.dead, counts.c.last_delivered_at).outerjoin(counts, counts.c.subscription_id == S.c.id).where(S.c.tenant_id == tenant_id)
    if not include_removed:
        query = query.where(S.c.status != WebhookStatus.REMOVED)
    return [_view(r) for r in conn.execute(query.order_by(S.c.id))]


def show_webhook(conn: Connection, tenant_id: int, actor: Actor, webhook_id: int) -> WebhookView:
    require(actor, Action.MANAGE_TOKENS)
    counts = _counts().where(D.c.tenant_id == tenant_id, D.c.subscription_id == webhook_id).subquery()
    query = select(S, counts.c.delivered, counts.c.failing, counts.c.dead, counts.c.last_delivered_at).outerjoin(counts, counts.c.subscription_id == S.c.id)
    row = conn.execute(query.where(S.c.tenant_id == tenant_id, S.c.id == webhook_id)).first()
    if row is None:
        raise error(NotFound, "webhook_not_found", "There is no webhook endpoint {id} in this enterprise.", id=webhook_id)
    return _view(row)


def _view(r: Row[Any]) -> WebhookView:
    return WebhookView(r.id, r.url, r.description, list(r.events), r.app_name, r.status, r.created_at, r.updated_at, r.delivered or 0, r.failing or 0, r.dead or 0, r.last_delivered_at)


def list_deliveries(conn: Connection, tenant_id: int, actor: Actor, *, webhook_id: int | None = None, state: str | None = None, limit: int = 50, offset: int = 0) -> DeliveryPage:
    """Deliveries newest first, of one endpoint or all."""
    require(actor, Action.MANAGE_TOKENS)
    where = [D.c.tenant_id == tenant_id]
    if webhook_id is not None:
        show_webhook(conn, tenant_id, actor, webhook_id)
        where.append(D.c.subscription_id == webhook_id)
    if state:
        where.append(D.c.state == v.choice(state, OutboxState, "state"))
    limit = max(1, min(limit, MAX_PAGE))
    total = conn.execute(select(func.count()).select_from(D).where(*where)).scalar_one()
    rows = conn.execute(select(D).where(*where).order_by(D.c.id.desc()).limit(limit).offset(max(offset, 0))).all()
    waiting = (OutboxState.PENDING, OutboxState.FAILING)
    return DeliveryPage(
        total,
        [
            DeliveryView(
                r.id,
                r.subscription_id,
                r.event_key,
                r.topic,
                dict(r.ids),
                r.event_at,
                r.state,
                r.attempts,
                r.last_status,
                r.last_error,
                r.last_attempt_at,
                r.next_attempt_at if r.state in waiting else None,
                r.give_up_at,
                r.delivered_at,
                r.created_at,
            )
            for r in rows
        ],
    )
