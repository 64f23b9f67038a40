"""Lookups shared by the actions. Every query is scoped by tenant_id (INV-8)."""

from __future__ import annotations

from sqlalchemy import Connection, Row, func, select

from offboard.domain.errors import NotFound, error
from offboard.domain.vocabulary import OPEN_EXIT_STATES, MemberStatus, Role, RoleStatus
from offboard.store.tables import departments, exits, member_departments, members, roles, tenants


def _missing(code: str, template: str, **params: object) -> NotFound:
    return error(NotFound, code, template, **params)


def tenant_by_slug(conn: Connection, slug: str) -> Row:
    row = conn.execute(select(tenants).where(tenants.c.slug == slug)).first()
    if row is None:
        raise _missing("tenant_not_found", "No enterprise with slug {slug!r}; `offboard tenant list` shows them.", slug=slug)
    return row


def tenant_by_id(conn: Connection, tenant_id: int) -> Row:
    row = conn.execute(select(tenants).where(tenants.c.id == tenant_id)).first()
    if row is None:
        raise _missing("tenant_not_found", "No enterprise with id {id}; `offboard tenant list` shows them.", id=tenant_id)
    return row


def tenant_slugs(conn: Connection) -> list[str]:
    return list(conn.execute(select(tenants.c.slug).order_by(tenants.c.slug)).scalars())


def member_by_userid(conn: Connection, tenant_id: int, userid: str) -> Row:
    """The member holding this userid (a finalized member's userid may be reused; the live one wins)."""
    row = conn.execute(
        select(members)
        .where(members.c.tenant_id == tenant_id, members.c.userid == userid)
        .order_by(members.c.status.in_([MemberStatus.ACTIVE, MemberStatus.FROZEN, MemberStatus.EXITED]).desc(), members.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise _missing("member_not_found", "No member with userid {userid!r} in this enterprise.", userid=userid)
    return row


def member_ref(conn: Connection, tenant_id: int, ref: int | str) -> Row:
    """A member by surrogate id (int, as in the API) or by userid (str, as in the CLI)."""
    return member_by_id(conn, tenant_id, ref) if isinstance(ref, int) else member_by_userid(conn, tenant_id, ref)


def member_by_id(conn: Connection, tenant_id: int, member_id: int) -> Row:
    row = conn.execute(select(members).where(members.c.tenant_id == tenant_id, members.c.id == member_id)).first()
    if row is None:
        raise _missing("member_not_found", "No member with id {id} in this enterprise.", id=member_id)
    return row


def member_names(conn: Connection, tenant_id: int, member_ids: set[int]) -> dict[int, str]:
    """The names of these members, in one query (unknown ids are left out)."""
    if not member_ids:
        return {}
    return {r.id: r.name for r in conn.execute(select(members.c.id, members.c.name).where(members.c.tenant_id == tenant_id, members.c.id.in_(member_ids)))}


def exit_by_id(conn: Connection, tenant_id: int, exit_id: int) -> Row:
    row = conn.execute(select(exits).where(exits.c.tenant_id == tenant_id, exits.c.id == exit_id)).first()
    if row is None:
        raise _missing("exit_not_found", "No exit with id {id} in this enterprise.", id=exit_id)
    return row


def exit_of(conn: Connection, tenant_id: int, member_ref_: str | int, *, open_only: bool = False) -> Row:
    """A member's open exit, else their latest one."""
    member = member_ref(conn, tenant_id, member_ref_)
    open_states = [s.value for s in OPEN_EXIT_STATES]
    query = select(exits).where(exits.c.tenant_id == tenant_id, exits.c.member_id == member.id)
    if open_only:
        query = query.where(exits.c.state.in_(open_states))
    row = conn.execute(query.order_by(exits.c.state.in_(open_states).desc(), exits.c.id.desc()).limit(1)).first()
    if row is None:
        raise _missing("exit_not_found", "{userid} has no exit.", userid=member.userid)
    return row


def department_by_id(conn: Connection, tenant_id: int, department_id: int) -> Row:
    row = conn.execute(select(departments).where(departments.c.tenant_id == tenant_id, departments.c.id == department_id)).first()
    if row is None:
        raise _missing("department_not_found", "No department with id {id} in this enterprise.", id=department_id)
    return row


def member_department_rows(conn: Connection, tenant_id: int, member_id: int) -> list[Row]:
    return list(
        conn.execute(
            select(member_departments.c.department_id, member_departments.c.is_primary, departments.c.path, departments.c.name)
            .join(
                departments,
                (departments.c.tenant_id == member_departments.c.tenant_id) & (departments.c.id == member_departments.c.department_id),
            )
            .where(member_departments.c.tenant_id == tenant_id, member_departments.c.member_id == member_id)
            .order_by(member_departments.c.is_primary.desc(), departments.c.path)
        )
    )


def member_roles(conn: Connection, tenant_id: int, member_id: int) -> list[Row]:
    return list(conn.execute(select(roles).where(roles.c.tenant_id == tenant_id, roles.c.member_id == member_id).order_by(roles.c.role)))


def active_super_admin_count(conn: Connection, tenant_id: int) -> int:
    return conn.execute(
        select(func.count())
        .select_from(roles.join(members, (members.c.tenant_id == roles.c.tenant_id) & (members.c.id == roles.c.member_id)))
        .where(
            roles.c.tenant_id == tenant_id,
            roles.c.role == Role.SUPER_ADMIN,
            roles.c.status == RoleStatus.ACTIVE,
            members.c.status == MemberStatus.ACTIVE,
        )
    ).scalar_one()


def is_admin(conn: Connection, tenant_id: int, member_id: int) -> bool:
    return (
        conn.execute(
            select(func.count()).where(
                roles.c.tenant_id == tenant_id,
                roles.c.member_id == member_id,
                roles.c.role.in_([Role.SUPER_ADMIN, Role.ADMIN]),
                roles.c.status == RoleStatus.ACTIVE,
            )
        ).scalar_one()
        > 0
    )
