"""Who touched a member's data under the law, from the audit trail: the reads and exports of their
chats (R-DATA-1), the legal holds placed and released on their records (R-LAW-2), their erasure
requests and what they erased, and the copies of their personal data made for them (R-LAW-1),
newest first, each as a sentence.

Read by those who may read the audit trail, and by those who watch over the member's records
under the law (who may place a legal hold on them: a super admin, an auditing admin in scope):
the people who answer for who read what. HR, who files erasure requests, sees the requests and
holds themselves on the data page, not this trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from offboard.actions.members import target_of
from offboard.domain.authz import Action, Actor, Target, allowed, require
from offboard.queries import audit_text as text
from offboard.queries.audit import resolve
from offboard.queries.audit_text import Part
from offboard.store import audit_log, repo
from offboard.store.audit_log import EventFilter
from offboard.store.rows import AnyRow

DATA_ACTIONS = ("chats.", "hold.", "erasure.", "data.")


@dataclass(frozen=True)
class Access:
    seq: int
    at_local: str  # in the enterprise's time zone, YYYY-MM-DD HH:MM:SS
    action: str
    parts: list[Part]  # the sentence, cut where it names someone
    reason: str | None  # the reason the actor gave, as they typed it


def may_read(actor: Actor, target: Target) -> bool:
    """May `actor` read who touched the data of the member `target` is (as `accesses` requires)."""
    return allowed(actor, Action.READ_AUDIT) or allowed(actor, Action.LEGAL_HOLD, target)


def accesses(conn: Connection, tenant: AnyRow, actor: Actor, ref: int | str, *, locale: str, limit: int = 50) -> list[Access]:
    """The newest `limit` events about the member's data. The newest `limit` of the kinds
    together lie among the newest `limit` of each kind: one query per kind, merged."""
    member = repo.member_ref(conn, tenant.id, ref)
    if not allowed(actor, Action.READ_AUDIT):
        require(actor, Action.LEGAL_HOLD, target_of(conn, tenant.id, member))
    rows: list[dict[str, Any]] = []
    for prefix in DATA_ACTIONS:
        rows += audit_log.page(conn, tenant.id, before=None, limit=limit, where=EventFilter(action=prefix, target=f"member:{member.id}"))
    rows = sorted(rows, key=lambda r: r["seq"], reverse=True)[:limit]
    refs = {r["actor"] for r in rows} | {t for r in rows for t in r["targets"]}
    parties = resolve(conn, tenant.id, refs, locale)
    tz = tenant.timezone
    return [
        Access(
            r["seq"],
            text.tenant_time(r["at"], tz, seconds=True),
            r["action"],
            text.sentence_parts(r["action"], parties[r["actor"]], [parties[t] for t in r["targets"]], r["details"], locale, tz),
            (r["details"] or {}).get("reason"),
        )
        for r in rows
    ]
