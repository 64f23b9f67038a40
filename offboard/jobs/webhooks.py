"""Sending webhook deliveries (SPEC §9): what is due is claimed with a lease, sent outside any
transaction by a few threads (a slow endpoint holds up only its own deliveries), and settled.
A failure is retried with exponential back-off for 24 hours; an exit never waits for any of it.

The body is JSON, signed with the endpoint's secret (offboard.webhooks.signature):

    {"id": "member.exited/1/42", "type": "member.exited", "created_at": "…", "tenant": "acme",
     "delivery": {"id": 7, "attempt": 1},
     "data": {"exit_id": 5, "member_id": 9, "member": {"id": 9, "userid": "liming", …}}}

`id` names the event: the same event sent again (a retry, a re-send, a worker that died mid-send)
has the same id, so a receiver acts on it once. People are named as they are when the delivery is
sent, so an erased member's userid is their pseudonym in every later delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Row, select

from offboard.actions.context import Services
from offboard.actions.webhooks import secret_of
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import OutboxState
from offboard.interfaces import DeliveryError
from offboard.store import webhooks as store
from offboard.store.tables import app_grants, members

LEASE = timedelta(minutes=2)
BATCH = 50
THREADS = 8

log = structlog.get_logger("offboard.webhooks")


@dataclass
class WebhookReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def acknowledge_path(tenant_slug: str, subscription_id: int) -> str:
    return f"/api/v1/callbacks/{tenant_slug}/webhooks/{subscription_id}/reauthorized"


def deliver_due(services: Services, *, limit: int = BATCH, lease: timedelta = LEASE) -> WebhookReport:
    """Send what is due now; safe to run in many workers at once (leases, SKIP LOCKED)."""
    report = WebhookReport()
    with services.db.write() as conn:
        rows = store.claim_due(conn, services.clock.now(), lease, limit)
    if not rows:
        return report
    with services.db.read() as conn:
        bodies = _bodies(conn, rows)
    secrets: dict[tuple[int, int], str] = {}
    outcomes: dict[int, tuple[int | None, str | None]] = {}
    sendable = []
    for row in rows:
        if services.vault is None:
            outcomes[row.id] = (None, "this worker has no key file, so it cannot sign")
            continue
        try:
            if (row.tenant_id, row.subscription_id) not in secrets:
                secrets[(row.tenant_id, row.subscription_id)] = secret_of(services.vault, row, row.subscription_id)
            secret = secrets[(row.tenant_id, row.subscription_id)]
        except OffboardError as exc:
            outcomes[row.id] = (None, f"the signing secret does not open: {exc}")
            continue
        sendable.append((row, secret))

    def send(item: tuple[Row, str]) -> tuple[int, tuple[int | None, str | None]]:
        row, secret = item
        try:
            return row.id, (services.webhooks.send(row.url, secret, bodies[row.id]), None)
        except DeliveryError as exc:
            return row.id, (exc.http_status, str(exc))
        except OffboardError as exc:
            return row.id, (None, str(exc))

    if sendable:
        with ThreadPoolExecutor(max_workers=min(THREADS, len(sendable))) as pool:
            outcomes.update(pool.map(send, sendable))
    now = services.clock.now()
    with services.db.write() as conn:
        for row in rows:
            status, error = outcomes[row.id]
            state = store.settle(conn, row, status=status, error=error, now=now)
            if state == OutboxState.DELIVERED:
                report.delivered += 1
                continue
            report.dead += state == OutboxState.DEAD
            report.failed += state != OutboxState.DEAD
            report.errors.append(f"{row.url}: {error}")
            log.warning("webhook_delivery_failed", delivery=row.id, tenant_id=row.tenant_id, attempt=row.attempts + 1, error=error)
    return report


def _bodies(conn: Connection, rows: Sequence[Row]) -> dict[int, dict[str, Any]]:
    """Each delivery's body, naming its people and grants as they are now (one read per kind)."""
    people: dict[tuple[int, int], dict[str, Any]] = {}
    grants: dict[tuple[int, int], dict[str, Any]] = {}
    for tenant_id in {r.tenant_id for r in rows}:
        mine = [r for r in rows if r.tenant_id == tenant_id]
        member_ids = {v for r in mine for k, v in r.ids.items() if k in ("member_id", "to_member_id") and isinstance(v, int)}
        if member_ids:
            query = select(members.c.id, members.c.userid, members.c.external_id, members.c.employee_number, members.c.status).where(members.c.tenant_id == tenant_id, members.c.id.in_(member_ids))
            people.update({(tenant_id, m.id): {"id": m.id, "userid": m.userid, "external_id": m.external_id, "employee_number": m.employee_number, "status": m.status} for m in conn.execute(query)})
        grant_ids = {r.ids["grant_id"] for r in mine if isinstance(r.ids.get("grant_id"), int)}
        if grant_ids:
            query = select(app_grants.c.id, app_grants.c.app_name, app_grants.c.scopes, app_grants.c.status).where(app_grants.c.tenant_id == tenant_id, app_grants.c.id.in_(grant_ids))
            grants.update({(tenant_id, g.id): {"id": g.id, "app": g.app_name, "scopes": g.scopes, "status": g.status} for g in conn.execute(query)})
    bodies = {}
    for r in rows:
        data: dict[str, Any] = dict(r.ids)
        for key, name in (("member_id", "member"), ("to_member_id", "to_member")):
            if (r.tenant_id, r.ids.get(key)) in people:
                data[name] = people[(r.tenant_id, r.ids[key])]
        if (r.tenant_id, r.ids.get("grant_id")) in grants:
            grant = dict(grants[(r.tenant_id, r.ids["grant_id"])])
            if r.app_name is not None and grant["app"] == r.app_name:
                grant["acknowledge"] = {"method": "POST", "path": acknowledge_path(r.tenant_slug, r.subscription_id), "body": {"grant_id": grant["id"]}}
            data["grant"] = grant
        bodies[r.id] = {
            "id": r.event_key,
            "type": r.topic,
            "created_at": r.event_at.isoformat(),
            "tenant": r.tenant_slug,
            "delivery": {"id": r.id, "attempt": r.attempts + 1},
            "data": data,
        }
    return bodies
