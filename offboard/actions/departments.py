"""Departments: add, rename, move, lead, dissolve (the tree with headcount and status)."""

from __future__ import annotations


from sqlalchemy import Connection, func, insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.domain import validation as v
from offboard.domain.authz import Action, Target
from offboard.domain.errors import Conflict, Term, ValidationError, error
from offboard.domain.org import ancestor_ids, check_move, child_path, name_key, subtree_upper_bound
from offboard.domain.vocabulary import PRESENT_STATUSES, DepartmentStatus
from offboard.store import ids, repo
from offboard.store.org import lock_departments, move_subtree, recount
from offboard.store.tables import departments


def add_department(uow: UnitOfWork, name: str, parent_id: int | None = None, *, external_id: str | None = None) -> int:
    """A new department under `parent_id` (the root when None); `external_id`, an identity
    provider's id of it (a SCIM Group's externalId)."""
    conn, tid = uow.conn, uow.tenant_id
    name = v.name(name, "department name")
    external_id = _external_id(external_id)
    if parent_id is None:
        parent = conn.execute(select(departments).where(departments.c.tenant_id == tid, departments.c.depth == 0).order_by(departments.c.id).limit(1)).one()
    else:
        parent = repo.department_by_id(conn, tid, parent_id)
    if parent.status == DepartmentStatus.DISSOLVED:
        raise error(Conflict, "department_dissolved", "Department {name} is dissolved; choose another parent.", name=parent.name)
    uow.require(Action.MANAGE_DIRECTORY, Target(department_paths=(parent.path,)))
    _check_sibling_name(conn, tid, parent.id, name)
    if external_id:
        _check_external_id_free(conn, tid, external_id)
    dept_id = ids.next_id(conn, departments, tid)
    path = child_path(parent.path, dept_id)
    check_move(path, parent.path, 1)
    conn.execute(
        insert(departments).values(
            tenant_id=tid,
            id=dept_id,
            parent_id=parent.id,
            name=name,
            path=path,
            depth=parent.depth + 1,
            status=DepartmentStatus.ACTIVE,
            headcount=0,
            created_at=uow.now,
            updated_at=uow.now,
            external_id=external_id,
        )
    )
    uow.audit("department.added", [f"department:{dept_id}"], {"name": name, "parent_id": parent.id, **({"external_id": external_id} if external_id else {})})
    return dept_id


def _check_sibling_name(conn: Connection, tenant_id: int, parent_id: int, name: str, except_id: int | None = None) -> None:
    """No two present sub-departments of one parent share a name but for case (name_key). The
    parent is locked first (PostgreSQL), so two requests naming the same one do not both pass."""
    lock_departments(conn, tenant_id, [parent_id])
    query = select(departments.c.name).where(departments.c.tenant_id == tenant_id, departments.c.parent_id == parent_id, departments.c.status != DepartmentStatus.DISSOLVED)
    if except_id is not None:
        query = query.where(departments.c.id != except_id)
    if any(name_key(sibling) == name_key(name) for sibling in conn.execute(query).scalars()):
        raise error(Conflict, "duplicate_department", "The parent department already has a sub-department named {name}.", name=name)


def _external_id(value: str | None) -> str | None:
    return v.text(value, "externalId", max_length=255, required=False, multiline=False) or None


def _check_external_id_free(conn: Connection, tenant_id: int, external_id: str, except_id: int | None = None) -> None:
    query = select(func.count()).where(departments.c.tenant_id == tenant_id, departments.c.external_id == external_id, departments.c.status != DepartmentStatus.DISSOLVED)
    if except_id is not None:
        query = query.where(departments.c.id != except_id)
    if conn.execute(query).scalar_one():
        raise error(Conflict, "duplicate_department_external_id", "External id {external_id!r} already belongs to another department.", external_id=external_id)


def update_department(uow: UnitOfWork, department_id: int, *, name: str | None = None, external_id: str | None = None) -> bool:
    """A department renamed (no sibling may have the name but for case) or given another external
    id ("" clears it); None leaves either as it is. Returns whether anything changed."""
    conn, tid = uow.conn, uow.tenant_id
    dept = repo.department_by_id(conn, tid, department_id)
    uow.require(Action.MANAGE_DIRECTORY, Target(department_paths=(dept.path,)))
    if dept.status == DepartmentStatus.DISSOLVED:
        raise error(Conflict, "department_dissolved", "Department {name} is dissolved; it is no longer changed.", name=dept.name)
    values: dict[str, str | None] = {}
    if name is not None and (name := v.name(name, "department name")) != dept.name:
        if dept.parent_id is not None:
            _check_sibling_name(conn, tid, dept.parent_id, name, except_id=dept.id)
        values["name"] = name
    if external_id is not None and (wanted := _external_id(external_id)) != dept.external_id:
        if wanted:
            _check_external_id_free(conn, tid, wanted, except_id=dept.id)
        values["external_id"] = wanted
    if not values:
        return False
    conn.execute(update(departments).where(departments.c.tenant_id == tid, departments.c.id == dept.id).values(**values, version=departments.c.version + 1, updated_at=uow.now))
    uow.audit("department.updated", [f"department:{dept.id}"], {"before": {k: getattr(dept, k) for k in values}, "after": values})
    return True


