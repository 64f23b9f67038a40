"""Members as the directory shows them: a filtered page, and one member in full."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from offboard.actions.members import target_of
from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, allowed, require
from offboard.domain.errors import ValidationError, error
from offboard.domain.org import subtree_upper_bound
from offboard.domain.vocabulary import MemberStatus, Role
from offboard.store import repo, super_admins
from offboard.store.tables import departments, member_departments, members, roles
from offboard.store.transfers import count_owned


@dataclass(frozen=True)
class MemberRow:
    id: int
    userid: str
    name: str
    email: str | None
    title: str | None
    status: str
    department: str | None  # the primary department's name
    roles: list[str]  # "role", "role:rank", "role (status)" when not active


@dataclass(frozen=True)
class MemberPage:
    total: int
    limit: int
    offset: int
    items: list[MemberRow]


@dataclass(frozen=True)
class MembershipOf:
    id: int
    name: str
    path: str
    primary: bool


@dataclass(frozen=True)
class RoleHeld:
    role: str
    rank: str | None
    status: str
    scope: list[int] | None  # an admin's departments
    permissions: list[str] | None


@dataclass(frozen=True)
class MemberDetail:
    id: int
    userid: str
    external_id: str | None
    name: str
    email: str | None
    mobile: str | None
    title: str | None
    region: str | None
    status: str
    manager: str | None  # the manager's userid
    version: int
    departments: list[MembershipOf]
    roles: list[RoleHeld]
    resources: dict[str, int]  # what they own now, by resource kind
    created_at: str
    # The end of the emergency window this member holds as an old super admin (R-ADM-2), when
    # read with the time (`now`) and one is open then; None otherwise.
    emergency_until: str | None = None
    manager_name: str | None = None  # the manager as people read it (the console); `manager` is their userid


@dataclass(frozen=True)
class FreezeOptions:
    """What the reader may do about freezing a member's account (R-EXC-1), as the member page offers it."""

    can_freeze: bool  # the member is active, not the reader, and the reader may freeze them
    can_unfreeze: bool  # the member is frozen and the reader, a person, may give the account back
    last_super_admin: bool  # freezing them freezes the enterprise too: only with force (R-ADM-4)


def freeze_options(conn: Connection, tenant_id: int, actor: Actor, member_id: int) -> FreezeOptions:
    """The same checks offboard.actions.freeze makes, read without changing anything."""
    member = repo.member_by_id(conn, tenant_id, member_id)
    may = allowed(actor, Action.FREEZE, target_of(conn, tenant_id, member))
    holders = super_admins.holders(conn, tenant_id)
    last = [h.member_id for h in holders] == [member.id]
    return FreezeOptions(
        can_freeze=may and member.status == MemberStatus.ACTIVE and member.id != actor.member_id,
        can_unfreeze=may and member.status == MemberStatus.FROZEN and actor.kind == "member",
        last_super_admin=last,
    )


