"""Webhook subscriptions (SPEC §9) and the signed callback by which a third-party app says it has
re-authorized (R-POST-1).

A subscription names an https endpoint and the events it is told of. Its signing secret is made
here, shown once, and kept only wrapped by the key-encryption key of the enterprise's data region
(the key vault of R-LAW-3). Each event becomes one delivery per subscription (offboard.jobs.webhooks
sends them after commit, retried for 24 hours); a delivery can be sent again by hand, and a test
event checks an endpoint before anything real is sent to it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import func, insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.domain import validation as v
from offboard.domain import webhooks as wh
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, NotFound, Term, Unauthorized, ValidationError, error
from offboard.domain.vocabulary import ExitState, GrantStatus, OutboxState, WebhookStatus
from offboard.interfaces import KeyVault, WrappedKey
from offboard.store import ids
from offboard.store.id_lists import among_ids
from offboard.store.webhooks import delivery_row
from offboard.store.rows import AnyRow
from offboard.store.tables import app_grants, exits, webhook_deliveries, webhook_subscriptions
from offboard.webhooks import signature
from offboard.webhooks.sender import check_endpoint

S, D = webhook_subscriptions, webhook_deliveries
SECRET_PREFIX = "whsec_"
MAX_CALLBACK_BYTES = 4096


def secret_binding(tenant_id: int, subscription_id: int) -> bytes:
    """The associated data of a subscription's wrapped secret: it opens for this one only."""
    return f"offboard webhook secret|{tenant_id}|{subscription_id}".encode()


def secret_text(raw: bytes) -> str:
    return SECRET_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def secret_of(vault: KeyVault, row: AnyRow, subscription_id: int) -> str:
    """The signing secret of subscription `subscription_id`, from a row holding its wrap
    (KeyVaultError when the key file is not the one that wrapped it)."""
    return secret_text(vault.unwrap(WrappedKey(row.region, row.kek_id, row.secret_wrapped), secret_binding(row.tenant_id, subscription_id)))


@dataclass(frozen=True)
class Created:
    id: int
    url: str
    events: list[str]
    secret: str  # shown once, in this answer only


def _vault(uow: UnitOfWork) -> KeyVault:
    if uow.vault is None:
        raise error(Conflict, "key_vault_missing", "This service was started without a key file, so it cannot keep a signing secret; start it with its key file.")
    return uow.vault


def _url(url: str) -> str:
    url = v.clean(url, "url")
    if not url or len(url) > 2048:
        raise error(ValidationError, "webhook_url_invalid", "{url} is not a webhook endpoint; give an https:// URL.", url=url[:200])
    check_endpoint(url)
    return url


def _app(app_name: str | None) -> str | None:
    if app_name is None:
        return None
    return v.text(app_name, "app", max_length=128, multiline=False) or None


def _description(description: str | None) -> str:
    return v.text(description, "description", max_length=255, required=False, multiline=False)


def subscription(uow: UnitOfWork, subscription_id: int, *, live: bool = True) -> AnyRow:
    row = uow.conn.execute(select(S).where(S.c.tenant_id == uow.tenant_id, S.c.id == subscription_id)).first()
    if row is None or (live and row.status == WebhookStatus.REMOVED):
        raise error(NotFound, "webhook_not_found", "There is no webhook endpoint {id} in this enterprise.", id=subscription_id)
    return row


