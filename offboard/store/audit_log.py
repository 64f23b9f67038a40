"""Appending to and reading a tenant's audit chain (SPEC §8)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, exists, func, literal_column, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB

from offboard.audit import personal
from offboard.audit.chain import Core, StoredEvent, canonical, encode_core, format_time, leaf_hash, targets_text
from offboard.store.driver_rows import insert_values
from offboard.store.tables import audit_events, audit_side, tenants


@dataclass(frozen=True)
class PendingEvent:
    actor: str
    action: str
    targets: tuple[str, ...]
    details: dict[str, Any]


def append(conn: Connection, tenant_id: int, events: Sequence[PendingEvent], at: datetime) -> int:
    """Append events under the chain-head lock; returns the last sequence number.

    Called at the end of the unit of work, so the tenant row is locked only for the
    instant before commit and exits of different members still run in parallel.
    """
    if not events:
        return 0
    seq, prev = conn.execute(_LOCKED_HEAD, {"tenant": tenant_id}).one()
    stamp = format_time(at)
    core_rows, side_rows = [], []
    for event in events:
        seq += 1
        details = canonical(event.details)
        # Only an event about a member carries a member's personal values (offboard.audit.personal).
        salts = personal.new_salts(event.details) if any(t.startswith("member:") for t in event.targets) else None
        side = hashlib.sha256(details).hexdigest() if salts is None else personal.side_digest(event.details, salts)
        targets = targets_text(event.targets)
        this = leaf_hash(encode_core(tenant_id, seq, stamp, event.actor, event.action, targets, side, prev))
        core_rows.append((tenant_id, seq, stamp, event.actor, event.action, targets, side, prev, this))
        side_rows.append((tenant_id, seq, details.decode(), None if salts is None else canonical(salts).decode()))
        prev = this
    insert_values(conn, audit_events, _CORE_COLUMNS, core_rows)
    insert_values(conn, audit_side, _SIDE_COLUMNS, side_rows)
    conn.execute(_STORE_HEAD, {"tenant": tenant_id, "seq": seq, "head": prev})
    return seq


_CORE_COLUMNS = ("tenant_id", "seq", "at", "actor", "action", "targets", "side_digest", "prev_hash", "hash")
_SIDE_COLUMNS = ("tenant_id", "seq", "details", "salts")


# Built once with bind parameters (not named like a column): every change appends. The head is
# read under the tenant lock of offboard.store.locks.lock_tenant, taken by that read itself (FOR
# NO KEY UPDATE on PostgreSQL; SQLite's write transaction already excludes every other writer).
_LOCKED_HEAD = select(tenants.c.audit_seq, tenants.c.audit_head).where(tenants.c.id == bindparam("tenant")).with_for_update(key_share=True)


_STORE_HEAD = update(tenants).where(tenants.c.id == bindparam("tenant")).values(audit_seq=bindparam("seq"), audit_head=bindparam("head"))


def stored_events(conn: Connection, tenant_id: int, batch: int = 5000, *, first: int = 1, last: int | None = None) -> Iterator[StoredEvent]:
    """The events `first` .. `last` (every one by default) of a tenant in sequence order, read in keyset pages."""
    after = first - 1
    while True:
        rows = conn.execute(
            select(audit_events, audit_side.c.details, audit_side.c.salts)
            .select_from(
                audit_events.outerjoin(
                    audit_side,
                    (audit_side.c.tenant_id == audit_events.c.tenant_id) & (audit_side.c.seq == audit_events.c.seq),
                )
            )
            .where(audit_events.c.tenant_id == tenant_id, audit_events.c.seq > after, *([audit_events.c.seq <= last] if last is not None else []))
            .order_by(audit_events.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from map(_stored, rows)
        after = rows[-1].seq


def _stored(r: Any) -> StoredEvent:
    core = Core(r.tenant_id, r.seq, r.at, r.actor, r.action, tuple(r.targets), r.side_digest, r.prev_hash)
    return StoredEvent(core, r.hash, r.details, r.salts)


def about(conn: Connection, tenant_id: int, refs: Sequence[str], limit: int) -> list[StoredEvent]:
    """The newest `limit` events whose targets include one of `refs` (audit ids), oldest first."""
    query = (
        select(audit_events, audit_side.c.details, audit_side.c.salts)
        .select_from(audit_events.outerjoin(audit_side, (audit_side.c.tenant_id == audit_events.c.tenant_id) & (audit_side.c.seq == audit_events.c.seq)))
        .where(audit_events.c.tenant_id == tenant_id, or_(*(names_target(conn, ref) for ref in refs)))
        .order_by(audit_events.c.seq.desc())
        .limit(limit)
    )
    return [_stored(r) for r in conn.execute(query)][::-1]


@dataclass(frozen=True)
class EventFilter:
    """Which events a page reads; every field narrows it (None: any)."""

    actor: str | None = None  # an audit id: member:12, token:3, operator, system
    action: str | None = None  # an action name, or a prefix ending in "." (exit.)
    target: str | None = None  # events whose targets include this audit id
    at_from: str | None = None  # core time text (UTC), inclusive
    at_until: str | None = None  # core time text (UTC), exclusive


def names_target(conn: Connection, ref: str) -> ColumnElement[bool]:
    """targets (a JSON array of audit ids) holds `ref`: JSONB containment on PostgreSQL, the
    array's elements on SQLite."""
    if conn.dialect.name == "postgresql":
        return type_coerce(audit_events.c.targets, JSONB).contains([ref])
    element = func.json_each(audit_events.c.targets).table_valued("value").alias("target")
    return exists(select(literal_column("1")).select_from(element).where(element.c.value == ref))


