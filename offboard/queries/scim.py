"""Members as SCIM 2.0 Users (RFC 7643 §4.1, with the enterprise extension §4.3), read for an
identity provider: one, or a page of those a filter selects (RFC 7644 §3.4.2), the filter
translated into SQL, never evaluated over every member in Python.

What a User holds: `id` (the member id), `userName` (the userid, compared case-insensitively),
`externalId`, `name.formatted` and `displayName` (the name), `emails` (the work email),
`phoneNumbers` (the mobile), `title`, `active` (the member is active), `meta` (created,
lastModified, the version as a weak ETag), and in the enterprise extension `employeeNumber`,
`department` (the primary department's name) and `manager` (the manager's id and name). A
member deleted through SCIM is gone for SCIM (404), whatever else remains of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path.filter import Comparison, LogicalExpr, Not, Present, ValuePath
from sqlalchemy import ColumnElement, Connection, and_, bindparam, false, func, not_, or_, select, true

from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import NotFound, ValidationError, error
from offboard.domain.vocabulary import MemberStatus
from offboard.store import repo
from offboard.store.rows import AnyRow
from offboard.store.tables import departments, member_departments, members

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_COUNT = 200  # a page holds at most this many Users (ServiceProviderConfig filter.maxResults)
_M = members.c
_STRING_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
# Entra sometimes sends `externalId eq 1a2b` without quotes; quoted, it parses.
_BARE = re.compile(r'\b(externalId|userName|id)\s+(eq|ne)\s+([^\s"()\[\]]+)(?=\s|\)|$)', re.IGNORECASE)
_LITERALS = {"true", "false", "null"}


@dataclass(frozen=True)
class ScimUser:
    """A member as SCIM shows them, before serialization (offboard.api.scim renders it)."""

    id: int
    user_name: str
    external_id: str | None
    name: str
    email: str | None
    mobile: str | None
    title: str | None
    active: bool
    employee_number: str | None
    department: str | None
    manager_id: int | None
    manager_name: str | None
    created: datetime
    last_modified: datetime
    version: int


@dataclass(frozen=True)
class UserPage:
    total: int
    start_index: int  # 1-based, as asked
    users: list[ScimUser]


def _primary_department() -> Any:
    primary = member_departments.join(departments, (departments.c.tenant_id == member_departments.c.tenant_id) & (departments.c.id == member_departments.c.department_id))
    return (
        select(departments.c.name)
        .select_from(primary)
        .where(member_departments.c.tenant_id == _M.tenant_id, member_departments.c.member_id == _M.id, member_departments.c.is_primary)
        .limit(1)
        .scalar_subquery()
    )


def _manager_name() -> Any:
    boss = members.alias("boss")
    return select(boss.c.name).where(boss.c.tenant_id == _M.tenant_id, boss.c.id == _M.manager_id).scalar_subquery()


# A User's row: the member, their primary department's name and their manager's name.
_USERS = select(members, _primary_department().label("department"), _manager_name().label("manager_name")).where(_M.scim_deleted_at.is_(None))
# One User by id, built once with bind parameters: every SCIM request reads its user so.
_USER = _USERS.where(_M.tenant_id == bindparam("tenant"), _M.id == bindparam("member"))


def _user(row: AnyRow) -> ScimUser:
    return ScimUser(
        row.id,
        row.userid,
        row.external_id,
        row.name,
        row.email,
        row.mobile,
        row.title,
        row.status == MemberStatus.ACTIVE,
        row.employee_number,
        row.department,
        row.manager_id,
        row.manager_name,
        row.created_at,
        row.updated_at,
        row.version,
    )


def user(conn: Connection, tenant_id: int, actor: Actor, member_id: int) -> ScimUser:
    require(actor, Action.SCIM)
    row = conn.execute(_USER, {"tenant": tenant_id, "member": member_id}).first()
    if row is None:
        raise error(NotFound, "scim_user_not_found", "No user {id} in this enterprise.", id=member_id)
    return _user(row)


def scim_id(raw: str) -> int:
    """A User's id from a URL: the member id; anything else names no user (404, not 400)."""
    if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18:
        return int(raw)
    raise error(NotFound, "scim_user_not_found", "No user {id} in this enterprise.", id=raw)


def normalize_filter(text: str) -> str:
    """The filter as sent, or with the bare values Entra sends (`externalId eq 1a2b`) quoted
    when only that makes it parse; a filter that parses neither way is left to be refused."""
    try:
        ScimFilter(text)
        return text
    except InvalidFilterException:
        quoted = _BARE.sub(lambda m: m.group(0) if m.group(3).lower() in _LITERALS else f'{m.group(1)} {m.group(2)} "{m.group(3)}"', text)
        try:
            ScimFilter(quoted)
        except InvalidFilterException:
            return text
        return quoted


