"""Reading and verifying the audit trail (SPEC §8, INV-5): events filtered and paged, their
actors and targets resolved to names, each told as a sentence in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, select

from offboard.audit.chain import format_time, verify
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import NotFound, ValidationError, error
from offboard.i18n import translate
from offboard.queries import audit_text as text
from offboard.queries.audit_proofs import check_tree
from offboard.queries.audit_text import Party
from offboard.store import audit_log, repo
from offboard.store.audit_log import EventFilter
from offboard.store.rows import AnyRow
from offboard.store.tables import api_tokens, departments, exits, member_departments, members, webhook_subscriptions

MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class ChainVerdict:
    tenant: str
    ok: bool
    events: int
    head_seq: int
    head: str
    first_bad_seq: int | None  # the first event that does not verify; None with a bad head
    problem: str | None  # a chain finding (offboard.audit.chain), tree_changed or checkpoint_changed
    checkpoints: int = 0  # signed checkpoints of the Merkle tree (SPEC §8)
    signed_size: int = 0  # events the latest checkpoint covers
    bad_checkpoint: int | None = None  # the size of a checkpoint that does not verify


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: str  # UTC, the exact text hashed in the core
    actor: str  # member:<id>, token:<id>, operator or system
    action: str
    targets: list[str]
    details: dict[str, Any] | None
    hash: str
    at_local: str  # `at` in the enterprise's time zone, YYYY-MM-DD HH:MM:SS
    actor_party: Party  # `actor` resolved to words
    target_parties: list[Party]  # `targets` resolved, in the same order
    detail_parties: list[Party]  # people a sentence names from the details (a new leader)
    sentence: str  # what happened, in the request's language


@dataclass(frozen=True)
class AuditFilters:
    """What a page was asked for, as the reader gave it (echoed so a form keeps it)."""

    action: str | None
    actor: int | str | None
    member: int | str | None
    since: str | None  # YYYY-MM-DD in the enterprise's time zone, inclusive
    until: str | None  # YYYY-MM-DD in the enterprise's time zone, inclusive


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    next_before: int | None  # pass as `before` for the next page; None on the last
    timezone: str  # of at_local and of the date filters
    filters: AuditFilters


def verify_chain(conn: Connection, tenant: AnyRow, actor: Actor) -> ChainVerdict:
    require(actor, Action.READ_AUDIT)
    verdict = verify(audit_log.stored_events(conn, tenant.id), tenant.audit_seq, tenant.audit_head)
    finding = verdict.finding
    if finding is not None:
        return ChainVerdict(tenant.slug, False, verdict.events, tenant.audit_seq, tenant.audit_head, finding.seq, finding.problem)
    checkpoints, signed, bad = check_tree(conn, tenant.id)
    if bad is not None:
        return ChainVerdict(tenant.slug, False, verdict.events, tenant.audit_seq, tenant.audit_head, bad.seq, bad.problem, checkpoints, signed, bad.checkpoint)
    return ChainVerdict(tenant.slug, True, verdict.events, tenant.audit_seq, tenant.audit_head, None, None, checkpoints, signed)


def events(
    conn: Connection,
    tenant: AnyRow,
    actor: Actor,
    *,
    before: int | None = None,
    limit: int = 50,
    action: str | None = None,
    by: int | str | None = None,
    member: int | str | None = None,
    since: str | None = None,
    until: str | None = None,
    locale: str = "en",
) -> AuditPage:
    """The newest events first, `limit` (1-500) at a time, before a sequence number; narrowed to
    an action (or a prefix ending in "."), the member who acted (`by`), the member an event is
    about (`member`, among its targets) and the days `since`..`until` in the tenant's time zone.
    Members are named by id (int) or userid (str)."""
    require(actor, Action.READ_AUDIT)
    limit = max(1, min(limit, 500))
    tz = tenant.timezone
    start, end = _day(since, "from"), _day(until, "to")
    if start and end and start > end:
        raise error(ValidationError, "invalid_date_range", "The date range ends ({until}) before it starts ({since}).", since=since, until=until)
    where = EventFilter(
        action=action or None,
        actor=_member_ref(conn, tenant.id, by, "actor"),
        target=_member_ref(conn, tenant.id, member, "member"),
        at_from=_utc_text(start, tz),
        at_until=_utc_text(end + timedelta(days=1), tz) if end and end < date.max else None,
    )
    rows = audit_log.page(conn, tenant.id, before=before, limit=limit, where=where)
    details_refs = {row["seq"]: text.detail_refs(row["action"], row["details"]) for row in rows}
    refs = {row["actor"] for row in rows} | {t for row in rows for t in row["targets"]} | {r for found in details_refs.values() for r in found}
    parties = resolve(conn, tenant.id, refs, locale)
    items = []
    for row in rows:
        actor_party, targets, extra = parties[row["actor"]], [parties[t] for t in row["targets"]], [parties[r] for r in details_refs[row["seq"]]]
        items.append(
            AuditEvent(
                **row,
                at_local=text.tenant_time(row["at"], tz, seconds=True),
                actor_party=actor_party,
                target_parties=targets,
                detail_parties=extra,
                sentence=text.sentence(row["action"], actor_party, targets, row["details"], locale, tz, extra),
            )
        )
    filters = AuditFilters(action or None, by, member, since or None, until or None)
    return AuditPage(items, items[-1].seq if len(items) == limit else None, tz, filters)


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise error(ValidationError, "invalid_date", "{field} must be a date like 2026-05-31, not {value!r}.", field=field, value=value)
    return day


def _utc_text(day: date | None, tz: str) -> str | None:
    """The start of `day` in the tenant's time zone, as the core's UTC time text."""
    if day is None:
        return None
    try:
        return format_time(datetime.combine(day, time.min, ZoneInfo(tz)))
    except (OverflowError, ValueError):  # the first day of the calendar: nothing lies before it
        return None


def _member_ref(conn: Connection, tenant_id: int, ref: int | str | None, field: str) -> str | None:
    """The audit id of the member a filter names, or a clear refusal when there is none."""
    if ref is None or ref == "":
        return None
    try:
        if isinstance(ref, int) and not 1 <= ref <= MAX_ID:
            raise error(NotFound, "member_not_found", "No member with id {id} in this enterprise.", id=ref)
        return f"member:{repo.member_ref(conn, tenant_id, ref).id}"
    except NotFound:
        raise error(ValidationError, "unknown_member", "The {field} filter names no member of this enterprise: {ref}.", field=field, ref=ref) from None


def _ids(refs: Iterable[str], kind: str) -> set[int]:
    found = set()
    for ref in refs:
        prefix, _sep, raw = ref.partition(":")
        if prefix == kind and raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ID:
            found.add(int(raw))
    return found


def resolve(conn: Connection, tenant_id: int, refs: set[str], locale: str) -> dict[str, Party]:
    """Every audit id of a page in words: one query per kind of id present, never one per row."""
    exit_members: dict[int, int] = {}
    if exit_ids := _ids(refs, "exit"):
        query = select(exits.c.id, exits.c.member_id).where(exits.c.tenant_id == tenant_id, exits.c.id.in_(exit_ids))
        exit_members = {r.id: r.member_id for r in conn.execute(query)}
    people: dict[int, Any] = {}
    if member_ids := _ids(refs, "member") | set(exit_members.values()):
        primary = member_departments.join(
            departments,
            and_(departments.c.tenant_id == member_departments.c.tenant_id, departments.c.id == member_departments.c.department_id),
        )
        department = (
            select(departments.c.name)
            .select_from(primary)
            .where(member_departments.c.tenant_id == members.c.tenant_id, member_departments.c.member_id == members.c.id, member_departments.c.is_primary)
            .limit(1)
            .scalar_subquery()
        )
        query = select(members.c.id, members.c.userid, members.c.name, department.label("department")).where(members.c.tenant_id == tenant_id, members.c.id.in_(member_ids))
        people = {r.id: r for r in conn.execute(query)}
    token_names: dict[int, str] = {}
    if token_ids := _ids(refs, "token"):
        query = select(api_tokens.c.id, api_tokens.c.name).where(api_tokens.c.tenant_id == tenant_id, api_tokens.c.id.in_(token_ids))
        token_names = {r.id: r.name for r in conn.execute(query)}
    webhook_names: dict[int, str] = {}
    if webhook_ids := _ids(refs, "webhook"):
        query = select(webhook_subscriptions.c.id, webhook_subscriptions.c.description, webhook_subscriptions.c.url).where(
            webhook_subscriptions.c.tenant_id == tenant_id, webhook_subscriptions.c.id.in_(webhook_ids)
        )
        webhook_names = {r.id: r.description or urlsplit(r.url).netloc or r.url for r in conn.execute(query)}
    department_names: dict[int, str] = {}
    if department_ids := _ids(refs, "department"):
        query = select(departments.c.id, departments.c.name).where(departments.c.tenant_id == tenant_id, departments.c.id.in_(department_ids))
        department_names = {r.id: r.name for r in conn.execute(query)}

    def party(ref: str) -> Party:
        kind, _sep, raw = ref.partition(":")
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else None
        if kind == "member" and number is not None:
            row = people.get(number)
            if row is None:
                return Party(ref, "member", translate(text.MEMBER_UNKNOWN, locale, id=number), number)
            return Party(ref, "member", row.name, row.id, row.name, row.userid, row.department)
        if kind == "exit" and number is not None:
            row = people.get(exit_members.get(number, 0))
            if row is None:
                return Party(ref, "exit", translate(text.EXIT_UNKNOWN, locale, id=number))
            return Party(ref, "exit", translate(text.EXIT_OF, locale, name=row.name), row.id, row.name, row.userid, row.department)
        if kind == "token" and number is not None:
            name = token_names.get(number)
            return Party(ref, "token", translate(text.TOKEN, locale, name=name) if name is not None else translate(text.TOKEN_UNKNOWN, locale, id=number))
        if kind == "webhook" and number is not None:
            name = webhook_names.get(number)
            return Party(ref, "webhook", translate(text.WEBHOOK, locale, name=name) if name is not None else translate(text.WEBHOOK_UNKNOWN, locale, id=number))
        if kind == "department" and number is not None:
            name = department_names.get(number)
            return Party(ref, "department", name if name is not None else translate(text.DEPARTMENT_UNKNOWN, locale, id=number))
        if kind == "tenant":
            return Party(ref, "tenant", translate(text.TENANT, locale))
        if ref in text.ACTORS:
            return Party(ref, ref, translate(text.ACTORS[ref], locale))
        return Party(ref, kind if kind in ("plan", "transfer") else "other", ref)

    return {ref: party(ref) for ref in refs}
