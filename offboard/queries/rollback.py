"""The rollback plan of a member's account (R-EXC-1) as it is shown before anything is undone:
each role, token, policy and handover change they made since a time, what undoing it does, or
why it is left alone (someone changed it since; it cannot come back).

The plan itself is offboard.domain.rollback over the audit trail and the current state read
here; offboard.actions.rollback computes it again under the tenant lock and applies it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from offboard.audit.chain import format_time
from offboard.domain import rollback as rb
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import ValidationError, error
from offboard.domain.policy import SETTINGS, Policy
from offboard.domain.rollback import Hindrance, Key, Subject, TokenState, Verdict
from offboard.domain.vocabulary import MemberStatus, Role, SuperAdminRank
from offboard.i18n import Term, glossary, translate
from offboard.queries import audit_text as text
from offboard.queries.audit import resolve
from offboard.queries.audit_text import Party
from offboard.store import audit_log, repo, super_admins
from offboard.store.rows import AnyRow
from offboard.store.tables import admin_handovers, api_tokens, members, roles
from offboard.i18n import mark as _


UNDO = {
    "role_remove": _("Remove the {role} role from {member}"),
    "role_restore": _("Give {member} the {role} role back"),
    "super_admin_restore": _("Give {member} the {role} role back, as {rank}"),
    "token_revoke": _("Revoke {token}"),
    "token_reinstate": _("Reinstate {token}"),
    "policy": _("Set {setting} back to {value}"),
    "handover_cancel": _("Cancel the handover to {member}"),
    "handover_revert": _("Take super-admin power back from {member}, as it was before the handover"),
}
WHY = {
    "superseded": _("Changed again later: {sentence} ({when}). Left as it is."),
    Hindrance.CHANGED_SINCE: _("It is no longer as these changes left it. Left as it is."),
    Hindrance.MEMBER_GONE: _("{member} is no longer an active member; the role does not go back."),
    Hindrance.TOKEN_EXPIRED: _("The token has expired since; it is not reinstated."),
    Hindrance.OWNER_GONE: _("The token's owner is no longer an active member; it is not reinstated."),
    Hindrance.BACKUP_TAKEN: _("Another backup super admin has been named since; the role does not go back."),
    "unchanged": _("Later changes by the same person already put it back as it was."),
    "handover_ended": _("The handover has ended already ({state})."),
}

# Settings whose values have a word in the glossary.
_VALUE_TERMS = {"admin_handover": "handover_mode"}


@dataclass(frozen=True)
class RollbackLine:
    """One audit event, told as the audit trail tells it."""

    seq: int
    at: str  # UTC, as in the audit core
    at_local: str  # in the enterprise's time zone
    sentence: str


@dataclass(frozen=True)
class RollbackItem:
    subject: str  # role | token | policy | handover
    key: list[str]  # the subject's ids: [member id, role] · [token id] · [setting] · [handover id]
    verdict: str  # undo | superseded | unchanged
    changes: list[RollbackLine]  # the member's own changes of this subject, oldest first
    undo: str | None  # what applying the plan does to it (verdict undo)
    why: str | None  # why it is left alone (superseded, unchanged)
    superseded_by: RollbackLine | None  # the later change by someone else, when there is one


@dataclass(frozen=True)
class RollbackPlan:
    member_id: int
    userid: str
    name: str
    since: str  # UTC, as in the audit core
    since_local: str
    timezone: str
    items: list[RollbackItem]
    to_undo: int
    superseded: int
    unchanged: int
    digest: str  # names this plan: applying it with this digest refuses if it has changed since


def parse_since(value: str, tz: str, now: datetime) -> datetime:
    """A day (YYYY-MM-DD, its start) or a time (YYYY-MM-DDTHH:MM[:SS], or with a space) in the
    enterprise's time zone, or with an explicit offset; not in the future."""
    raw = (value or "").strip()
    moment: datetime | None = None
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time.min, ZoneInfo(tz))
        elif len(raw) >= 16:
            parsed = datetime.fromisoformat(raw.replace(" ", "T", 1))
            moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(tz))
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise error(ValidationError, "invalid_since", "Give the time to roll back from as a day (2026-12-01) or a time (2026-12-01 09:30), not “{value}”.", value=value)
    if moment > now:
        raise error(ValidationError, "since_in_future", "The time to roll back from ({value}) is in the future.", value=value)
    return moment.astimezone(UTC)


def _events(conn: Connection, tenant_id: int, since: datetime) -> list[rb.Event]:
    limit = rb.MAX_CHANGES * 4
    rows = audit_log.since(conn, tenant_id, format_time(since), rb.ACTIONS, limit + 1)
    if len(rows) > limit:
        raise error(ValidationError, "too_many_changes", "More than {count} role, token, policy and handover changes were made since then; roll back from a later time.", count=limit)
    return [rb.Event(r["seq"], r["at"], r["actor"], r["action"], tuple(r["targets"]), r["details"]) for r in rows]


