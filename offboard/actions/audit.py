"""Reading and verifying the audit trail (SPEC §8, INV-5)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row

from offboard.audit.chain import verify
from offboard.domain.authz import Action, Actor, require
from offboard.store import audit_log


def verify_chain(conn: Connection, tenant: Row, actor: Actor) -> dict[str, Any]:
    require(actor, Action.READ_AUDIT)
    verdict = verify(audit_log.stored_events(conn, tenant.id), tenant.audit_seq, tenant.audit_head)
    return {
        "tenant": tenant.slug,
        "ok": verdict.ok,
        "events": verdict.events,
        "head_seq": tenant.audit_seq,
        "head": tenant.audit_head,
        "first_bad_seq": verdict.finding.seq if verdict.finding else None,
        "problem": verdict.finding.problem if verdict.finding else None,
    }


def events(conn: Connection, tenant: Row, actor: Actor, *, before: int | None = None, limit: int = 50, action: str | None = None) -> list[dict[str, Any]]:
    require(actor, Action.READ_AUDIT)
    return audit_log.page(conn, tenant.id, before=before, limit=max(1, min(limit, 500)), action=action)