def list_members(
    conn: Connection,
    tenant_id: int,
    actor: Actor,
    *,
    status: str | None = None,
    department_id: int | None = None,
    role: str | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> MemberPage:
    """A page of members with filters; a scoped admin sees only their departments' members."""
    require(actor, Action.READ_DIRECTORY)
    if not 1 <= limit <= 500 or offset < 0:
        raise error(ValidationError, "invalid_page", "limit must be 1-500 and offset 0 or more.")
    where = [members.c.tenant_id == tenant_id]
    if status:
        where.append(members.c.status == v.choice(status, MemberStatus, "status"))
    paths: list[str] = []
    if department_id is not None:
        paths = [repo.department_by_id(conn, tenant_id, department_id).path]
    scope = reader_scope(actor)
    if scope is not None:
        paths = [p for p in paths if any(p.startswith(s) for s in scope)] if paths else scope
        if not paths:
            return MemberPage(0, limit, offset, [])
    if paths:
        where.append(in_departments(tenant_id, paths))
    if role:
        v.choice(role, Role, "role")
        where.append(members.c.id.in_(select(roles.c.member_id).where(roles.c.tenant_id == tenant_id, roles.c.role == role, roles.c.status == "active")))
    if query:
        # The query is text to find, not a pattern: % _ and the escape character match themselves.
        like = "%" + v.clean(query, "search").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(or_(*(column.ilike(like, escape="\\") for column in (members.c.userid, members.c.name, members.c.email))))
    total = conn.execute(select(func.count()).select_from(members).where(*where)).scalar_one()
    rows = conn.execute(select(members).where(*where).order_by(members.c.id).limit(limit).offset(offset)).all()
    primary = primary_departments(conn, tenant_id, [r.id for r in rows])
    role_map = _roles_of(conn, tenant_id, [r.id for r in rows])
    items = [MemberRow(r.id, r.userid, r.name, r.email, r.title, r.status, primary.get(r.id), role_map.get(r.id, [])) for r in rows]
    return MemberPage(total, limit, offset, items)


def reader_scope(actor: Actor) -> list[str] | None:
    """The department paths a reader of the directory is held to: a member whose every role is
    a scoped admin reads their scopes' members only; None for every other reader (the whole
    enterprise, once READ_DIRECTORY is granted)."""
    if actor.kind == "member" and not any(g.role != Role.ADMIN for g in actor.roles):
        return [p for g in actor.roles for p in g.scope_paths]
    return None


def in_departments(tenant_id: int, paths: list[str]) -> ColumnElement[bool]:
    """Members of a department within one of the subtrees at `paths`."""
    in_dept = (
        select(member_departments.c.member_id)
        .join(departments, and_(departments.c.tenant_id == member_departments.c.tenant_id, departments.c.id == member_departments.c.department_id))
        .where(
            member_departments.c.tenant_id == tenant_id,
            or_(*[and_(departments.c.path >= p, departments.c.path < subtree_upper_bound(p)) for p in paths]),
        )
    )
    return members.c.id.in_(in_dept)


def primary_departments(conn: Connection, tenant_id: int, member_ids: list[int]) -> dict[int, str]:
    """Member id -> the name of their primary department, in one query."""
    if not member_ids:
        return {}
    rows = conn.execute(
        select(member_departments.c.member_id, departments.c.name)
        .join(departments, and_(departments.c.tenant_id == member_departments.c.tenant_id, departments.c.id == member_departments.c.department_id))
        .where(member_departments.c.tenant_id == tenant_id, member_departments.c.member_id.in_(member_ids), member_departments.c.is_primary)
    )
    return {r.member_id: r.name for r in rows}


def _roles_of(conn: Connection, tenant_id: int, member_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    if not member_ids:
        return result
    for r in conn.execute(select(roles.c.member_id, roles.c.role, roles.c.rank, roles.c.status).where(roles.c.tenant_id == tenant_id, roles.c.member_id.in_(member_ids)).order_by(roles.c.role)):
        label = f"{r.role}:{r.rank}" if r.rank else r.role
        result.setdefault(r.member_id, []).append(label if r.status == "active" else f"{label} ({r.status})")
    return result


def owned_resource_counts(conn: Connection, tenant_id: int, member_id: int) -> dict[str, int]:
    """What the member owns now, counted exactly as planning and inheritance count it."""
    return {kind.value: n for kind, n in count_owned(conn, tenant_id, member_id).items()}


def show_member(conn: Connection, tenant_id: int, actor: Actor, ref: int | str, *, now: datetime) -> MemberDetail:
    """One member in full, with the emergency window they hold at `now`, if any."""
    member = repo.member_ref(conn, tenant_id, ref)
    if actor.member_id != member.id:
        require(actor, Action.READ_DIRECTORY, target_of(conn, tenant_id, member))
    boss = repo.member_by_id(conn, tenant_id, member.manager_id) if member.manager_id else None
    return MemberDetail(
        id=member.id,
        userid=member.userid,
        external_id=member.external_id,
        name=member.name,
        email=member.email,
        mobile=member.mobile,
        title=member.title,
        region=member.region,
        status=member.status,
        manager=boss.userid if boss else None,
        manager_name=boss.name if boss else None,
        version=member.version,
        departments=[MembershipOf(r.department_id, r.name, r.path, bool(r.is_primary)) for r in repo.member_department_rows(conn, tenant_id, member.id)],
        roles=[RoleHeld(r.role, r.rank, r.status, r.scope, r.permissions) for r in repo.member_roles(conn, tenant_id, member.id)],
        resources=owned_resource_counts(conn, tenant_id, member.id),
        created_at=member.created_at.isoformat(),
        emergency_until=emergency_until(conn, tenant_id, member.id, now),
    )


def emergency_until(conn: Connection, tenant_id: int, member_id: int, now: datetime) -> str | None:
    """When the emergency window `member_id` holds at `now` ends (R-ADM-2), or None."""
    window = super_admins.open_window(conn, tenant_id, member_id, now)
    return window.window_until.isoformat() if window is not None else None
