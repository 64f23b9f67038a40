"""Console: the audit trail for people (SPEC §8) — times in the enterprise's time zone, actors
and targets by name, a sentence per event, filters, and the chain's verification in words."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from offboard.domain.errors import ValidationError
from offboard.http.errors import failure
from offboard.http.locale import locale_of
from offboard.queries import audit as audit_q
from offboard.queries import audit_proofs
from offboard.queries import audit_text
from offboard.web.exit_views import local_time
from offboard.web.rendering import render
from offboard.web.session import PAGE_SIZE, Console, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)


# A verification finding in words: what happened to the event it names (audit.chain.Finding).
PROBLEMS = {
    "changed": _("it was changed after it was written"),
    "missing": _("it is missing"),
    "reordered": _("it was moved out of its place"),
    "side_changed": _("its details were changed after it was written"),
    "truncated": _("it and every event after it were deleted"),
    "tree_changed": _("the Merkle tree over it was changed after it was written"),
}


def _raw(event: audit_q.AuditEvent) -> str:
    """The stored event as support reads it."""
    core = {"seq": event.seq, "at": event.at, "actor": event.actor, "action": event.action, "targets": event.targets, "hash": event.hash}
    return json.dumps({**core, "details": event.details}, ensure_ascii=False, indent=2, sort_keys=False)


@router.get("/audit")
def audit_page(
    request: Request,
    c: Console = Depends(console),
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    member: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=32)] = None,
):
    locale = locale_of(request)
    typed = {"action": (action or "").strip(), "actor": (actor or "").strip(), "member": (member or "").strip(), "from": (since or "").strip(), "to": (until or "").strip()}
    rows: list[dict[str, Any]] = []
    next_before, problem, timezone = None, None, ""
    with c.read() as (conn, tenant, reader):
        timezone = tenant.timezone
        try:
            page = audit_q.events(
                conn,
                tenant,
                reader,
                before=before,
                limit=PAGE_SIZE,
                action=typed["action"] or None,
                by=typed["actor"] or None,
                member=typed["member"] or None,
                since=typed["from"] or None,
                until=typed["to"] or None,
                locale=locale,
            )
        except ValidationError as exc:
            problem = failure(request, exc)
        else:
            next_before = page.next_before
            for e in page.items:
                parts = audit_text.sentence_parts(e.action, e.actor_party, e.target_parties, e.details, locale, timezone, e.detail_parties)
                rows.append({"event": e, "parts": parts, "raw": _raw(e)})
        signed = audit_proofs.signing(conn, tenant, reader)
    kept = {k: v for k, v in typed.items() if v}
    categories = list(audit_text.CATEGORIES.items())
    exact = typed["action"] if typed["action"] and typed["action"] not in audit_text.CATEGORIES else ""
    return render(
        request,
        "audit.html",
        status_code=422 if problem else 200,
        c=c,
        rows=rows,
        typed=typed,
        categories=categories,
        exact_action=exact,
        timezone=timezone,
        problem=problem,
        signing=signed,
        signed_at=local_time(signed.signed_at.isoformat(), timezone) if signed.signed_at else None,
        older=f"/audit?{urlencode({**kept, 'before': next_before})}" if next_before else None,
        newest=f"/audit?{urlencode(kept)}" if before else None,
    )


@router.get("/audit/verify")
def audit_verify(request: Request, c: Console = Depends(console)):
    with c.read() as (conn, tenant, actor):
        result = audit_q.verify_chain(conn, tenant, actor)
    return render(request, "_verify.html", result=result, problems=PROBLEMS)