def page(conn: Connection, tenant_id: int, *, before: int | None, limit: int, action: str | None = None, where: EventFilter | None = None) -> list[dict[str, Any]]:
    where = where or EventFilter(action=action)
    query = (
        select(audit_events, audit_side.c.details)
        .select_from(
            audit_events.outerjoin(
                audit_side,
                (audit_side.c.tenant_id == audit_events.c.tenant_id) & (audit_side.c.seq == audit_events.c.seq),
            )
        )
        .where(audit_events.c.tenant_id == tenant_id)
        .order_by(audit_events.c.seq.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(audit_events.c.seq < before)
    if where.action:
        is_prefix = where.action.endswith(".")
        query = query.where(audit_events.c.action.startswith(where.action, autoescape=True) if is_prefix else audit_events.c.action == where.action)
    if where.actor:
        query = query.where(audit_events.c.actor == where.actor)
    if where.target:
        query = query.where(names_target(conn, where.target))
    if where.at_from:
        query = query.where(audit_events.c.at >= where.at_from)
    if where.at_until:
        query = query.where(audit_events.c.at < where.at_until)
    return [
        {
            "seq": r.seq,
            "at": r.at,
            "actor": r.actor,
            "action": r.action,
            "targets": list(r.targets),
            "details": r.details,
            "hash": r.hash,
        }
        for r in conn.execute(query)
    ]


def since(conn: Connection, tenant_id: int, at_from: str, actions: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """The events of `actions` at or after `at_from` (core time text), oldest first, at most
    `limit` (the caller asks one more than it takes, to know there were more)."""
    query = (
        select(audit_events.c.seq, audit_events.c.at, audit_events.c.actor, audit_events.c.action, audit_events.c.targets, audit_side.c.details)
        .select_from(
            audit_events.outerjoin(
                audit_side,
                (audit_side.c.tenant_id == audit_events.c.tenant_id) & (audit_side.c.seq == audit_events.c.seq),
            )
        )
        .where(audit_events.c.tenant_id == tenant_id, audit_events.c.at >= at_from, audit_events.c.action.in_(actions))
        .order_by(audit_events.c.seq)
        .limit(limit)
    )
    return [{"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "targets": list(r.targets), "details": r.details or {}} for r in conn.execute(query)]