def create_subscription(uow: UnitOfWork, *, url: str, events: list[str], description: str | None = None, app_name: str | None = None) -> Created:
    uow.require(Action.MANAGE_TOKENS)
    conn, tid = uow.conn, uow.tenant_id
    url, chosen, text, app = _url(url), wh.events(events), _description(description), _app(app_name)
    live = conn.execute(select(func.count()).where(S.c.tenant_id == tid, S.c.status != WebhookStatus.REMOVED)).scalar_one()
    if live >= wh.MAX_SUBSCRIPTIONS:
        raise error(Conflict, "webhook_limit", "An enterprise has at most {max} webhook endpoints; remove one first.", max=wh.MAX_SUBSCRIPTIONS)
    sid = ids.next_id(conn, S, tid)
    raw = os.urandom(32)
    wrapped = _vault(uow).wrap(uow.tenant.region, raw, secret_binding(tid, sid))
    conn.execute(
        insert(S).values(
            tenant_id=tid,
            id=sid,
            url=url,
            description=text,
            events=chosen,
            app_name=app,
            region=wrapped.region,
            kek_id=wrapped.key_id,
            secret_wrapped=wrapped.blob,
            status=WebhookStatus.ACTIVE,
            created_by=uow.actor.audit_id,
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    uow.audit("webhook.created", [f"webhook:{sid}"], {"url": url, "events": chosen, "app": app})
    return Created(sid, url, chosen, secret_text(raw))


def update_subscription(
    uow: UnitOfWork,
    subscription_id: int,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    app_name: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Change what is given; returns the changes (none: nothing is written or audited)."""
    uow.require(Action.MANAGE_TOKENS)
    row = subscription(uow, subscription_id)
    wanted: dict[str, Any] = {}
    if url is not None:
        wanted["url"] = _url(url)
    if events is not None:
        wanted["events"] = wh.events(events)
    if description is not None:
        wanted["description"] = _description(description)
    if app_name is not None:
        wanted["app_name"] = _app(app_name)
    if status is not None:
        if status not in (WebhookStatus.ACTIVE, WebhookStatus.PAUSED):
            raise error(ValidationError, "webhook_status_invalid", "An endpoint is either active or paused.")
        wanted["status"] = status
    changes = {k: value for k, value in wanted.items() if getattr(row, k) != value}
    if changes:
        uow.conn.execute(update(S).where(S.c.tenant_id == uow.tenant_id, S.c.id == row.id).values(**changes, updated_at=uow.now))
        uow.audit("webhook.updated", [f"webhook:{row.id}"], {"changes": changes})
    return changes


def remove_subscription(uow: UnitOfWork, subscription_id: int) -> None:
    """The endpoint is told nothing more; it stays listed with its deliveries for the record."""
    uow.require(Action.MANAGE_TOKENS)
    row = subscription(uow, subscription_id)
    conn, tid = uow.conn, uow.tenant_id
    conn.execute(update(S).where(S.c.tenant_id == tid, S.c.id == row.id).values(status=WebhookStatus.REMOVED, updated_at=uow.now))
    waiting = (D.c.tenant_id == tid) & (D.c.subscription_id == row.id) & D.c.state.in_([OutboxState.PENDING, OutboxState.FAILING])
    dropped = conn.execute(update(D).where(waiting).values(state=OutboxState.DEAD, last_error="endpoint removed")).rowcount
    uow.audit("webhook.removed", [f"webhook:{row.id}"], {"url": row.url, "undelivered": dropped})


def _new_delivery(uow: UnitOfWork, sub: AnyRow, topic: str, key: str, event_ids: dict[str, int | str]) -> int:
    did = ids.next_id(uow.conn, D, uow.tenant_id)
    uow.conn.execute(insert(D).values(**delivery_row(uow.tenant_id, did, sub.id, key, topic, event_ids, uow.now, uow.now)))
    return did


def send_test(uow: UnitOfWork, subscription_id: int) -> int:
    """A `webhook.test` event to this endpoint alone, sent by the next worker pass."""
    uow.require(Action.MANAGE_TOKENS)
    sub = subscription(uow, subscription_id)
    if sub.status != WebhookStatus.ACTIVE:
        raise error(Conflict, "webhook_paused", "Webhook endpoint {id} is paused; resume it before sending it a test event.", id=sub.id)
    n = uow.conn.execute(select(func.count()).where(D.c.tenant_id == uow.tenant_id, D.c.subscription_id == sub.id, D.c.topic == wh.TEST)).scalar_one()
    did = _new_delivery(uow, sub, wh.TEST, f"{wh.TEST}/{uow.tenant_id}/{sub.id}/{n + 1}", {"webhook_id": sub.id})
    uow.audit("webhook.test_sent", [f"webhook:{sub.id}"], {"delivery_id": did})
    return did


def resend(uow: UnitOfWork, delivery_id: int) -> None:
    """Send a delivery again (given up, or delivered and lost by the receiver), with a new 24 h of retries."""
    uow.require(Action.MANAGE_TOKENS)
    conn, tid = uow.conn, uow.tenant_id
    row = conn.execute(select(D).where(D.c.tenant_id == tid, D.c.id == delivery_id)).first()
    if row is None:
        raise error(NotFound, "delivery_not_found", "There is no webhook delivery {id} in this enterprise.", id=delivery_id)
    sub = subscription(uow, row.subscription_id)
    if sub.status != WebhookStatus.ACTIVE:
        raise error(Conflict, "webhook_paused", "Webhook endpoint {id} is paused; resume it before sending anything to it again.", id=sub.id)
    if row.state == OutboxState.PENDING:
        raise error(Conflict, "delivery_waiting", "Delivery {id} is already waiting to be sent.", id=delivery_id)
    conn.execute(update(D).where(D.c.tenant_id == tid, D.c.id == row.id).values(state=OutboxState.PENDING, attempts=0, next_attempt_at=uow.now, give_up_at=uow.now + wh.RETRY_FOR, claimed_until=None))
    uow.audit("webhook.resent", [f"webhook:{sub.id}"], {"delivery_id": row.id, "topic": row.topic, "event": row.event_key, "was": row.state})


@dataclass(frozen=True)
class Acknowledged:
    grant_id: int
    app: str
    member_id: int
    already: bool  # acknowledged before: nothing changed this time


def acknowledge_by_callback(uow: UnitOfWork, subscription_id: int, header: str | None, body: bytes) -> Acknowledged:
    """R-POST-1: a third-party app, signing with its endpoint's secret, says it has re-authorized
    after a member's exit; the grant is acknowledged (checklist item 8 counts it). A callback
    whose signature does not verify, or which is older than five minutes, is refused and audited."""
    conn, tid = uow.conn, uow.tenant_id
    row = conn.execute(select(S).where(S.c.tenant_id == tid, S.c.id == subscription_id)).first()
    if row is None or row.status == WebhookStatus.REMOVED:
        raise error(NotFound, "webhook_not_found", "There is no webhook endpoint {id} in this enterprise.", id=subscription_id)
    reason = signature.refusal(secret_of(_vault(uow), row, row.id), header or "", body, uow.now)
    if reason is not None:
        _refuse(uow, row.id, reason)
    grant_id = _callback_grant(body)
    grant = conn.execute(select(app_grants).where(app_grants.c.tenant_id == tid, app_grants.c.id == grant_id)).first()
    if grant is None or row.app_name is None or grant.app_name != row.app_name:
        raise error(
            NotFound,
            "grant_not_found",
            "Grant {grant} is not one of {app}'s grants in this enterprise.",
            grant=grant_id,
            app=row.app_name or row.url,
        )
    if grant.status == GrantStatus.ACKNOWLEDGED:
        return Acknowledged(grant.id, grant.app_name, grant.member_id, True)
    if grant.status != GrantStatus.REAUTH_REQUIRED:
        raise error(Conflict, "grant_not_revoked", "Grant {grant} was not revoked by an exit; there is nothing to acknowledge.", grant=grant.id)
    conn.execute(
        update(app_grants).where(app_grants.c.tenant_id == tid, app_grants.c.id == grant.id).values(status=GrantStatus.ACKNOWLEDGED, acknowledged_at=uow.now, acknowledged_by=f"webhook:{row.id}")
    )
    exit_row = conn.execute(select(exits.c.id).where(exits.c.tenant_id == tid, exits.c.member_id == grant.member_id, exits.c.state == ExitState.OPEN).order_by(exits.c.id.desc()).limit(1)).first()
    targets = ([f"exit:{exit_row.id}"] if exit_row else []) + [f"member:{grant.member_id}", f"webhook:{row.id}"]
    uow.audit("grants.acknowledged", targets, {"count": 1, "app": grant.app_name, "grant_id": grant.id, "evidence": "signed callback"})
    return Acknowledged(grant.id, grant.app_name, grant.member_id, False)


def _callback_grant(body: bytes) -> int:
    try:
        document = json.loads(body.decode("utf-8")) if len(body) <= MAX_CALLBACK_BYTES else None
    except (UnicodeDecodeError, ValueError):
        document = None
    grant = document.get("grant_id") if isinstance(document, dict) else None
    if not isinstance(grant, int) or isinstance(grant, bool) or not 0 < grant < 2**63:
        raise error(ValidationError, "callback_invalid", 'The callback body is JSON like {{"grant_id": 17}}, at most {max} bytes.', max=MAX_CALLBACK_BYTES)
    return grant


def _refuse(uow: UnitOfWork, subscription_id: int, reason: str) -> NoReturn:
    uow.audit("webhook.callback_refused", [f"webhook:{subscription_id}"], {"reason": reason})
    uow.refuse(error(Unauthorized, "callback_refused", "The callback was refused: {why}", why=Term("callback_refusal", reason)))


def announce_reauthorization(uow: UnitOfWork, exit_of: Mapping[int, int]) -> None:
    """R-POST-1: one `app.reauthorization_required` event per grant the exits of `exit_of`
    (member id → exit id) revoked just now, so each app is told of its own grants."""
    if not exit_of:
        return
    conn, tid = uow.conn, uow.tenant_id
    query = select(app_grants.c.id, app_grants.c.member_id).where(
        app_grants.c.tenant_id == tid,
        among_ids(conn, app_grants.c.member_id, list(exit_of)),
        app_grants.c.status == GrantStatus.REAUTH_REQUIRED,
        app_grants.c.revoked_at == uow.now,
    )
    for grant in conn.execute(query.order_by(app_grants.c.id)):
        uow.emit("app.reauthorization_required", grant_id=grant.id, member_id=grant.member_id, exit_id=exit_of[grant.member_id])
