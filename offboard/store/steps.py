"""Ledger steps: one `exit_steps` row per step of an exit (StepKind). Every ledger row names the
step that wrote it (`step_id`) and the step that last changed it (`changed_step_id`), so a
step's batch is found by its id, never by equal time stamps, and its digest is computed by the
database over exactly those rows (SPEC §8: one audit event per step and kind vouches for them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache

from sqlalchemy import BigInteger, CompoundSelect, Connection, ColumnElement, Select, Text, bindparam, cast, func, insert, literal_column, select, union_all, update
from sqlalchemy.dialects.postgresql import aggregate_order_by

from offboard.domain.vocabulary import ResourceKind, StepKind
from offboard.store import ids
from offboard.store.driver_rows import insert_rows
from offboard.store.rows import AnyRow
from offboard.store.tables import exit_steps, transfer_ledger
from offboard.store.transfers import among, constant

L = transfer_ledger
S = exit_steps


def begin(conn: Connection, tenant_id: int, exit_id: int, kind: StepKind, actor: str, now: datetime) -> int:
    """The step's row, written before its ledger rows (they reference it); returns its id."""
    step_id = ids.next_id(conn, S, tenant_id)
    conn.execute(_INSERT, {"tenant_id": tenant_id, "id": step_id, "exit_id": exit_id, "kind": kind.value, "actor": actor, "counts": {}, "created_at": now})
    return step_id


def begin_many(conn: Connection, tenant_id: int, exit_ids: list[int], kind: StepKind, actor: str, now: datetime) -> list[int]:
    """A step of each exit, in one multi-row insert; returns their ids in the same order."""
    step_ids = ids.next_ids(conn, S, tenant_id, len(exit_ids))
    if step_ids:
        insert_rows(conn, S, [{"tenant_id": tenant_id, "id": s, "exit_id": e, "kind": kind.value, "actor": actor, "counts": {}, "created_at": now} for s, e in zip(step_ids, exit_ids)])
    return step_ids


def touched(tenant_id: int | ColumnElement, step_id: int | ColumnElement) -> ColumnElement:
    """The ledger rows a step wrote or changed. Written as the ids found through each step
    index, not as `step_id = s OR changed_step_id = s`: for that OR SQLite reads every ledger
    row of the tenant."""
    by_step = L.alias("by_step")
    wrote = select(by_step.c.id).where(by_step.c.tenant_id == tenant_id, by_step.c.step_id == step_id)
    changed = select(by_step.c.id).where(by_step.c.tenant_id == tenant_id, by_step.c.changed_step_id == step_id)
    return (L.c.tenant_id == tenant_id) & L.c.id.in_(union_all(wrote, changed))


# Built once with bind parameters: every exit runs them.
_INSERT = insert(S)
_TENANT = bindparam("tenant", type_=BigInteger())  # not named like a column: see transfers.TENANT
_STEP = bindparam("step", type_=BigInteger())
_COUNTS = select(L.c.kind, func.count()).where(touched(_TENANT, _STEP)).group_by(L.c.kind).order_by(L.c.kind)
_STORE_COUNTS = update(S).where(S.c.tenant_id == _TENANT, S.c.id == _STEP).values(counts=bindparam("step_counts"))


def close(conn: Connection, tenant_id: int, step_id: int, *, counts: Mapping[str, int] | None = None) -> dict[str, int]:
    """Store on the step how many ledger rows of each kind it wrote or changed (counted by the
    database), so the step keeps its counts when a later step changes the same rows. `counts`:
    those counts, when the caller has just had the database count them."""
    at = {"tenant": tenant_id, "step": step_id}
    counts = {kind: n for kind, n in sorted(counts.items()) if n} if counts is not None else {kind: n for kind, n in conn.execute(_COUNTS, at)}
    conn.execute(_STORE_COUNTS, {**at, "step_counts": counts})
    return counts


