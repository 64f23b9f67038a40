"""Departments as SCIM 2.0 Groups (RFC 7643 §4.2), read for an identity provider: one, or a
page of those a filter selects (RFC 7644 §3.4.2), the filter translated into SQL.

What a Group holds: `id` (the department id), `displayName` (its name), `externalId` (the
identity provider's id of it), `members` (the members directly in it whom SCIM still shows as
Users: a departed member stays listed until the identity provider deletes the User, as the User
stays readable), `meta` (created, lastModified, the version as a weak ETag). A dissolved
department is no Group. A page with its members is three statements, whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models.path.filter import Comparison, Present, ValuePath
from sqlalchemy import ColumnElement, Connection, and_, bindparam, exists, false, func, not_, select, true

from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import NotFound, ValidationError, error
from offboard.domain.vocabulary import DepartmentStatus
from offboard.queries.scim import MAX_COUNT, attribute_of, compare_id, compare_text, compare_time, fold
from offboard.store.id_lists import among_ids
from offboard.store.tables import departments, member_departments, members

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
_D = departments.c
_MD = member_departments.c
_LAST_MODIFIED = func.coalesce(_D.updated_at, _D.created_at)  # rows older than migration 0020


@dataclass(frozen=True)
class GroupMember:
    id: int
    name: str


@dataclass(frozen=True)
class ScimGroup:
    """A department as SCIM shows it, before serialization (offboard.api.scim_groups renders it)."""

    id: int
    name: str
    external_id: str | None
    parent_id: int | None  # None: the root department, the enterprise itself
    created: datetime
    last_modified: datetime
    version: int
    members: tuple[GroupMember, ...] | None  # None: not read (excludedAttributes=members)


@dataclass(frozen=True)
class GroupPage:
    total: int
    groups: list[ScimGroup]


_GROUPS = select(_D.id, _D.name, _D.external_id, _D.parent_id, _D.created_at, _LAST_MODIFIED.label("last_modified"), _D.version).where(_D.status != DepartmentStatus.DISSOLVED)
_GROUP = _GROUPS.where(_D.tenant_id == bindparam("tenant"), _D.id == bindparam("department"))


def _listed(member_id: Any) -> ColumnElement[bool]:
    """The member behind a membership is a User SCIM shows (not deleted through SCIM)."""
    return exists().where(members.c.tenant_id == _MD.tenant_id, members.c.id == member_id, members.c.scim_deleted_at.is_(None))


def _members_of(conn: Connection, tenant_id: int, department_ids: list[int]) -> dict[int, list[GroupMember]]:
    """The listed members of these departments, in member id order: one statement."""
    found: dict[int, list[GroupMember]] = {d: [] for d in department_ids}
    if not department_ids:
        return found
    joined = member_departments.join(members, (members.c.tenant_id == _MD.tenant_id) & (members.c.id == _MD.member_id))
    rows = conn.execute(
        select(_MD.department_id, members.c.id, members.c.name)
        .select_from(joined)
        .where(_MD.tenant_id == tenant_id, among_ids(conn, _MD.department_id, department_ids), members.c.scim_deleted_at.is_(None))
        .order_by(_MD.department_id, members.c.id)
    )
    for row in rows:
        found[row.department_id].append(GroupMember(row.id, row.name))
    return found


def _group(row: Any, listed: list[GroupMember] | None) -> ScimGroup:
    return ScimGroup(row.id, row.name, row.external_id, row.parent_id, row.created_at, row.last_modified, row.version, tuple(listed) if listed is not None else None)


def group(conn: Connection, tenant_id: int, actor: Actor, department_id: int, *, with_members: bool = True) -> ScimGroup:
    require(actor, Action.SCIM)
    row = conn.execute(_GROUP, {"tenant": tenant_id, "department": department_id}).first()
    if row is None:
        raise error(NotFound, "scim_group_not_found", "No group {id} in this enterprise.", id=department_id)
    return _group(row, _members_of(conn, tenant_id, [row.id])[row.id] if with_members else None)


def scim_id(raw: str) -> int:
    """A Group's id from a URL: the department id; anything else names no group (404, not 400)."""
    if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18:
        return int(raw)
    raise error(NotFound, "scim_group_not_found", "No group {id} in this enterprise.", id=raw)


