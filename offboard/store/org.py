"""Set-based maintenance of the department tree: headcounts and materialized paths (R-ORG-1)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, String, and_, case, func, literal, select, update

from offboard.domain.org import subtree_upper_bound
from offboard.domain.vocabulary import PRESENT_STATUSES, DepartmentStatus
from offboard.store.tables import departments, member_departments, members


def _lock_in_id_order(conn: Connection, tenant_id: int, *criteria) -> None:
    """Lock department rows in id order before a multi-row UPDATE (PostgreSQL).

    An UPDATE locks rows in the order it happens to scan them, which differs between two
    transactions once one of them has written new row versions; two members joining the same
    departments at once would then deadlock. SELECT ... ORDER BY id FOR NO KEY UPDATE locks in
    order, in the mode the UPDATE takes anyway, which does not conflict with the KEY SHARE
    locks that foreign key checks (member_departments -> departments) hold.
    SQLite serializes writers (BEGIN IMMEDIATE), so nothing to do there.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(departments.c.id).where(departments.c.tenant_id == tenant_id, *criteria).order_by(departments.c.id).with_for_update(key_share=True))


def lock_departments(conn: Connection, tenant_id: int, department_ids: Iterable[int]) -> None:
    """Lock these departments in id order (PostgreSQL), before a transaction changes several
    members' departments: each change then takes no lock it does not hold, in no other order."""
    ids = sorted(set(department_ids))
    if ids:
        _lock_in_id_order(conn, tenant_id, departments.c.id.in_(ids))


def shift_headcounts(conn: Connection, tenant_id: int, gain: Iterable[int], lose: Iterable[int], *, touched: Iterable[int] = (), now: datetime | None = None) -> None:
    """+1 where a member starts counting, -1 where they stop: one statement each, O(depth).
    `touched`, the departments a member joined or left directly, change version at `now` (their
    members are part of them: the SCIM Group's ETag and meta.lastModified).

    A department a member joins is active again if it was pending dissolution (R-ORG-1).
    """
    gain, lose, touched = sorted(gain), sorted(lose), sorted(set(touched))
    if gain or lose or touched:
        _lock_in_id_order(conn, tenant_id, departments.c.id.in_(sorted(set(gain + lose + touched))))
    if touched:
        conn.execute(update(departments).where(departments.c.tenant_id == tenant_id, departments.c.id.in_(touched)).values(version=departments.c.version + 1, updated_at=now))
    if gain:
        conn.execute(
            update(departments)
            .where(departments.c.tenant_id == tenant_id, departments.c.id.in_(gain))
            .values(
                headcount=departments.c.headcount + 1,
                status=case(
                    (departments.c.status == DepartmentStatus.PENDING_DISSOLUTION, DepartmentStatus.ACTIVE.value),
                    else_=departments.c.status,
                ),
            )
        )
    if lose:
        conn.execute(update(departments).where(departments.c.tenant_id == tenant_id, departments.c.id.in_(lose)).values(headcount=departments.c.headcount - 1))


def touch_departments(conn: Connection, tenant_id: int, department_ids: Iterable[int], now: datetime) -> None:
    """These departments changed version at `now` without a headcount changing (a member they
    list was deleted through SCIM, so their SCIM Groups no longer list them)."""
    shift_headcounts(conn, tenant_id, (), (), touched=department_ids, now=now)


def subtree_headcount_expr(outer):
    """Distinct present members in `outer`'s subtree, as a correlated scalar subquery."""
    inner = departments.alias("sub")
    upper = func.substr(outer.c.path, 1, func.length(outer.c.path) - 1, type_=String).concat("0")
    return (
        select(func.count(func.distinct(member_departments.c.member_id)))
        .select_from(
            member_departments.join(
                inner,
                and_(inner.c.tenant_id == member_departments.c.tenant_id, inner.c.id == member_departments.c.department_id),
            ).join(
                members,
                and_(members.c.tenant_id == member_departments.c.tenant_id, members.c.id == member_departments.c.member_id),
            )
        )
        .where(
            member_departments.c.tenant_id == outer.c.tenant_id,
            inner.c.path >= outer.c.path,
            inner.c.path < upper,
            members.c.status.in_([s.value for s in PRESENT_STATUSES]),
        )
        .scalar_subquery()
    )


def recount(conn: Connection, tenant_id: int, department_ids: Iterable[int]) -> None:
    """Recount the given departments exactly; used after a subtree moves (O(depth) departments)."""
    ids = sorted(set(department_ids))
    if not ids:
        return
    _lock_in_id_order(conn, tenant_id, departments.c.id.in_(ids))
    conn.execute(update(departments).where(departments.c.tenant_id == tenant_id, departments.c.id.in_(ids)).values(headcount=subtree_headcount_expr(departments)))
    # Members moved in make a department pending dissolution active again (R-ORG-1, INV-4).
    conn.execute(
        update(departments)
        .where(departments.c.tenant_id == tenant_id, departments.c.id.in_(ids), departments.c.headcount > 0, departments.c.status == DepartmentStatus.PENDING_DISSOLUTION)
        .values(status=DepartmentStatus.ACTIVE)
    )


def recount_tenant(conn: Connection, tenant_id: int) -> None:
    """Every department of the tenant recounted exactly in one statement, after a bulk load
    (offboard.bench.synthetic) wrote members without moving headcounts one by one."""
    _lock_in_id_order(conn, tenant_id)
    conn.execute(update(departments).where(departments.c.tenant_id == tenant_id).values(headcount=subtree_headcount_expr(departments)))


def actual_headcounts(conn: Connection, tenant_id: int) -> dict[int, int]:
    """Every department's headcount computed from scratch (for checks and tests, not hot paths)."""
    outer = departments.alias("d")
    rows = conn.execute(select(outer.c.id, subtree_headcount_expr(outer)).where(outer.c.tenant_id == tenant_id))
    return {r[0]: r[1] for r in rows}


def move_subtree(conn: Connection, tenant_id: int, old_path: str, new_path: str, depth_delta: int) -> None:
    """Rewrite the paths of a subtree in one statement."""
    upper = subtree_upper_bound(old_path)
    _lock_in_id_order(conn, tenant_id, departments.c.path >= old_path, departments.c.path < upper)
    conn.execute(
        update(departments)
        .where(departments.c.tenant_id == tenant_id, departments.c.path >= old_path, departments.c.path < upper)
        .values(
            path=literal(new_path, String).concat(func.substr(departments.c.path, len(old_path) + 1, type_=String)),
            depth=departments.c.depth + depth_delta,
        )
    )
