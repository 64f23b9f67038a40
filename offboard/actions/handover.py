"""A super admin hands power over (R-ADM-1, R-ADM-2) in the tenant's `admin_handover` mode:

- dual_verification (wecom): the old super admin names a successor and verifies; the successor
  accepts with their own code (through the one-time link in the console); power then moves, and
  the old super admin keeps emergency powers for the policy's window;
- immediate (dingtalk): power moves on the old super admin's verification alone;
- escrow (feishu): with a custodian named, power goes to the custodian at once (a super-admin
  role of rank `custodian`, limited to the policy's custodian powers) until the successor
  accepts; without one it works like dual_verification with no window.

Each step takes the tenant lock (it changes who holds power, INV-1) and is audited and emitted.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from offboard.actions.auth import second_factor_ok
from offboard.actions.context import UnitOfWork
from offboard.actions.roles import insert_role, make_super_admin
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, Forbidden, NotFound, Term, Unauthorized, error
from offboard.domain.handover import LINK_VALID, HandoverState, check_link, completes_at_once, link_digest, window_until
from offboard.domain.policy import AdminHandover
from offboard.domain.vocabulary import PRESENT_STATUSES, MemberStatus, Role, SuperAdminRank
from offboard.store import access_cut, ids, repo, super_admins
from offboard.queries.power import Handover, handover_record
from offboard.store.rows import AnyRow
from offboard.store.tables import admin_handovers, members, roles

H = admin_handovers


def _bad_code() -> Unauthorized:
    return error(Unauthorized, "bad_totp", "That code is wrong, expired or already used; enter the current 6-digit code.")


def _view(uow: UnitOfWork, row: AnyRow, link: str | None = None) -> Handover:
    return handover_record(uow.conn, uow.tenant_id, row, link)


def _person(uow: UnitOfWork) -> int:
    if uow.actor.kind != "member" or uow.actor.member_id is None:
        raise error(Forbidden, "person_required", "A handover is done by the super admins themselves, each with their code: pass --by USERID --totp CODE.")
    return uow.actor.member_id


def _verify(uow: UnitOfWork, member_id: int, totp: str) -> None:
    if not second_factor_ok(uow, member_id, totp):
        uow.refuse(_bad_code())


def _active(uow: UnitOfWork, ref: int | str, refusal: str) -> AnyRow:
    """The member `ref`, who must be active (`refusal`: the message when they are not)."""
    member = repo.member_ref(uow.conn, uow.tenant_id, ref)
    if member.status != MemberStatus.ACTIVE:
        raise error(Conflict, "member_not_active", refusal, userid=member.userid, status=Term("member_status", member.status))
    return member


def _drop_super_admin(uow: UnitOfWork, member_id: int, rank: str, handover_id: int) -> None:
    uow.conn.execute(delete(roles).where(roles.c.tenant_id == uow.tenant_id, roles.c.member_id == member_id, roles.c.role == Role.SUPER_ADMIN))
    uow.audit("role.removed", [f"member:{member_id}"], {"role": Role.SUPER_ADMIN.value, "rank": rank, "scope": [], "handover": handover_id})


def _move_power(uow: UnitOfWork, row: AnyRow) -> None:
    """The nominee takes the old super admin's rank; the old super admin (and a custodian) give up the role."""
    for member_id in {row.from_member_id, row.custodian_id} - {None}:
        _drop_super_admin(uow, member_id, row.from_rank if member_id == row.from_member_id else SuperAdminRank.CUSTODIAN.value, row.id)
    make_super_admin(uow, row.to_member_id, SuperAdminRank(row.from_rank), note={"handover": row.id})


def _complete(uow: UnitOfWork, row: AnyRow) -> AnyRow:
    _move_power(uow, row)
    until = window_until(AdminHandover(row.mode), uow.now, uow.policy.emergency_window_days) if row.custodian_id is None else None
    uow.conn.execute(
        update(H).where(H.c.tenant_id == uow.tenant_id, H.c.id == row.id).values(state=HandoverState.COMPLETED, completed_at=uow.now, window_until=until, link_hash=None, version=H.c.version + 1)
    )
    uow.audit("admin.handover.completed", [f"member:{row.to_member_id}", f"member:{row.from_member_id}"], {"handover": row.id, "window_until": until.isoformat() if until else None})
    uow.emit("admin.handover.completed", handover_id=row.id, member_id=row.to_member_id)
    return _row(uow, row.id)


def _row(uow: UnitOfWork, handover_id: int) -> AnyRow:
    return uow.conn.execute(H.select().where(H.c.tenant_id == uow.tenant_id, H.c.id == handover_id)).one()


