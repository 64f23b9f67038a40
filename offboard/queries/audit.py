"""Reading and verifying the audit trail (SPEC §8, INV-5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from offboard.audit.chain import verify
from offboard.domain.authz import Action, Actor, require
from offboard.store import audit_log
from offboard.store.rows import AnyRow


@dataclass(frozen=True)
class ChainVerdict:
    tenant: str
    ok: bool
    events: int
    head_seq: int
    head: str
    first_bad_seq: int | None  # the first event that does not verify; None with a bad head
    problem: str | None


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: str
    actor: str  # member:<id>, token:<id>, operator or system
    action: str
    targets: list[str]
    details: dict[str, Any] | None
    hash: str


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    next_before: int | None  # pass as `before` for the next page; None on the last


def verify_chain(conn: Connection, tenant: AnyRow, actor: Actor) -> ChainVerdict:
    require(actor, Action.READ_AUDIT)
    verdict = verify(audit_log.stored_events(conn, tenant.id), tenant.audit_seq, tenant.audit_head)
    finding = verdict.finding
    return ChainVerdict(tenant.slug, verdict.ok, verdict.events, tenant.audit_seq, tenant.audit_head, finding.seq if finding else None, finding.problem if finding else None)


def events(conn: Connection, tenant: AnyRow, actor: Actor, *, before: int | None = None, limit: int = 50, action: str | None = None) -> AuditPage:
    """The newest events first, `limit` (1-500) at a time, before a sequence number."""
    require(actor, Action.READ_AUDIT)
    limit = max(1, min(limit, 500))
    items = [AuditEvent(**row) for row in audit_log.page(conn, tenant.id, before=before, limit=limit, action=action)]
    return AuditPage(items, items[-1].seq if len(items) == limit else None)
