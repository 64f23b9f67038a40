"""The checklist facts (SPEC §7) of many exits at once: the same counts `queries.checklist.facts`
reads for one exit, each taken for every exit of the set in one grouped statement, then handed to
the same pure `domain.checklist.evaluate`. The exits list and the dashboard use it, so a page
or a figure over every open exit costs a handful of statements, not a handful per exit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, func, literal, select, union_all

from offboard.domain import checklist as cl
from offboard.domain.vocabulary import ExitState, ReimbursementStatus, Role
from offboard.store import access_cut
from offboard.store.rows import AnyRow
from offboard.store.tables import checklist_attestations, checklist_items, exit_signoffs, reimbursements, transfer_ledger
from offboard.store.transfers import OPEN_STATES, SPECS

L = transfer_ledger
# The states in which an exit has a checklist to work through; a restored or cancelled exit has none.
CHECKED_STATES = (ExitState.SCHEDULED, ExitState.OPEN, ExitState.FINALIZED)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int


def custom_items(conn: Connection, tenant_id: int) -> tuple[cl.Item, ...]:
    """The items an enterprise adds to the twelve, numbered from 13 in the order they were added."""
    rows = conn.execute(select(checklist_items).where(checklist_items.c.tenant_id == tenant_id).order_by(checklist_items.c.created_at, checklist_items.c.key))
    return tuple(cl.Item(13 + i, r.key, r.title, r.title, Role(r.owner_role), "attest") for i, r in enumerate(rows))


def _newest_rows() -> Any:
    """The newest ledger row of each resource within its exit (inherit adds rows after the first)."""
    newer = L.alias("newer")
    newest = select(func.max(newer.c.id)).where(newer.c.tenant_id == L.c.tenant_id, newer.c.exit_id == L.c.exit_id, newer.c.kind == L.c.kind, newer.c.resource_id == L.c.resource_id)
    return L.c.id == newest.scalar_subquery()


def _open_by_exit(conn: Connection, tenant_id: int, exit_ids: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    result: dict[int, dict[str, dict[str, int]]] = {}
    if not exit_ids:
        return result
    rows = conn.execute(
        select(L.c.exit_id, L.c.kind, L.c.state, func.count())
        .where(L.c.tenant_id == tenant_id, L.c.exit_id.in_(exit_ids), _newest_rows(), L.c.state.in_([s.value for s in OPEN_STATES]))
        .group_by(L.c.exit_id, L.c.kind, L.c.state)
    )
    for exit_id, kind, state, n in rows:
        result.setdefault(exit_id, {}).setdefault(kind, {})[state] = n
    return result


def _owned_by_member(conn: Connection, tenant_id: int, member_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each member still owns, by kind, counted as planning counts it: one UNION ALL."""
    if not member_ids:
        return {}
    parts = []
    for kind, spec in SPECS.items():
        t = spec.table
        owner = t.c[spec.owner]
        parts.append(
            select(literal(kind.value, String).label("kind"), owner.label("member_id"), func.count().label("n")).where(t.c.tenant_id == tenant_id, owner.in_(member_ids), *spec.live(t)).group_by(owner)
        )
    result = {m: {kind.value: 0 for kind in SPECS} for m in member_ids}
    for kind, member_id, n in conn.execute(union_all(*parts)):
        result[member_id][kind] = n
    return result


def _records_by_member(conn: Connection, tenant_id: int, member_ids: list[int], now: datetime) -> dict[int, dict[str, int]]:
    """Per member, what each access-cut step still has to do and the open reimbursements, by the
    Facts field that holds it: one UNION ALL."""
    result: dict[int, dict[str, int]] = {m: {step.fact: 0 for step in access_cut.STEPS} | {"open_reimbursements": 0} for m in member_ids}
    if not member_ids:
        return result
    parts = [
        select(literal(step.fact, String).label("fact"), step.table.c.member_id, func.count().label("n"))
        .where(step.table.c.tenant_id == tenant_id, step.table.c.member_id.in_(member_ids), step.left(step.table, now))
        .group_by(step.table.c.member_id)
        for step in access_cut.STEPS
    ]
    R = reimbursements
    parts.append(
        select(literal("open_reimbursements", String).label("fact"), R.c.member_id, func.count().label("n"))
        .where(R.c.tenant_id == tenant_id, R.c.member_id.in_(member_ids), R.c.status == ReimbursementStatus.OPEN)
        .group_by(R.c.member_id)
    )
    for fact, member_id, n in conn.execute(union_all(*parts)):
        result[member_id][fact] = n
    return result