def start(uow: UnitOfWork, *, to: int | str, totp: str, custodian: int | str | None = None) -> Handover:
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    uow.require_own_code(Action.MANAGE_ADMINS)
    me = _person(uow)
    uow.lock_tenant()
    mode = uow.policy.admin_handover
    mine = super_admins.super_admin_role(conn, tid, me)
    if mine is None or mine.rank == SuperAdminRank.CUSTODIAN:
        raise error(Forbidden, "not_super_admin", "Only a super admin hands their power over.")
    pending = super_admins.pending_handover(conn, tid)
    if pending is not None and pending.link_expires_at is not None and pending.link_expires_at <= now and pending.custodian_id is None:
        conn.execute(update(H).where(H.c.tenant_id == tid, H.c.id == pending.id).values(state=HandoverState.EXPIRED, ended_at=now))
        uow.audit("admin.handover.expired", [f"member:{pending.to_member_id}"], {"handover": pending.id})
        pending = None
    if pending is not None:
        raise error(Conflict, "handover_pending", "A handover is already pending; cancel it before starting another.")
    nominee = _active(uow, to, "{userid} is {status}; the successor must be an active member.")
    if nominee.id == me:
        raise error(Conflict, "handover_to_self", "Name someone else as the successor.")
    keeper = None
    if custodian is not None:
        if mode != AdminHandover.ESCROW:
            raise error(Conflict, "custodian_not_in_mode", "A custodian holds power only when the policy's handover mode is escrow (临时托管).")
        keeper = _active(uow, custodian, "{userid} is {status}; the custodian must be an active member.")
        if keeper.id in (me, nominee.id):
            raise error(Conflict, "custodian_is_party", "The custodian must be someone other than you and the successor.")
        if super_admins.super_admin_role(conn, tid, keeper.id) is not None:
            raise error(Conflict, "custodian_is_super_admin", "{userid} is already a super admin and cannot also hold power in escrow.", userid=keeper.userid)
    _verify(uow, me, totp)
    before = super_admins.super_admin_role(conn, tid, nominee.id)
    secret = secrets.token_urlsafe(24)
    handover_id = ids.next_id(conn, H, tid)
    immediate = completes_at_once(mode)
    conn.execute(
        insert(H).values(
            tenant_id=tid,
            id=handover_id,
            mode=mode,
            state=HandoverState.PENDING,
            from_member_id=me,
            to_member_id=nominee.id,
            custodian_id=keeper.id if keeper else None,
            from_rank=mine.rank or SuperAdminRank.PRIMARY,
            to_rank_before=before.rank if before else None,
            link_hash=None if immediate else link_digest(secret),
            link_expires_at=None if immediate else now + LINK_VALID,
            started_at=now,
            started_by=uow.actor.audit_id,
        )
    )
    uow.audit("admin.handover.started", [f"member:{nominee.id}"], {"handover": handover_id, "mode": mode.value, "custodian": keeper.id if keeper else None})
    uow.emit("admin.handover.started", handover_id=handover_id, member_id=nominee.id)
    row = _row(uow, handover_id)
    if immediate:
        return _view(uow, _complete(uow, row))
    if keeper is not None:  # escrow: the custodian holds power from now on, the old super admin none
        _drop_super_admin(uow, me, row.from_rank, handover_id)
        insert_role(uow, keeper.id, Role.SUPER_ADMIN, rank=SuperAdminRank.CUSTODIAN, note={"handover": handover_id})
    return _view(uow, row, link=secret)


def accept(uow: UnitOfWork, *, totp: str, link: str | None = None) -> Handover:
    """The nominee accepts with their own code (and, from the console, the link's secret)."""
    conn, tid = uow.conn, uow.tenant_id
    me = _person(uow)
    uow.lock_tenant()
    row = super_admins.pending_handover(conn, tid)
    if row is None or row.to_member_id != me:
        raise error(NotFound, "no_handover_for_you", "No handover waits for your acceptance.")
    if link is not None and (row.link_hash is None or not secrets.compare_digest(row.link_hash, link_digest(link))):
        raise error(NotFound, "no_handover_for_you", "No handover waits for your acceptance.")
    if row.custodian_id is None:
        check_link(row.link_expires_at, uow.now)
    _verify(uow, me, totp)
    return _view(uow, _complete(uow, row))


def cancel(uow: UnitOfWork, *, totp: str) -> Handover:
    """The old super admin drops a pending handover; in escrow, power comes back from the custodian."""
    conn, tid = uow.conn, uow.tenant_id
    me = _person(uow)
    uow.lock_tenant()
    row = super_admins.pending_handover(conn, tid)
    if row is None or row.from_member_id != me:
        raise error(NotFound, "no_pending_handover", "You have no pending handover to cancel.")
    _verify(uow, me, totp)
    undo_pending(uow, row)
    return _view(uow, _row(uow, row.id))


