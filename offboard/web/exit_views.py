"""What the exit pages show beside the actions' own answers: labels of the vocabulary, times in
the enterprise's time zone, the time left in a restore window, and an exit's timeline read from
the audit trail. Presentation only: no rule of the exit lifecycle is decided here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


from sqlalchemy import Connection, Row

from offboard.actions import members as member_actions
from offboard.domain.authz import Action, allowed
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import MemberStatus
from offboard.i18n import Term, Terms, translate
from offboard.i18n.glossary import restored, term
from offboard.queries.audit_text import EXPORTS
from offboard.exports.words import actor_words
from offboard.store import audit_log, repo
from offboard.i18n import mark as _


DESTINATIONS = {
    "archive": _("Enterprise archive"),
    "delete": _("Deleted"),
    "first_member": _("First member who joined"),
    "unassigned": _("Unassigned"),
    "member": _("Acceptor"),
}
WHY = {
    "acceptor": _("Acceptor named for this kind"),
    "successor": _("Successor of the exit"),
    "manager": _("Direct manager"),
    "fallback": _("Fallback of this kind"),
    "file_policy": _("Enterprise file policy"),
}
LABELS = {"destinations": DESTINATIONS, "why": WHY}

# One sentence per audit action of an exit; parameters come from the event's details.
EVENTS = {
    "exit.scheduled": _("Exit scheduled for {when}"),
    "exit.started": _("Exit started"),
    "exit.resources_moved": _("{count} × {kind}: {destination}"),
    "exit.took_effect": _("Took effect: access cut, restore window until {until}"),
    "exit.inherited": _("{count} × {kind} inherited by {userid}"),
    "transfer.result": _("Transfer of {kind} {resource_id}: {state}"),
    "transfer.results": _("{count} × {kind} recorded as {state}"),
    "transfer.reassigned": _("{count} waiting × {kind} withdrawn, to be handed to {userid}"),
    "transfer.taken_over": _("{count} × {kind} taken over after 24 h"),
    "checklist.attested": _("Attested: {item}"),
    "devices.wiped": _("{count} device(s) recorded as wiped or returned"),
    "grants.acknowledged": _("{count} third-party grant(s) acknowledged"),
    "reimbursements.closed": _("{count} reimbursement(s) closed"),
    "exit.signed_off": _("Signed off as {role}"),
    "exit.restored": _("Restored"),
    "exit.cancelled": _("Cancelled before it took effect"),
    "exit.rescheduled": _("Moved to {when}"),
    "exit.finalized": _("Finalized: chats retained until {until}"),
    "exit.exported": _("Exported the {what} as {format}"),
}
# Plan issues are stored with plain parameters; these name vocabulary values, shown as words.
ISSUE_TERMS = {"status": "member_status", "kinds": "resource_kind"}
ROLES_NAMED = {"successor": _("successor"), "acceptor for {kind}": _("acceptor for {kind}")}
TIMELINE_SCAN = 5000  # newest audit events searched for an exit's timeline


def local_time(value: str | datetime | None, tz: str) -> str:
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    try:
        return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError):  # a stored time at the edge of the calendar: shown as it is, in UTC
        return moment.strftime("%Y-%m-%d %H:%M UTC")


def time_left(until: str | None, now: datetime) -> dict[str, int] | None:
    """Hours and minutes until `until`, or None once it has passed."""
    if not until:
        return None
    seconds = int((datetime.fromisoformat(until) - now).total_seconds())
    if seconds <= 0:
        return None
    return {"h": seconds // 3600, "m": seconds % 3600 // 60}


def issue_text(issue: dict[str, Any], locale: str) -> str:
    """A plan blocker or warning in the reader's language, its vocabulary parameters included:
    stored with their kind (glossary.stored), or, in a plan stored before, as plain strings."""
    params = restored(issue["params"])
    for key, kind in ISSUE_TERMS.items():
        value = params.get(key)
        if isinstance(value, str):
            params[key] = Terms(kind, tuple(w.strip() for w in value.split(",")))
    role = params.get("role")
    if isinstance(role, str):  # "successor" or "acceptor for <kind>" (domain/planning.py)
        if role.startswith("acceptor for "):
            params["role"] = translate(ROLES_NAMED["acceptor for {kind}"], locale, kind=Term("resource_kind", role.removeprefix("acceptor for ")))
        else:
            params["role"] = translate(ROLES_NAMED.get(role, role), locale)
    return translate(issue["template"], locale, **params)


def people(conn: Connection, tenant_id: int, refs: set[str], locale: str) -> dict[str, str]:
    """Audit ids as a person reads them, in one query: "member:12" -> the member's name; the
    system, the operator and API tokens in words."""
    ids = {int(raw) for kind, _sep, raw in (ref.partition(":") for ref in refs if ref) if kind == "member" and raw.isascii() and raw.isdigit() and len(raw) <= 18}
    names = {f"member:{i}": name for i, name in repo.member_names(conn, tenant_id, ids).items()}
    return {ref: actor_words(ref, names.get(ref), locale) for ref in refs if ref}


def timeline(conn: Connection, tenant: Row, exit_id: int, locale: str) -> dict[str, Any]:
    """The audit events naming `exit:{id}`, oldest first. The trail is read newest first until the
    event that created the exit; a long trail is searched no further than TIMELINE_SCAN events."""
    target = f"exit:{exit_id}"
    found: list[dict[str, Any]] = []
    before, scanned, complete = None, 0, False
    while scanned < TIMELINE_SCAN and not complete:
        page = audit_log.page(conn, tenant.id, before=before, limit=500)
        if not page:
            complete = True
            break
        for event in page:
            if target in event["targets"]:
                found.append(event)
                complete = complete or event["action"] in ("exit.started", "exit.scheduled")
        scanned += len(page)
        before = page[-1]["seq"]
    names = people(conn, tenant.id, {e["actor"] for e in found} | {t for e in found for t in e["targets"] if t.startswith("member:")}, locale)
    entries = [_entry(e, names, tenant.timezone, locale) for e in reversed(found)]
    return {"entries": entries, "complete": complete}


def _entry(event: dict[str, Any], names: dict[str, str], tz: str, locale: str) -> dict[str, Any]:
    d = event["details"] or {}
    kind = term("resource_kind", d["kind"], locale) if d.get("kind") else ""
    params: dict[str, Any] = {
        "count": d.get("count", ""),
        "kind": kind,
        "role": term("role", d.get("role", ""), locale),
        "item": term("checklist_item", d["item"], locale) if d.get("item") else "",
        "resource_id": d.get("resource_id", ""),
        "state": term("ledger_state", d.get("state", ""), locale),
        "what": translate(EXPORTS.get(d.get("what", ""), d.get("what", "")), locale),
        "format": str(d.get("format", "")).upper(),
    }
    action = event["action"]
    if action in ("exit.scheduled", "exit.rescheduled"):
        params["when"] = local_time(d.get("effective_at"), tz)
    elif action == "exit.took_effect":
        params["until"] = local_time(d.get("restore_until"), tz)
    elif action == "exit.finalized":
        params["until"] = local_time(d.get("retained_until"), tz)
    elif action == "exit.resources_moved":
        acceptor = next((names.get(t, t) for t in event["targets"][2:] if t.startswith("member:")), None)
        params["destination"] = acceptor or translate(DESTINATIONS.get(d.get("destination", ""), d.get("destination", "")), locale)
    elif action in ("exit.inherited", "transfer.reassigned"):
        params["userid"] = names.get(event["targets"][-1], event["targets"][-1])
    template = EVENTS.get(action)
    text = translate(template, locale, **params) if template else action
    note = d.get("evidence") or d.get("reason") or ""
    if action == "exit.resources_moved":
        note = translate(WHY.get(note, note), locale)
    elif action == "exit.started":
        words = (term("exit_type", d["type"], locale) if d.get("type") else "", term("reason_category", d["reason_category"], locale) if d.get("reason_category") else "")
        note = " · ".join(x for x in (*words, d.get("reason", "")) if x)
    return {"seq": event["seq"], "at": local_time(event["at"], tz), "actor": names.get(event["actor"], event["actor"]), "action": action, "text": text, "note": note}


def member_exit_links(conn, tenant_id: int, actor, member_id: int) -> dict[str, Any]:
    """For the member page: may this actor plan the member's exit, and the member's latest exit."""
    member = repo.member_by_id(conn, tenant_id, member_id)
    try:
        latest = repo.exit_of(conn, tenant_id, member_id)
    except OffboardError:
        latest = None
    return {
        "can_plan": member.status == MemberStatus.ACTIVE and allowed(actor, Action.PLAN_EXIT, member_actions.target_of(conn, tenant_id, member)),
        "exit": {"id": latest.id, "state": latest.state} if latest is not None else None,
    }