def line() -> ColumnElement:
    """A ledger row as the digest reads it: `resource|to|state|version_after|correlation\\n`,
    NULL written as nothing."""
    nothing, bar = constant(""), constant("|")
    parts = [
        cast(L.c.resource_id, Text),
        func.coalesce(cast(L.c.to_member_id, Text), nothing),
        L.c.state,
        func.coalesce(cast(L.c.version_after, Text), nothing),
        L.c.correlation_id,
    ]
    line = parts[0]
    for part in parts[1:]:
        line = line.op("||")(bar).op("||")(part)
    return line.op("||")(constant("\n"))


def ledger_digest(conn: Connection, tenant_id: int, step_id: int, kind: ResourceKind) -> str:
    """SHA-256 (hex) over the rows of `kind` that the step wrote or changed, ordered by resource
    and row id: one statement, no row read back into Python (ledger_digests)."""
    return ledger_digests(conn, tenant_id, step_id, [kind])[kind]


def ledger_digests(conn: Connection, tenant_id: int, step_id: int, kinds: Iterable[ResourceKind]) -> dict[ResourceKind, str]:
    """ledger_digest of each of `kinds`, all in one statement. PostgreSQL: one pass over the
    step's rows grouped by kind, each `string_agg` ordered in the aggregate, then its `sha256`
    (a kind without rows digests the empty text). SQLite (no ordered aggregate before 3.44): a
    scalar subquery per kind, `group_concat` over the ordered subquery, whose order SQLite keeps
    for an aggregate outer query (it never flattens such a subquery), then the `sha256`
    offboard.store.db registers."""
    wanted = tuple(kinds)
    if not wanted:
        return {}
    at = {"tenant": tenant_id, "step": step_id}
    if conn.dialect.name == "postgresql":
        found = {ResourceKind(kind): digest for kind, digest in conn.execute(_grouped_digests(wanted), at)}
        return {kind: found.get(kind, _NO_ROWS) for kind in wanted}
    return dict(zip(wanted, conn.execute(_digests(wanted), at).one()))


_NO_ROWS = hashlib.sha256(b"").hexdigest()


def _step_rows(kinds: tuple[ResourceKind, ...]) -> CompoundSelect:
    """(kind, line, resource_id, id) of the rows of `kinds` the step wrote, and of those it
    changed but did not write, each read through its step index (as `touched`)."""
    of_step = [L.c.tenant_id == _TENANT, among(L.c.kind, kinds)]
    columns = (L.c.kind, line().label("line"), L.c.resource_id, L.c.id)
    wrote = select(*columns).where(*of_step, L.c.step_id == _STEP)
    changed = select(*columns).where(*of_step, L.c.changed_step_id == _STEP, L.c.step_id.is_distinct_from(_STEP))
    return union_all(wrote, changed)


@cache
def _grouped_digests(kinds: tuple[ResourceKind, ...]) -> Select:
    rows = _step_rows(kinds).subquery()
    text = func.string_agg(rows.c.line, aggregate_order_by(literal_column("''"), rows.c.resource_id, rows.c.id))
    digest = func.encode(func.sha256(func.convert_to(text, literal_column("'UTF8'"))), literal_column("'hex'"))
    return select(rows.c.kind, digest).group_by(rows.c.kind)


@cache
def _digests(kinds: tuple[ResourceKind, ...]) -> Select:
    columns = []
    for kind in kinds:
        both = _step_rows((kind,))
        rows = both.order_by(both.selected_columns.resource_id, both.selected_columns.id).subquery()
        digest = func.sha256(func.coalesce(func.group_concat(rows.c.line, literal_column("''")), constant("")))
        columns.append(select(digest).select_from(rows).scalar_subquery().label(kind.value))
    return select(*columns)


def rows_of_exit(conn: Connection, tenant_id: int, exit_id: int) -> list[AnyRow]:
    """The steps of an exit in order: kind, time, actor and ledger rows per kind."""
    return list(conn.execute(select(S).where(S.c.tenant_id == tenant_id, S.c.exit_id == exit_id).order_by(S.c.id)))