def _give_back(uow: UnitOfWork, member_id: int, rank: str, handover_id: int, note: Mapping[str, Any]) -> None:
    """The super-admin role goes back to someone who held it before a handover, unless they hold
    one again already or have left (roles go to present members only)."""
    if super_admins.super_admin_role(uow.conn, uow.tenant_id, member_id) is not None:
        return
    if repo.member_by_id(uow.conn, uow.tenant_id, member_id).status not in PRESENT_STATUSES:
        return
    insert_role(uow, member_id, Role.SUPER_ADMIN, rank=SuperAdminRank(rank), note={"handover": handover_id, **note})


def undo_pending(uow: UnitOfWork, row: AnyRow, **note: Any) -> None:
    """A pending handover dropped (by its old super admin, or by a rollback): in escrow, power
    comes back from the custodian. Under the tenant lock."""
    if row.custodian_id is not None:
        _drop_super_admin(uow, row.custodian_id, SuperAdminRank.CUSTODIAN.value, row.id)
        _give_back(uow, row.from_member_id, row.from_rank, row.id, note)
    uow.conn.execute(update(H).where(H.c.tenant_id == uow.tenant_id, H.c.id == row.id).values(state=HandoverState.CANCELLED, ended_at=uow.now, link_hash=None))
    uow.audit("admin.handover.cancelled", [f"member:{row.to_member_id}"], {"handover": row.id, **note})
    uow.emit("admin.handover.cancelled", handover_id=row.id, member_id=row.to_member_id)


def undo_completed(uow: UnitOfWork, row: AnyRow, **note: Any) -> None:
    """A completed handover undone (by the old super admin inside the window, or by a
    rollback): the nominee goes back to the rank they held before, the old super admin gets
    theirs back. Under the tenant lock."""
    _drop_super_admin(uow, row.to_member_id, row.from_rank, row.id)
    if row.to_rank_before is not None:
        _give_back(uow, row.to_member_id, row.to_rank_before, row.id, note)
    _give_back(uow, row.from_member_id, row.from_rank, row.id, note)
    now = uow.now
    uow.conn.execute(
        update(H)
        .where(H.c.tenant_id == uow.tenant_id, H.c.id == row.id)
        .values(state=HandoverState.REVERTED, ended_at=now, window_closed_at=func.coalesce(H.c.window_closed_at, now), version=H.c.version + 1)
    )
    uow.audit("admin.handover.reverted", [f"member:{row.to_member_id}"], {"handover": row.id, **note})
    uow.emit("admin.handover.reverted", handover_id=row.id, member_id=row.to_member_id)


def revert(uow: UnitOfWork, *, totp: str) -> Handover:
    """Inside the emergency window, the old super admin takes power back (R-ADM-2)."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    me = _person(uow)
    uow.lock_tenant()
    row = super_admins.open_window(conn, tid, me, now)
    if row is None:
        raise error(Conflict, "no_emergency_window", "You have no handover to revert: the emergency window is over or there was none.")
    if repo.member_by_id(conn, tid, me).status != MemberStatus.ACTIVE:
        raise error(Conflict, "reverter_not_active", "You have left the enterprise; power cannot come back to you. Freeze the account at risk instead, and ask the super admin or the operator.")
    _verify(uow, me, totp)
    undo_completed(uow, row)
    return _view(uow, _row(uow, row.id))


def close_lapsed_windows(uow: UnitOfWork) -> int:
    """The reconciler's part of R-ADM-2: every emergency window of the tenant that has run out is
    closed (window_closed_at), and an old super admin who has left loses the sessions they opened
    inside it at once. Rows another worker holds are left to it. Returns the windows closed."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    lapsed = select(H.c.id, H.c.from_member_id).where(H.c.tenant_id == tid, H.c.state == HandoverState.COMPLETED, H.c.window_until <= now, H.c.window_closed_at.is_(None))
    rows = conn.execute(lapsed.with_for_update(skip_locked=True) if conn.dialect.name == "postgresql" else lapsed).all()
    if not rows:
        return 0
    conn.execute(update(H).where(H.c.tenant_id == tid, H.c.id.in_([r.id for r in rows])).values(window_closed_at=now, version=H.c.version + 1))
    left = {r.from_member_id for r in rows}
    gone = set(conn.execute(select(members.c.id).where(members.c.tenant_id == tid, members.c.id.in_(left), members.c.status != MemberStatus.ACTIVE)).scalars())
    for row in rows:
        cut = access_cut.cut_steps(conn, tid, row.from_member_id, now, ("sessions",)) if row.from_member_id in gone else {"sessions": 0}
        uow.audit("admin.handover.window_closed", [f"member:{row.from_member_id}"], {"handover": row.id, "sessions": cut["sessions"]})
        uow.emit("admin.handover.window_closed", handover_id=row.id, member_id=row.from_member_id)
    return len(rows)
