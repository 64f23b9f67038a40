"""The backup super admin (R-ADM-3, 主备双管理员 / AB角): set, change and remove, audited.

A tenant has one backup: the super admin of rank `backup`. Naming another member replaces the
one there was, who gives up the super-admin role they held as the backup. Under the tenant lock,
as everything that can change the number of super admins (INV-1).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete

from offboard.actions.context import UnitOfWork
from offboard.actions.roles import insert_role
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, Term, error
from offboard.domain.vocabulary import MemberStatus, Role, SuperAdminRank
from offboard.store import repo, super_admins
from offboard.store.tables import roles


@dataclass(frozen=True)
class BackupSet:
    userid: str
    replaced: str | None  # the previous backup, who no longer holds the super-admin role


def set_backup(uow: UnitOfWork, ref: int | str) -> BackupSet:
    conn, tid = uow.conn, uow.tenant_id
    uow.require(Action.MANAGE_ADMINS)
    uow.lock_tenant()
    member = repo.member_ref(conn, tid, ref)
    if member.status != MemberStatus.ACTIVE:
        raise error(Conflict, "member_not_active", "{userid} is {status}; the backup super admin must be an active member.", userid=member.userid, status=Term("member_status", member.status))
    role = super_admins.super_admin_role(conn, tid, member.id)
    if role is not None and role.rank == SuperAdminRank.BACKUP:
        raise error(Conflict, "already_backup", "{userid} is already the backup super admin.", userid=member.userid)
    if role is not None:
        raise error(Conflict, "already_super_admin", "{userid} is already a super admin ({rank}); name someone else as the backup.", userid=member.userid, rank=Term("super_admin_rank", role.rank))
    replaced = None
    for holder in super_admins.holders(conn, tid):
        if holder.rank == SuperAdminRank.BACKUP:
            conn.execute(delete(roles).where(roles.c.tenant_id == tid, roles.c.id == holder.role_id))
            uow.audit("role.removed", [f"member:{holder.member_id}"], {"role": Role.SUPER_ADMIN.value, "rank": SuperAdminRank.BACKUP.value, "scope": [], "replaced_by": member.id})
            replaced = holder.userid
    insert_role(uow, member.id, Role.SUPER_ADMIN, rank=SuperAdminRank.BACKUP)
    uow.audit("admin.backup_set", [f"member:{member.id}"], {"replaced": replaced})
    return BackupSet(member.userid, replaced)


def remove_backup(uow: UnitOfWork) -> str:
    """Remove the backup super admin's role; refused if they are the only one left (INV-1)."""
    conn, tid = uow.conn, uow.tenant_id
    uow.require(Action.MANAGE_ADMINS)
    uow.lock_tenant()
    holders = super_admins.holders(conn, tid)
    backup = next((h for h in holders if h.rank == SuperAdminRank.BACKUP), None)
    if backup is None:
        raise error(Conflict, "no_backup_admin", "This enterprise has no backup super admin to remove.")
    if len(holders) <= 1:
        raise error(Conflict, "last_super_admin", "{userid} is the last active super admin; name another super admin before removing this one.", userid=backup.userid)
    conn.execute(delete(roles).where(roles.c.tenant_id == tid, roles.c.id == backup.role_id))
    uow.audit("role.removed", [f"member:{backup.member_id}"], {"role": Role.SUPER_ADMIN.value, "rank": SuperAdminRank.BACKUP.value, "scope": []})
    uow.audit("admin.backup_removed", [f"member:{backup.member_id}"], {})
    return backup.userid
