"""Role grants and removals. Whatever can change the number of super admins takes the tenant
lock first and re-counts under it, so concurrent demotions cannot leave none (INV-1, R-EXIT-3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, Term, Terms, ValidationError, error
from offboard.domain.vocabulary import MemberStatus, Role, RoleStatus, SuperAdminRank
from offboard.store import ids, repo
from offboard.store.tables import departments, roles

ADMIN_PERMISSIONS = frozenset({"audit_read", "manage_members", "export"})


def insert_role(
    uow: UnitOfWork,
    member_id: int,
    role: Role,
    *,
    rank: SuperAdminRank | None = None,
    scope: list[int] | None = None,
    permissions: list[str] | None = None,
    note: Mapping[str, Any] | None = None,
) -> int:
    """Insert a role and audit the grant; `note` adds to the event's details (the handover or
    the rollback the grant belongs to)."""
    role_id = ids.next_id(uow.conn, roles, uow.tenant_id)
    uow.conn.execute(
        insert(roles).values(
            tenant_id=uow.tenant_id,
            id=role_id,
            member_id=member_id,
            role=role,
            rank=rank,
            scope=scope or [],
            permissions=sorted(permissions or []),
            status=RoleStatus.ACTIVE,
            granted_at=uow.now,
            granted_by=uow.actor.audit_id,
        )
    )
    uow.audit(
        "role.granted",
        [f"member:{member_id}"],
        {"role": role.value, "rank": rank.value if rank else None, "scope": scope or [], "permissions": sorted(permissions or []), **(note or {})},
    )
    return role_id


def make_super_admin(uow: UnitOfWork, member_id: int, rank: SuperAdminRank, note: Mapping[str, Any] | None = None) -> None:
    """Give `member_id` the super-admin role at `rank`: a new role, or the one they hold set to
    that rank and active; audited as a grant either way. Under the tenant lock (INV-1)."""
    conn, tid = uow.conn, uow.tenant_id
    held = conn.execute(select(roles).where(roles.c.tenant_id == tid, roles.c.member_id == member_id, roles.c.role == Role.SUPER_ADMIN)).first()
    if held is None:
        insert_role(uow, member_id, Role.SUPER_ADMIN, rank=rank, note=note)
        return
    conn.execute(update(roles).where(roles.c.tenant_id == tid, roles.c.id == held.id).values(rank=rank, status=RoleStatus.ACTIVE))
    uow.audit("role.granted", [f"member:{member_id}"], {"role": Role.SUPER_ADMIN.value, "rank": rank.value, "scope": [], "permissions": [], **(note or {})})


def grant_role(
    uow: UnitOfWork,
    ref: int | str,
    role: str,
    *,
    rank: str | None = None,
    scope: list[int] | None = None,
    permissions: list[str] | None = None,
) -> int:
    conn, tid = uow.conn, uow.tenant_id
    uow.require(Action.MANAGE_ADMINS)
    role_enum = Role(v.choice(role, Role, "role"))
    member = repo.member_ref(conn, tid, ref)
    userid = member.userid
    if member.status != MemberStatus.ACTIVE:
        raise error(Conflict, "member_not_active", "{userid} is {status}; roles go to active members only.", userid=userid, status=Term("member_status", member.status))
    if any(r.role == role_enum for r in repo.member_roles(conn, tid, member.id)):
        raise error(Conflict, "role_exists", "{userid} already holds the {role} role.", userid=userid, role=Term("role", role_enum))
    rank_enum = None
    if role_enum == Role.SUPER_ADMIN:
        uow.lock_tenant()
        rank_enum = SuperAdminRank(v.choice(rank or "backup", SuperAdminRank, "rank"))
    elif rank:
        raise error(ValidationError, "rank_not_applicable", "Only the {role} role has a rank ({ranks}).", role=Term("role", Role.SUPER_ADMIN), ranks=Terms("super_admin_rank", tuple(SuperAdminRank)))
    if role_enum == Role.ADMIN:
        if not scope:
            raise error(ValidationError, "scope_required", "An admin role needs a scope: one or more department ids.")
        found = set(conn.execute(select(departments.c.id).where(departments.c.tenant_id == tid, departments.c.id.in_(scope))).scalars())
        missing = [d for d in scope if d not in found]
        if missing:
            raise error(ValidationError, "department_not_found", "No department with id {id} in this enterprise.", id=missing[0])
    elif scope:
        raise error(ValidationError, "scope_not_applicable", "Only the admin role has a department scope.")
    unknown = sorted(set(permissions or []) - ADMIN_PERMISSIONS)
    if unknown:
        raise error(ValidationError, "unknown_permission", "Unknown permission {name}; choose from: {choices}.", name=unknown[0], choices=", ".join(sorted(ADMIN_PERMISSIONS)))
    return insert_role(uow, member.id, role_enum, rank=rank_enum, scope=scope, permissions=permissions)


def remove_role(uow: UnitOfWork, ref: int | str, role: str) -> None:
    """Remove a role; removing a super admin re-counts under the tenant lock (INV-1)."""
    conn, tid = uow.conn, uow.tenant_id
    uow.require(Action.MANAGE_ADMINS)
    role_enum = Role(v.choice(role, Role, "role"))
    member = repo.member_ref(conn, tid, ref)
    userid = member.userid
    if role_enum == Role.SUPER_ADMIN:
        uow.lock_tenant()
    row = conn.execute(select(roles).where(roles.c.tenant_id == tid, roles.c.member_id == member.id, roles.c.role == role_enum)).first()
    if row is None:
        raise error(Conflict, "role_missing", "{userid} does not hold the {role} role.", userid=userid, role=Term("role", role_enum))
    if role_enum == Role.SUPER_ADMIN:
        counted = row.status == RoleStatus.ACTIVE and member.status == MemberStatus.ACTIVE
        if counted and repo.active_super_admin_count(conn, tid) <= 1:
            raise error(
                Conflict,
                "last_super_admin",
                "{userid} is the last active super admin; name another super admin before removing this one.",
                userid=userid,
            )
    conn.execute(delete(roles).where(roles.c.tenant_id == tid, roles.c.id == row.id))
    uow.audit("role.removed", [f"member:{member.id}"], {"role": role_enum.value, "rank": row.rank, "scope": row.scope, "permissions": row.permissions})