def _text(value: Any, attr: str) -> str:
    if not isinstance(value, str):
        raise error(ValidationError, "invalid_filter", "{attr} is compared with a string, not {value!r}.", attr=attr, value=value)
    return value


def compare_text(column: Any, op: str, value: Any, attr: str, *, fold: bool) -> ColumnElement[bool]:
    """A string attribute compared as RFC 7644 §3.4.2.2 says (`fold`: case-insensitively)."""
    if op == "pr":
        return and_(column.is_not(None), column != "")
    text = _text(value, attr)
    if fold:
        column, text = func.lower(column), text.lower()
    if op == "eq":
        return column == text  # type: ignore[no-any-return]
    if op == "ne":
        return or_(column.is_(None), column != text)
    if op == "co":
        return column.contains(text, autoescape=True)  # type: ignore[no-any-return]
    if op == "sw":
        return column.startswith(text, autoescape=True)  # type: ignore[no-any-return]
    if op == "ew":
        return column.endswith(text, autoescape=True)  # type: ignore[no-any-return]
    return {"gt": column > text, "ge": column >= text, "lt": column < text, "le": column <= text}[op]  # type: ignore[no-any-return]


def _active(op: str, value: Any) -> ColumnElement[bool]:
    if op == "pr":
        return true()
    if op not in ("eq", "ne") or not isinstance(value, bool):
        raise error(ValidationError, "invalid_filter", "active is compared with eq or ne and true or false, not {value!r}.", value=value)
    is_active = _M.status == MemberStatus.ACTIVE
    return is_active if value == (op == "eq") else not_(is_active)