def _current(conn: Connection, tenant: AnyRow, keys: Iterable[Key], now: datetime) -> tuple[dict[Key, Any], dict[Key, AnyRow]]:
    """Each subject's state now, in one query per kind of subject; and the rows it came from."""
    keys = list(keys)
    tid = tenant.id
    state: dict[Key, Any] = {}
    rows: dict[Key, AnyRow] = {}
    member_ids = {int(k[1]) for k in keys if k[0] == Subject.ROLE}
    if member_ids:
        for r in conn.execute(select(roles).where(roles.c.tenant_id == tid, roles.c.member_id.in_(member_ids))):
            key: Key = (Subject.ROLE, str(r.member_id), r.role)
            state[key] = rb.role_state({"rank": r.rank, "scope": r.scope, "permissions": r.permissions})
            rows[key] = r
    token_ids = {int(k[1]) for k in keys if k[0] == Subject.TOKEN}
    if token_ids:
        for r in conn.execute(select(api_tokens).where(api_tokens.c.tenant_id == tid, api_tokens.c.id.in_(token_ids))):
            key = (Subject.TOKEN, str(r.id))
            state[key] = TokenState.REVOKED if r.revoked_at is not None else TokenState.ACTIVE
            rows[key] = r
    policy = Policy.of(tenant.profile, tenant.policy).as_dict()
    for k in keys:
        if k[0] == Subject.POLICY and k[1] in policy:
            state[k] = policy[k[1]]
    handover_ids = {int(k[1]) for k in keys if k[0] == Subject.HANDOVER}
    if handover_ids:
        for r in conn.execute(select(admin_handovers).where(admin_handovers.c.tenant_id == tid, admin_handovers.c.id.in_(handover_ids))):
            key = (Subject.HANDOVER, str(r.id))
            state[key] = r.state
            rows[key] = r
    return state, rows


def _hindrances(conn: Connection, tenant_id: int, undo: Iterable[rb.Entry], rows: Mapping[Key, AnyRow], now: datetime) -> dict[Key, Hindrance]:
    undo = list(undo)
    found: dict[Key, Hindrance] = {}
    regrant = [e for e in undo if e.subject == Subject.ROLE and e.restore is not None]
    reinstate = [e for e in undo if e.subject == Subject.TOKEN and e.restore == TokenState.ACTIVE and e.key in rows]
    owners = {e.key: rows[e.key].member_id for e in reinstate if rows[e.key].member_id is not None}
    statuses = {}
    if regrant or owners:
        ids = {int(e.key[1]) for e in regrant} | set(owners.values())
        statuses = {r.id: r.status for r in conn.execute(select(members.c.id, members.c.status).where(members.c.tenant_id == tenant_id, members.c.id.in_(ids)))}
    removed = {e.key[1] for e in undo if e.subject == Subject.ROLE and e.restore is None and e.key[2] == Role.SUPER_ADMIN}
    backups = {str(h.member_id) for h in super_admins.holders(conn, tenant_id) if h.rank == SuperAdminRank.BACKUP} - removed
    for e in regrant:
        if statuses.get(int(e.key[1])) not in (MemberStatus.ACTIVE, MemberStatus.FROZEN):
            found[e.key] = Hindrance.MEMBER_GONE
        elif e.key[2] == Role.SUPER_ADMIN and e.restore.rank == SuperAdminRank.BACKUP and backups - {e.key[1]}:
            found[e.key] = Hindrance.BACKUP_TAKEN
    for e in reinstate:
        row = rows[e.key]
        if row.expires_at is not None and row.expires_at <= now:
            found[e.key] = Hindrance.TOKEN_EXPIRED
        elif e.key in owners and statuses.get(owners[e.key]) != MemberStatus.ACTIVE:
            found[e.key] = Hindrance.OWNER_GONE
    return found


def compute(conn: Connection, tenant: AnyRow, member: AnyRow, since: datetime, now: datetime) -> tuple[rb.Plan, dict[Key, AnyRow], list[rb.Event]]:
    """The plan for `member` from `since`, with the rows of its subjects as they are now."""
    events = _events(conn, tenant.id, since)
    who = f"member:{member.id}"
    keys = {c.key for e in events if e.actor == who for c in rb.changes_of(e)}
    current, rows = _current(conn, tenant, keys, now)
    first = rb.plan(who, events, current)
    hindrances = _hindrances(conn, tenant.id, first.undo, rows, now)
    return (rb.plan(who, events, current, hindrances) if hindrances else first), rows, events


def digest(plan: rb.Plan) -> str:
    payload = [[list(e.key), e.verdict.value, list(e.seqs)] for e in plan.entries]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()[:16]


def _value(key: str, value: Any, locale: str) -> str:
    if key in _VALUE_TERMS:
        return glossary.term(_VALUE_TERMS[key], value, locale)
    unit = SETTINGS[key].unit if key in SETTINGS else None
    return f"{value} {unit}" if unit and value is not None else str(value)


