"""What an identity provider changes of departments through SCIM 2.0 Groups (issue 13), through
the directory's own actions: a Group created is a department added under the root; its
displayName and externalId changed are the department updated; a member added to or removed
from a Group is that member moved into or out of the department (members.update_member, audited
as every move is); a Group deleted is an empty department dissolved (R-ORG-1: departments are
never erased, they keep their history; SCIM answers 404 for it from then on).

The mapping of membership: a member belongs to at least one department, and the root department
(the enterprise itself) is where one without another is placed. Joining a department adds it to
the member's departments and takes them out of the root if that was their only one; leaving
their only department places them in the root; a member only in the root cannot leave it
(409). A departed member (exited, still readable as a User) moves too, without counting in
headcounts; a finalized or erased one does not (409, member_not_present).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select

from offboard.actions import departments, members
from offboard.actions.context import UnitOfWork
from offboard.actions.scim import PreconditionFailed
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, NotFound, ValidationError, error
from offboard.domain.org import covered, joined, left
from offboard.domain.vocabulary import DepartmentStatus
from offboard.queries import scim_groups as groups_q
from offboard.store import repo
from offboard.store.id_lists import among_ids
from offboard.store.org import lock_departments
from offboard.store.rows import AnyRow
from offboard.store.tables import departments as departments_table
from offboard.store.tables import member_departments
from offboard.store.tables import members as members_table


@dataclass(frozen=True)
class WantedGroup:
    """A department as the identity provider wants it; None leaves a field as it is, an
    external id "" clears it, members None leaves them (a PUT that names no members)."""

    name: str
    external_id: str | None = None
    members: frozenset[int] | None = None


def _department(uow: UnitOfWork, department_id: int) -> AnyRow:
    row = uow.conn.execute(
        select(departments_table).where(departments_table.c.tenant_id == uow.tenant_id, departments_table.c.id == department_id, departments_table.c.status != DepartmentStatus.DISSOLVED)
    ).first()
    if row is None:
        raise error(NotFound, "scim_group_not_found", "No group {id} in this enterprise.", id=department_id)
    return row


def _check_version(dept: AnyRow, if_match: int | None) -> None:
    if if_match is not None and if_match != dept.version:
        raise error(PreconditionFailed, "version_mismatch", "The group changed since version {seen} (it is at version {version}); read it again and retry.", seen=if_match, version=dept.version)


def create_group(uow: UnitOfWork, wanted: WantedGroup) -> int:
    """POST /Groups: a department under the root, with the members named moved into it."""
    uow.require(Action.SCIM)
    department_id = departments.add_department(uow, wanted.name, None, external_id=wanted.external_id or None)
    if wanted.members:
        _move(uow, repo.department_by_id(uow.conn, uow.tenant_id, department_id), join=wanted.members, leave=())
    return department_id


def update_group(uow: UnitOfWork, department_id: int, wanted: WantedGroup, *, if_match: int | None = None) -> bool:
    """PUT or PATCH /Groups/{id}: the department renamed, its external id set and its members
    moved in and out as wanted; returns whether anything changed."""
    uow.require(Action.SCIM)
    dept = _department(uow, department_id)
    _check_version(dept, if_match)
    changed = departments.update_department(uow, dept.id, name=wanted.name, external_id=wanted.external_id)
    if wanted.members is not None:
        current = groups_q.listed_member_ids(uow.conn, uow.tenant_id, dept.id)
        join, leave = wanted.members - current, current - wanted.members
        if join or leave:
            _move(uow, repo.department_by_id(uow.conn, uow.tenant_id, dept.id), join=join, leave=leave)
            changed = True
    return changed


def delete_group(uow: UnitOfWork, department_id: int, *, if_match: int | None = None) -> None:
    """DELETE /Groups/{id}: an empty department without sub-departments is dissolved."""
    uow.require(Action.SCIM)
    dept = _department(uow, department_id)
    _check_version(dept, if_match)
    if dept.parent_id is None:
        raise error(Conflict, "scim_root_department", "{name} is the root department, the enterprise itself: it cannot be deleted.", name=dept.name)
    subs = uow.conn.execute(
        select(func.count()).where(departments_table.c.tenant_id == uow.tenant_id, departments_table.c.parent_id == dept.id, departments_table.c.status != DepartmentStatus.DISSOLVED)
    ).scalar_one()
    if subs:
        raise error(Conflict, "department_has_subdepartments", "Department {name} has {n} sub-department(s); delete or move them before deleting it.", name=dept.name, n=subs)
    listed = len(groups_q.listed_member_ids(uow.conn, uow.tenant_id, dept.id))
    if listed:
        raise error(
            Conflict,
            "department_has_members",
            "Department {name} still has {n} member(s); remove them from the group (or delete the users who left) before deleting it.",
            name=dept.name,
            n=listed,
        )
    departments.dissolve_department(uow, dept.id)


def _move(uow: UnitOfWork, dept: AnyRow, *, join: Collection[int], leave: Collection[int]) -> None:
    """Each member of `join` into the department and each of `leave` out of it, by
    members.update_member (its permission check, its audit event, the headcounts)."""
    conn, tid = uow.conn, uow.tenant_id
    named = sorted({*join, *leave})
    known = dict(
        conn.execute(
            select(members_table.c.id, members_table.c.userid).where(members_table.c.tenant_id == tid, among_ids(conn, members_table.c.id, named), members_table.c.scim_deleted_at.is_(None))
        ).all()
    )
    for member_id in named:
        if member_id not in known:
            raise error(ValidationError, "scim_member_not_found", "No user {id} in this enterprise to be a member of the group.", id=member_id)
    now_in = _present_departments(uow, named)
    root_id = members.root_department_id(uow)
    # Every department these moves count or uncount in, locked once in id order (PostgreSQL),
    # so moves of many members in one request take no lock in another order.
    lock_departments(conn, tid, covered([dept.path, *(path for rows in now_in.values() for _d, path in rows)]) | {root_id})
    for member_id in named:
        current = [d for d, _path in now_in.get(member_id, [])]
        wanted = joined(current, dept.id, root_id) if member_id in join else left(current, dept.id, root_id)
        if wanted is None:
            raise error(
                Conflict,
                "scim_member_only_in_root",
                "{userid} is only in the root department {name}, and a member belongs to at least one department: add them to another group before removing them from this one.",
                userid=known[member_id],
                name=dept.name,
            )
        if wanted != current:
            members.update_member(uow, member_id, changes={}, department_ids=wanted, departed=True)


def _present_departments(uow: UnitOfWork, member_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Each member's departments that are not dissolved, primary first: (id, path)."""
    md, d = member_departments.c, departments_table.c
    rows = uow.conn.execute(
        select(md.member_id, md.department_id, d.path)
        .join(departments_table, (d.tenant_id == md.tenant_id) & (d.id == md.department_id))
        .where(md.tenant_id == uow.tenant_id, among_ids(uow.conn, md.member_id, member_ids), d.status != DepartmentStatus.DISSOLVED)
        .order_by(md.member_id, md.is_primary.desc(), d.path)
    )
    found: dict[int, list[tuple[int, str]]] = {}
    for row in rows:
        found.setdefault(row.member_id, []).append((row.department_id, row.path))
    return found