def compare_time(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    """meta.lastModified (`column`) compared with a time in ISO 8601 with its offset."""
    if op == "pr":
        return true()
    try:
        when = datetime.fromisoformat(_text(value, "meta.lastModified").replace("Z", "+00:00"))
    except ValueError as exc:
        raise error(ValidationError, "invalid_filter", "meta.lastModified is compared with a time such as 2026-12-01T08:00:00Z, not {value!r}.", value=value) from exc
    if when.tzinfo is None:
        raise error(ValidationError, "invalid_filter", "meta.lastModified is compared with a time such as 2026-12-01T08:00:00Z, not {value!r}.", value=value)
    ops = {"eq": column == when, "ne": column != when, "gt": column > when, "ge": column >= when, "lt": column < when, "le": column <= when}
    if op not in ops:
        raise error(ValidationError, "invalid_filter", "meta.lastModified is compared with eq, ne, gt, ge, lt or le, not {op}.", op=op)
    return ops[op]  # type: ignore[no-any-return]


def compare_id(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    """`id eq "12"`: ids are numbers; a value that is not one names no resource."""
    raw = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if op == "pr":
        return true()
    if op not in ("eq", "ne"):
        raise error(ValidationError, "invalid_filter", "id is compared with eq or ne, not {op}.", op=op)
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return false() if op == "eq" else true()
    return column == int(raw) if op == "eq" else column != int(raw)  # type: ignore[no-any-return]


# attribute (lower case, as RFC 7644 §3.4.2.2 compares them) -> (column, case-insensitive)
_STRINGS: dict[str, tuple[Any, bool]] = {
    "username": (_M.userid, True),
    "externalid": (_M.external_id, False),
    "displayname": (_M.name, False),
    "name.formatted": (_M.name, False),
    "emails": (_M.email, True),
    "emails.value": (_M.email, True),
    "title": (_M.title, False),
    "phonenumbers": (_M.mobile, False),
    "phonenumbers.value": (_M.mobile, False),
    f"{ENTERPRISE_SCHEMA.lower()}:employeenumber": (_M.employee_number, False),
}


def attribute_of(node: Any) -> str:
    """The attribute a comparison names, in lower case, with its schema URI if it has one."""
    path = node.attr_path
    name = path.attr if path.sub_attr is None else f"{path.attr}.{path.sub_attr}"
    return f"{path.uri}:{name}".lower() if path.uri else name.lower()


def _comparison(node: Any, strict: bool) -> ColumnElement[bool]:
    attr = attribute_of(node)
    op = "pr" if isinstance(node, Present) else node.op.value
    value = None if isinstance(node, Present) else node.value
    if attr.startswith(USER_SCHEMA.lower() + ":"):
        attr = attr[len(USER_SCHEMA) + 1 :]
    if attr in _STRINGS:
        column, fold = _STRINGS[attr]
        if op not in (*_STRING_OPS, "pr"):
            raise error(ValidationError, "invalid_filter", "The filter operator {op} is not known.", op=op)
        return compare_text(column, op, value, attr, fold=fold)
    if attr == "active":
        return _active(op, value)
    if attr == "meta.lastmodified":
        return compare_time(_M.updated_at, op, value)
    if attr == "id":
        return compare_id(_M.id, op, value)
    if not strict:
        return false()  # a search of every resource type: no User has it (RFC 7644 §3.4.2.1)
    raise error(ValidationError, "invalid_filter", "Users are not filtered by {attr}; filter by userName, externalId, emails, active, displayName, title, id or meta.lastModified.", attr=attr)


def fold(node: Any, comparison: Callable[[Any], ColumnElement[bool]], value_path: Callable[[ValuePath], ColumnElement[bool]]) -> ColumnElement[bool]:
    """A filter's syntax tree as one SQL condition: `and`, `or` and `not` here, the leaves (a
    comparison, a value path) by the resource type's own functions."""
    if isinstance(node, LogicalExpr):
        terms = [fold(t, comparison, value_path) for t in node.terms]
        return and_(*terms) if node.op.value == "and" else or_(*terms)
    if isinstance(node, Not):
        return not_(fold(node.expr, comparison, value_path))
    if isinstance(node, ValuePath):
        return value_path(node)
    if isinstance(node, Comparison | Present):
        return comparison(node)
    raise error(ValidationError, "invalid_filter", "This filter is not supported: {value}.", value=str(node))


def where(node: Any, *, strict: bool = True) -> ColumnElement[bool]:
    """A filter's syntax tree as a SQL condition on members; not `strict` (a search of every
    resource type at the root), an attribute no User has matches none instead of being refused.
    emails[value co "@x"], emails[type eq "work"]: the one email is a work email."""
    return fold(node, lambda leaf: _comparison(leaf, strict), lambda path: _value_path(path, strict))


def _value_path(node: ValuePath, strict: bool) -> ColumnElement[bool]:
    outer = node.attr_path.attr.lower()
    if outer not in ("emails", "phonenumbers") and not strict:
        return false()
    if outer not in ("emails", "phonenumbers"):
        raise error(ValidationError, "invalid_filter", "Users are not filtered by {attr}; filter by userName, externalId, emails, active, displayName, title, id or meta.lastModified.", attr=outer)

    def inner(n: Any) -> ColumnElement[bool]:
        if isinstance(n, LogicalExpr):
            terms = [inner(t) for t in n.terms]
            return and_(*terms) if n.op.value == "and" else or_(*terms)
        if isinstance(n, Not):
            return not_(inner(n.expr))
        sub = n.attr_path.attr.lower()
        op = "pr" if isinstance(n, Present) else n.op.value
        if sub == "value":
            column, fold = _STRINGS[outer]
            return compare_text(column, op, None if op == "pr" else n.value, f"{outer}.value", fold=fold)
        if sub == "type":
            return true() if op == "pr" or (op == "eq" and str(n.value).lower() in ("work", "mobile")) else false()
        if sub == "primary":
            return true() if op == "pr" or (op == "eq" and n.value is True) else false()
        raise error(ValidationError, "invalid_filter", "{attr} has no sub-attribute {sub}.", attr=outer, sub=sub)

    column, _fold = _STRINGS[outer]
    return and_(column.is_not(None), inner(node.val_filter))


def users(conn: Connection, tenant_id: int, actor: Actor, *, tree: Any, start_index: int, count: int, strict: bool = True) -> UserPage:
    """A page of Users, in id order, that the filter's syntax tree (None: every one) selects:
    `start_index` 1-based (below 1 read as 1), `count` clamped to 0..MAX_COUNT (0: only the total);
    `strict` as for where()."""
    require(actor, Action.SCIM)
    condition = where(tree, strict=strict) if tree is not None else true()
    start = max(1, start_index)
    count = max(0, min(count, MAX_COUNT))
    total = conn.execute(select(func.count()).select_from(members).where(_M.tenant_id == tenant_id, _M.scim_deleted_at.is_(None), condition)).scalar_one()
    rows = conn.execute(_USERS.where(_M.tenant_id == tenant_id, condition).order_by(_M.id).offset(start - 1).limit(count)).all() if count else []
    return UserPage(total, start, [_user(r) for r in rows])


def members_by_user_name(conn: Connection, tenant_id: int, user_name: str, *, except_id: int | None = None) -> Sequence[AnyRow]:
    """Present members whose userid is `user_name` but for case (RFC 7643: userName is case-insensitive)."""
    query = select(members).where(_M.tenant_id == tenant_id, func.lower(_M.userid) == user_name.lower(), _M.status.in_(("active", "frozen", "exited")))
    if except_id is not None:
        query = query.where(_M.id != except_id)
    return conn.execute(query).all()


def member_row(conn: Connection, tenant_id: int, member_id: int) -> AnyRow:
    """The member behind a User, unless deleted through SCIM."""
    row = repo.member_by_id(conn, tenant_id, member_id)
    if row.scim_deleted_at is not None:
        raise error(NotFound, "scim_user_not_found", "No user {id} in this enterprise.", id=member_id)
    return row