def _attested_by_exit(conn: Connection, tenant_id: int, exit_ids: list[int]) -> dict[int, set[str]]:
    result: dict[int, set[str]] = {}
    if exit_ids:
        A = checklist_attestations
        for exit_id, key in conn.execute(select(A.c.exit_id, A.c.item_key).where(A.c.tenant_id == tenant_id, A.c.exit_id.in_(exit_ids))):
            result.setdefault(exit_id, set()).add(key)
    return result


def facts_of_exits(conn: Connection, tenant_id: int, exit_rows: Iterable[AnyRow], now: datetime) -> dict[int, cl.Facts]:
    """Facts by exit id for rows carrying `id`, `member_id` and `state`: four statements for any
    number of exits, each fact read exactly as `queries.checklist.facts` reads it for one."""
    rows = list(exit_rows)
    counting = [r.id for r in rows if r.state in (ExitState.OPEN, ExitState.FINALIZED)]
    owning = sorted({r.member_id for r in rows if r.state != ExitState.SCHEDULED})
    open_by = _open_by_exit(conn, tenant_id, counting)
    owned = _owned_by_member(conn, tenant_id, owning)
    records = _records_by_member(conn, tenant_id, sorted({r.member_id for r in rows}), now)
    attested = _attested_by_exit(conn, tenant_id, [r.id for r in rows])
    result = {}
    for r in rows:
        found = records[r.member_id]
        result[r.id] = cl.Facts(
            open_by_kind=open_by.get(r.id, {}),
            owned_by_kind=owned.get(r.member_id, {}) if r.state != ExitState.SCHEDULED else {},
            unarchived_attendance=found["unarchived_attendance"],
            open_reimbursements=found["open_reimbursements"],
            admin_roles=found["admin_roles"],
            unacknowledged_grants=found["unacknowledged_grants"],
            live_sessions=found["live_sessions"],
            live_tokens=found["live_tokens"],
            devices_not_wiped=found["devices_not_wiped"],
            sealed=r.state == ExitState.FINALIZED,
            attested=frozenset(attested.get(r.id, ())),
        )
    return result


def statuses_of_exits(conn: Connection, tenant_id: int, exit_rows: Sequence[AnyRow], now: datetime) -> dict[int, list[cl.Status]]:
    """The statuses of every item of each exit, by exit id."""
    custom = custom_items(conn, tenant_id) if exit_rows else ()
    return {exit_id: cl.evaluate(found, custom) for exit_id, found in facts_of_exits(conn, tenant_id, exit_rows, now).items()}


def progress_of_exits(conn: Connection, tenant_id: int, exit_rows: Sequence[AnyRow], now: datetime) -> dict[int, Progress]:
    """Items done of all items, by exit id, for the exits that have a checklist (CHECKED_STATES)."""
    checked = [r for r in exit_rows if r.state in CHECKED_STATES]
    return {exit_id: Progress(sum(s.done for s in found), len(found)) for exit_id, found in statuses_of_exits(conn, tenant_id, checked, now).items()}


def signoffs_of_exits(conn: Connection, tenant_id: int, exit_ids: list[int]) -> Mapping[int, list[str]]:
    """The roles (hr, it) that signed off each exit, by exit id."""
    result: dict[int, list[str]] = {}
    if exit_ids:
        S = exit_signoffs
        for exit_id, role in conn.execute(select(S.c.exit_id, S.c.role).where(S.c.tenant_id == tenant_id, S.c.exit_id.in_(exit_ids)).order_by(S.c.exit_id, S.c.role)):
            result.setdefault(exit_id, []).append(role)
    return result
