"""The access cut of an exit (R-EXIT-1) and its inverse on restore (R-EXIT-6), as data.

Each step names a table of the member's access, the state it leaves and the state it enters;
`cut` applies every step (one statement each), `restore` applies their inverses, and
`remaining` counts, for the exit checklist (items 3, 6, 8 and 12), what each step still has to
do. A freeze (R-EXC-1) reuses the same steps instead of writing its own copy. Headcounts and
the member's own status are not steps: they are counted, not flipped (offboard.store.org).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnElement, Connection, Table, bindparam, func, literal_column, select, update

from offboard.domain.vocabulary import DeviceStatus, GrantStatus, Role, RoleStatus
from offboard.store.id_lists import among_ids
from offboard.store.tables import api_tokens, app_grants, attendance_records, devices, roles, sessions
from offboard.store.types import UTCDateTime


@dataclass(frozen=True)
class CutStep:
    name: str
    table: Table
    live: Any  # (table) -> clause: the rows still giving access
    cut_values: Any  # (now) -> values written by the cut
    cut_rows: Any  # (table, since) -> clause: the rows the cut of `since` changed, for restore
    restore_values: dict[str, Any] | None  # None: a revoked credential is never given back
    fact: str  # the field of offboard.domain.checklist.Facts that counts what is left
    left: Any  # (table, now) -> clause: the rows the checklist still counts as not done


def _eq(column: str, value: Any):
    return lambda t: t.c[column] == value


def _is_null(column: str):
    return lambda t: t.c[column].is_(None)


STEPS: tuple[CutStep, ...] = (
    CutStep(
        "sessions",
        sessions,
        _is_null("revoked_at"),
        lambda now: {"revoked_at": now},
        lambda t, since: t.c.revoked_at >= since,
        None,
        "live_sessions",
        lambda t, now: t.c.revoked_at.is_(None) & (t.c.expires_at > now),
    ),
    CutStep(
        "personal_tokens",
        api_tokens,
        _is_null("revoked_at"),
        lambda now: {"revoked_at": now},
        lambda t, since: t.c.revoked_at >= since,
        None,
        "live_tokens",
        lambda t, now: t.c.revoked_at.is_(None),
    ),
    # Suspended at the exit; item 6 stays open while an admin role is held at all (handed over).
    CutStep(
        "roles",
        roles,
        _eq("status", RoleStatus.ACTIVE),
        lambda now: {"status": RoleStatus.SUSPENDED},
        lambda t, since: t.c.status == RoleStatus.SUSPENDED,
        {"status": RoleStatus.ACTIVE},
        "admin_roles",
        lambda t, now: t.c.role.in_([Role.SUPER_ADMIN, Role.ADMIN]),
    ),
    # Item 12 stays open until the wipe is attested: wipe_pending still counts.
    CutStep(
        "devices",
        devices,
        _eq("status", DeviceStatus.ACTIVE),
        lambda now: {"status": DeviceStatus.WIPE_PENDING, "updated_at": now},
        lambda t, since: t.c.status == DeviceStatus.WIPE_PENDING,
        {"status": DeviceStatus.ACTIVE},
        "devices_not_wiped",
        lambda t, now: t.c.status.in_([DeviceStatus.ACTIVE, DeviceStatus.WIPE_PENDING]),
    ),
    # R-POST-1: each grant stays "re-authorization required" until acknowledged (item 8).
    CutStep(
        "app_grants",
        app_grants,
        _eq("status", GrantStatus.ACTIVE),
        lambda now: {"status": GrantStatus.REAUTH_REQUIRED, "revoked_at": now},
        lambda t, since: t.c.status == GrantStatus.REAUTH_REQUIRED,
        {"status": GrantStatus.ACTIVE, "revoked_at": None},
        "unacknowledged_grants",
        lambda t, now: t.c.status.in_([GrantStatus.ACTIVE, GrantStatus.REAUTH_REQUIRED]),
    ),
    CutStep(
        "attendance",
        attendance_records,
        _is_null("archived_at"),
        lambda now: {"archived_at": now},
        lambda t, since: t.c.archived_at >= since,
        {"archived_at": None},
        "unarchived_attendance",
        lambda t, now: t.c.archived_at.is_(None),
    ),
)


def _member(table: Table, tenant_id: int | ColumnElement, member_id: int | ColumnElement):
    member_column: Column = table.c.member_id
    return (table.c.tenant_id == tenant_id) & (member_column == member_id)


def cut(conn: Connection, tenant_id: int, member_id: int, now: datetime) -> dict[str, int]:
    """Every step; returns how many rows each step cut. PostgreSQL: one statement, an UPDATE per
    step in a WITH clause. SQLite (no UPDATE in WITH): one count of what each step will cut,
    then an UPDATE for each step that has rows (writes are serialized: the count holds)."""
    at = {"tenant": tenant_id, "member": member_id, "now": now}
    if conn.dialect.name == "postgresql":
        return dict(conn.execute(_CUT_ALL, at).one()._mapping)
    live = conn.execute(_LIVE_COUNTS, at).one()._mapping
    for step in STEPS:
        if live[step.name]:
            conn.execute(_CUT[step.name], at)
    return dict(live)


def _live(step: CutStep, tenant_id: int | ColumnElement, member_id: int | ColumnElement):
    return _member(step.table, tenant_id, member_id) & step.live(step.table)


# Built once with bind parameters (not named like a column), as every exit runs them.
_TENANT = bindparam("tenant", type_=BigInteger())
_MEMBER = bindparam("member", type_=BigInteger())
_NOW = bindparam("now", type_=UTCDateTime())
_CUT = {step.name: update(step.table).where(_live(step, _TENANT, _MEMBER)).values(**step.cut_values(_NOW)) for step in STEPS}
_LIVE_COUNTS = select(*[select(func.count()).select_from(step.table).where(_live(step, _TENANT, _MEMBER)).scalar_subquery().label(step.name) for step in STEPS])
_CUT_ALL = select(*[select(func.count()).select_from(_CUT[step.name].returning(literal_column("1")).cte(f"cut_{step.name}")).scalar_subquery().label(step.name) for step in STEPS])


def cut_steps(conn: Connection, tenant_id: int, member_id: int, now: datetime, names: tuple[str, ...]) -> dict[str, int]:
    """Only the named steps (a freeze cuts sessions and tokens, R-EXC-1); rows cut per step."""
    done = {}
    for step in STEPS:
        if step.name in names:
            done[step.name] = conn.execute(update(step.table).where(_live(step, tenant_id, member_id)).values(**step.cut_values(now))).rowcount
    return done


def cut_many(conn: Connection, tenant_id: int, member_ids: list[int], now: datetime) -> dict[int, dict[str, int]]:
    """The cut of many members at once (a bulk exit's batch): per step, one statement that cuts
    and returns whose rows it cut; returns {member: {step: rows cut}}."""
    done: dict[int, dict[str, int]] = {m: {step.name: 0 for step in STEPS} for m in member_ids}
    for step in STEPS:
        t = step.table
        cut = update(t).where(t.c.tenant_id == tenant_id, among_ids(conn, t.c.member_id, member_ids), step.live(t)).values(**step.cut_values(now)).returning(t.c.member_id)
        for member_id, n in Counter(conn.execute(cut).scalars()).items():
            done[member_id][step.name] = n
    return done


def restore(conn: Connection, tenant_id: int, member_id: int, since: datetime, now: datetime) -> dict[str, int]:
    """The inverse of the cut made at `since`; revoked sessions and tokens stay revoked."""
    done = {}
    for step in STEPS:
        if step.restore_values is None:
            continue
        values = dict(step.restore_values)
        if "updated_at" in step.table.c:
            values["updated_at"] = now
        done[step.name] = conn.execute(update(step.table).where(_member(step.table, tenant_id, member_id), step.cut_rows(step.table, since)).values(**values)).rowcount
    return done


def remaining(conn: Connection, tenant_id: int, member_id: int, now: datetime) -> dict[str, int]:
    """What each step has still to do for the checklist, by its Facts field: one statement."""
    counts = [select(func.count()).select_from(step.table).where(_member(step.table, tenant_id, member_id), step.left(step.table, now)).scalar_subquery().label(step.fact) for step in STEPS]
    return dict(conn.execute(select(*counts)).one()._mapping)
