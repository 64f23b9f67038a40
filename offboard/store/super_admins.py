"""Who holds power in a tenant (R-ADM-1..4): the active super admins and their ranks, the
backup, the handovers and the emergency windows they leave. Reads only; the actions that change
any of it take the tenant lock first (offboard.store.locks.lock_tenant) and read under it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from offboard.domain.handover import HandoverState
from offboard.domain.vocabulary import MemberStatus, Role, RoleStatus, SuperAdminRank
from offboard.store.rows import AnyRow
from offboard.store.tables import admin_handovers, members, roles

H = admin_handovers


@dataclass(frozen=True)
class Holder:
    member_id: int
    userid: str
    name: str
    rank: str
    role_id: int


def holders(conn: Connection, tenant_id: int) -> list[Holder]:
    """The active super admins who are active members (INV-1 counts these), primary first."""
    rows = conn.execute(
        select(members.c.id, members.c.userid, members.c.name, roles.c.rank, roles.c.id.label("role_id"))
        .join(members, (members.c.tenant_id == roles.c.tenant_id) & (members.c.id == roles.c.member_id))
        .where(roles.c.tenant_id == tenant_id, roles.c.role == Role.SUPER_ADMIN, roles.c.status == RoleStatus.ACTIVE, members.c.status == MemberStatus.ACTIVE)
        .order_by(roles.c.rank != SuperAdminRank.PRIMARY, roles.c.rank, members.c.id)
    )
    return [Holder(r.id, r.userid, r.name, r.rank or SuperAdminRank.PRIMARY, r.role_id) for r in rows]


def super_admin_role(conn: Connection, tenant_id: int, member_id: int) -> AnyRow | None:
    return conn.execute(select(roles).where(roles.c.tenant_id == tenant_id, roles.c.member_id == member_id, roles.c.role == Role.SUPER_ADMIN)).first()


def set_rank(conn: Connection, tenant_id: int, role_id: int, rank: SuperAdminRank) -> None:
    conn.execute(update(roles).where(roles.c.tenant_id == tenant_id, roles.c.id == role_id).values(rank=rank))


def pending_handover(conn: Connection, tenant_id: int) -> AnyRow | None:
    return conn.execute(select(H).where(H.c.tenant_id == tenant_id, H.c.state == HandoverState.PENDING)).first()


def latest_handover(conn: Connection, tenant_id: int) -> AnyRow | None:
    return conn.execute(select(H).where(H.c.tenant_id == tenant_id).order_by(H.c.id.desc()).limit(1)).first()


def open_window(conn: Connection, tenant_id: int, member_id: int, now: datetime) -> AnyRow | None:
    """The completed handover whose emergency window `member_id` holds at `now`, if any."""
    return conn.execute(
        select(H)
        .where(
            H.c.tenant_id == tenant_id,
            H.c.from_member_id == member_id,
            H.c.state == HandoverState.COMPLETED,
            H.c.window_until > now,
            H.c.window_closed_at.is_(None),
        )
        .order_by(H.c.id.desc())
        .limit(1)
    ).first()