def _setting(key: str, locale: str) -> str:
    setting = SETTINGS.get(key)
    if setting is None:
        return key
    return setting.label_zh if locale == "zh-CN" else setting.label_en


def _line(event: rb.Event, parties: Mapping[str, Party], tz: str, locale: str) -> RollbackLine:
    actor, targets = parties[event.actor], [parties[t] for t in event.targets]
    return RollbackLine(event.seq, event.at, text.tenant_time(event.at, tz, seconds=True), text.sentence(event.action, actor, targets, event.details, locale, tz, []))


def _undo_words(entry: rb.Entry, parties: Mapping[str, Party], rows: Mapping[Key, AnyRow], locale: str) -> str:
    key = entry.key
    if entry.subject == Subject.ROLE:
        member, role = parties[f"member:{key[1]}"].name, Term("role", key[2])
        if entry.restore is None:
            return translate(UNDO["role_remove"], locale, role=role, member=member)
        if key[2] == Role.SUPER_ADMIN and entry.restore.rank:
            return translate(UNDO["super_admin_restore"], locale, role=role, member=member, rank=Term("super_admin_rank", entry.restore.rank))
        return translate(UNDO["role_restore"], locale, role=role, member=member)
    if entry.subject == Subject.TOKEN:
        token = parties[f"token:{key[1]}"].name
        return translate(UNDO["token_revoke" if entry.restore == TokenState.NONE else "token_reinstate"], locale, token=token)
    if entry.subject == Subject.POLICY:
        return translate(UNDO["policy"], locale, setting=_setting(key[1], locale), value=_value(key[1], entry.restore, locale))
    row = rows[key]
    nominee = parties[f"member:{row.to_member_id}"].name
    return translate(UNDO["handover_cancel" if entry.left == "pending" else "handover_revert"], locale, member=nominee)


def _why(entry: rb.Entry, parties: Mapping[str, Party], tz: str, locale: str) -> str | None:
    if entry.verdict == Verdict.UNDO:
        return None
    if entry.superseded_by is not None:
        line = _line(entry.superseded_by.event, parties, tz, locale)
        return translate(WHY["superseded"], locale, sentence=line.sentence, when=line.at_local)
    if entry.verdict == Verdict.UNCHANGED:
        if entry.subject == Subject.HANDOVER:
            return translate(WHY["handover_ended"], locale, state=Term("handover_state", entry.left))
        return translate(WHY["unchanged"], locale)
    hindrance = entry.hindrance or Hindrance.CHANGED_SINCE
    member = parties[f"member:{entry.key[1]}"].name if entry.subject == Subject.ROLE else ""
    return translate(WHY[hindrance], locale, member=member)


def describe(conn: Connection, tenant: AnyRow, member: AnyRow, since: datetime, plan: rb.Plan, rows: Mapping[Key, AnyRow], locale: str) -> RollbackPlan:
    tz = tenant.timezone
    refs: set[str] = {f"member:{member.id}"}
    for entry in plan.entries:
        for change in (*entry.changes, *([entry.superseded_by] if entry.superseded_by else [])):
            refs |= {change.event.actor, *change.event.targets}
        if entry.subject == Subject.ROLE:
            refs.add(f"member:{entry.key[1]}")
        elif entry.subject == Subject.TOKEN:
            refs.add(f"token:{entry.key[1]}")
        elif entry.subject == Subject.HANDOVER and entry.key in rows:
            refs.add(f"member:{rows[entry.key].to_member_id}")
    parties = resolve(conn, tenant.id, refs, locale)
    items = [
        RollbackItem(
            entry.subject.value,
            list(entry.key[1:]),
            entry.verdict.value,
            [_line(c.event, parties, tz, locale) for c in entry.changes],
            _undo_words(entry, parties, rows, locale) if entry.verdict == Verdict.UNDO else None,
            _why(entry, parties, tz, locale),
            _line(entry.superseded_by.event, parties, tz, locale) if entry.superseded_by else None,
        )
        for entry in plan.entries
    ]
    count = {v: sum(1 for i in items if i.verdict == v) for v in Verdict}
    return RollbackPlan(
        member.id,
        member.userid,
        member.name,
        format_time(since),
        text.tenant_time(since, tz),
        tz,
        items,
        count[Verdict.UNDO],
        count[Verdict.SUPERSEDED],
        count[Verdict.UNCHANGED],
        digest(plan),
    )


def rollback_plan(conn: Connection, tenant: AnyRow, actor: Actor, ref: int | str, since: str, now: datetime, locale: str = "en") -> RollbackPlan:
    """What rolling back `ref`'s changes since `since` would do; nothing is changed."""
    require(actor, Action.MANAGE_ADMINS)
    member = repo.member_ref(conn, tenant.id, ref)
    moment = parse_since(since, tenant.timezone, now)
    plan, rows, _events = compute(conn, tenant, member, moment, now)
    return describe(conn, tenant, member, moment, plan, rows, locale)