def _member_id(op: str, value: Any) -> ColumnElement[bool]:
    """`members eq "12"` (Entra asks whether a user is in a group so): the department lists the
    member; `members pr`: it lists anyone."""
    if op == "pr":
        return exists().where(_MD.tenant_id == _D.tenant_id, _MD.department_id == _D.id, _listed(_MD.member_id))
    raw = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if op not in ("eq", "ne"):
        raise error(ValidationError, "invalid_filter", "members are compared with eq, ne or pr, not {op}.", op=op)
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return false() if op == "eq" else true()
    listed = exists().where(_MD.tenant_id == _D.tenant_id, _MD.department_id == _D.id, _MD.member_id == int(raw), _listed(_MD.member_id))
    return listed if op == "eq" else not_(listed)


# attribute (lower case) -> (column, case-insensitive): a Group's displayName is not caseExact.
_STRINGS: dict[str, tuple[Any, bool]] = {"displayname": (_D.name, True), "externalid": (_D.external_id, False)}
_KNOWN = "displayName, externalId, id, members or meta.lastModified"


def _comparison(node: Any, strict: bool) -> ColumnElement[bool]:
    attr = attribute_of(node)
    op = "pr" if isinstance(node, Present) else node.op.value
    value = None if isinstance(node, Present) else node.value
    if attr.startswith(GROUP_SCHEMA.lower() + ":"):
        attr = attr[len(GROUP_SCHEMA) + 1 :]
    if attr in _STRINGS:
        column, fold = _STRINGS[attr]
        return compare_text(column, op, value, attr, fold=fold)
    if attr == "id":
        return compare_id(_D.id, op, value)
    if attr in ("members", "members.value"):
        return _member_id(op, value)
    if attr == "meta.lastmodified":
        return compare_time(_LAST_MODIFIED, op, value)
    if not strict:
        return false()  # a search of every resource type: no Group has it (RFC 7644 §3.4.2.1)
    raise error(ValidationError, "invalid_filter", "Groups are not filtered by {attr}; filter by {known}.", attr=attr, known=_KNOWN)


def where(node: Any, *, strict: bool = True) -> ColumnElement[bool]:
    """A filter's syntax tree as a SQL condition on departments (see offboard.queries.scim.where)."""
    return fold(node, lambda leaf: _comparison(leaf, strict), lambda path: _value_path(path, strict))


def _value_path(node: ValuePath, strict: bool) -> ColumnElement[bool]:
    """members[value eq "12"]: the one sub-attribute a member is looked up by."""
    if node.attr_path.attr.lower() != "members":
        if not strict:
            return false()
        raise error(ValidationError, "invalid_filter", "Groups are not filtered by {attr}; filter by {known}.", attr=node.attr_path.attr, known=_KNOWN)
    inner = node.val_filter
    if isinstance(inner, Comparison | Present) and inner.attr_path.attr.lower() == "value":
        return _member_id("pr" if isinstance(inner, Present) else inner.op.value, None if isinstance(inner, Present) else inner.value)
    raise error(ValidationError, "invalid_filter", 'A group\'s members are filtered by their value alone: members[value eq "12"].')


def groups(conn: Connection, tenant_id: int, actor: Actor, *, tree: Any, start_index: int, count: int, with_members: bool = True, strict: bool = True) -> GroupPage:
    """A page of Groups, in id order, that the filter's syntax tree (None: every one) selects:
    `start_index` 1-based, `count` clamped to 0..MAX_COUNT (0: only the total); `strict` as for
    where(). The total, the page and its members: three statements."""
    require(actor, Action.SCIM)
    condition = where(tree, strict=strict) if tree is not None else true()
    start = max(1, start_index)
    count = max(0, min(count, MAX_COUNT))
    live = and_(_D.tenant_id == tenant_id, _D.status != DepartmentStatus.DISSOLVED)
    total = conn.execute(select(func.count()).select_from(departments).where(live, condition)).scalar_one()
    rows = conn.execute(_GROUPS.where(_D.tenant_id == tenant_id, condition).order_by(_D.id).offset(start - 1).limit(count)).all() if count else []
    listed = _members_of(conn, tenant_id, [r.id for r in rows]) if with_members else {}
    return GroupPage(total, [_group(r, listed[r.id] if with_members else None) for r in rows])


def listed_member_ids(conn: Connection, tenant_id: int, department_id: int) -> set[int]:
    """The members SCIM lists in this department, as the Group's members are."""
    query = select(_MD.member_id).where(_MD.tenant_id == tenant_id, _MD.department_id == department_id, _listed(_MD.member_id))
    return set(conn.execute(query).scalars())