def move_department(uow: UnitOfWork, department_id: int, new_parent_id: int) -> None:
    """Re-parent a subtree: paths rewritten in one statement, the two ancestor chains recounted."""
    conn, tid = uow.conn, uow.tenant_id
    dept = repo.department_by_id(conn, tid, department_id)
    if dept.parent_id is None:
        raise error(Conflict, "root_department", "The root department cannot be moved.")
    parent = repo.department_by_id(conn, tid, new_parent_id)
    uow.require(Action.MANAGE_DIRECTORY, Target(department_paths=(dept.path,)))
    uow.require(Action.MANAGE_DIRECTORY, Target(department_paths=(parent.path,)))
    if parent.status == DepartmentStatus.DISSOLVED:
        raise error(Conflict, "department_dissolved", "Department {name} is dissolved; choose another parent.", name=parent.name)
    height = (
        conn.execute(select(func.max(departments.c.depth)).where(departments.c.tenant_id == tid, departments.c.path >= dept.path, departments.c.path < subtree_upper_bound(dept.path))).scalar_one()
        - dept.depth
        + 1
    )
    check_move(dept.path, parent.path, height)
    if parent.id == dept.parent_id:
        return
    _check_sibling_name(conn, tid, parent.id, dept.name, except_id=dept.id)
    new_path = child_path(parent.path, dept.id)
    move_subtree(conn, tid, dept.path, new_path, parent.depth + 1 - dept.depth)
    conn.execute(update(departments).where(departments.c.tenant_id == tid, departments.c.id == dept.id).values(parent_id=parent.id, version=departments.c.version + 1, updated_at=uow.now))
    # Only the old and new ancestor chains change their counts: O(depth) recounts.
    recount(conn, tid, ancestor_ids(dept.path)[:-1] + ancestor_ids(parent.path))
    uow.audit("department.moved", [f"department:{dept.id}"], {"from_parent_id": dept.parent_id, "to_parent_id": parent.id})


def set_leader(uow: UnitOfWork, department_id: int, leader_userid: str | None) -> None:
    conn, tid = uow.conn, uow.tenant_id
    dept = repo.department_by_id(conn, tid, department_id)
    uow.require(Action.MANAGE_DIRECTORY, Target(department_paths=(dept.path,)))
    leader_id = None
    if leader_userid:
        leader = repo.member_by_userid(conn, tid, leader_userid)
        if leader.status not in PRESENT_STATUSES:
            raise error(ValidationError, "leader_inactive", "{userid} is {status}; a leader must be a current member.", userid=leader_userid, status=Term("member_status", leader.status))
        leader_id = leader.id
    conn.execute(update(departments).where(departments.c.tenant_id == tid, departments.c.id == dept.id).values(leader_id=leader_id, version=departments.c.version + 1, updated_at=uow.now))
    uow.audit("department.leader_set", [f"department:{dept.id}"], {"from": dept.leader_id, "to": leader_id})


def dissolve_department(uow: UnitOfWork, department_id: int) -> int:
    """R-ORG-1: an admin dissolves an empty department and its (empty) sub-departments."""
    conn, tid = uow.conn, uow.tenant_id
    dept = repo.department_by_id(conn, tid, department_id)
    uow.require(Action.MANAGE_DIRECTORY, Target(department_paths=(dept.path,)))
    if dept.parent_id is None:
        raise error(Conflict, "root_department", "The root department cannot be moved.")
    if dept.status == DepartmentStatus.DISSOLVED:
        raise error(Conflict, "department_dissolved", "Department {name} is dissolved; choose another parent.", name=dept.name)
    if dept.headcount:
        raise error(Conflict, "department_not_empty", "Department {name} still has {n} member(s); only an empty department is dissolved.", name=dept.name, n=dept.headcount)
    subtree = (departments.c.tenant_id == tid) & (departments.c.path >= dept.path) & (departments.c.path < subtree_upper_bound(dept.path))
    n = conn.execute(
        update(departments)
        .where(subtree, departments.c.status != DepartmentStatus.DISSOLVED)
        .values(status=DepartmentStatus.DISSOLVED, leader_id=None, version=departments.c.version + 1, updated_at=uow.now)
    ).rowcount
    uow.audit("department.dissolved", [f"department:{dept.id}"], {"name": dept.name, "departments": n})
    return n
