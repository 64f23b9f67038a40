"""A stolen account frozen at once (R-EXC-1), unfrozen with verification, and an enterprise left
without a super admin frozen and recovered (R-ADM-4, INV-1).

Everything here can change the number of active super admins, so each action takes the tenant
lock first and counts under it: two super admins freezing each other at the same moment are
serialized, and the second finds the first already frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from offboard.actions.auth import second_factor_ok
from offboard.actions.context import Services, UnitOfWork, tenant_transaction
from offboard.actions.members import target_of
from offboard.actions.roles import make_super_admin
from offboard.actions.tenants import require_operator
from offboard.domain import validation as v
from offboard.domain.authz import OPERATOR, Action, Actor
from offboard.domain.errors import Conflict, Forbidden, Term, Unauthorized, ValidationError, error
from offboard.domain.vocabulary import MemberStatus, SuperAdminRank, TenantStatus
from offboard.store import access_cut, repo, super_admins
from offboard.store.locks import lock_tenant
from offboard.store.tables import credentials, members, tenants

# A freeze cuts what gives access now; roles, devices and app grants wait for the exit, if any.
FREEZE_STEPS = ("sessions", "personal_tokens")


@dataclass(frozen=True)
class Frozen:
    member_id: int
    userid: str
    sessions_revoked: int
    tokens_revoked: int
    backup_activated: str | None  # the userid of the backup who became the primary super admin
    tenant_frozen: bool  # the last super admin was frozen with force (R-ADM-4)


def _reason(reason: str) -> str:
    text = v.clean(reason or "", "reason", multiline=True)
    if not text or len(text) > 2000:
        raise error(ValidationError, "reason_required", "Give the reason for the freeze (1-2000 characters).")
    return text


def freeze(uow: UnitOfWork, ref: int | str, *, reason: str, force: bool = False) -> Frozen:
    """Freeze an account: sessions and tokens revoked, credentials locked, in one transaction;
    a frozen primary super admin's backup becomes the primary, and they the backup. The last active super admin is
    frozen only with `force` (an incident), and the enterprise is frozen with them."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    reason = _reason(reason)
    uow.lock_tenant()
    member = repo.member_ref(conn, tid, ref)
    uow.require(Action.FREEZE, target_of(conn, tid, member))
    if member.id == uow.actor.member_id:
        raise error(Conflict, "freeze_self", "You cannot freeze your own account; ask another super admin or IT.")
    if member.status != MemberStatus.ACTIVE:
        raise error(Conflict, "member_not_active", "{userid} is {status}; only an active account can be frozen.", userid=member.userid, status=Term("member_status", member.status))
    holders = super_admins.holders(conn, tid)
    held = next((h for h in holders if h.member_id == member.id), None)
    others = [h for h in holders if h.member_id != member.id]
    last = held is not None and not others
    if last and not force:
        raise error(
            Conflict,
            "last_super_admin",
            "{userid} is the last active super admin; freezing them would leave nobody in charge. Name another super admin first, or freeze with force during an incident (the enterprise is then frozen until an operator recovers it).",
            userid=member.userid,
        )
    conn.execute(update(members).where(members.c.tenant_id == tid, members.c.id == member.id).values(status=MemberStatus.FROZEN, updated_at=now, version=members.c.version + 1))
    conn.execute(update(credentials).where(credentials.c.tenant_id == tid, credentials.c.member_id == member.id).values(locked_at=now, updated_at=now))
    cut = access_cut.cut_steps(conn, tid, member.id, now, FREEZE_STEPS)
    activated = None
    if held is not None and held.rank == SuperAdminRank.PRIMARY and others and not any(h.rank == SuperAdminRank.PRIMARY for h in others):
        backup = others[0]
        super_admins.set_rank(conn, tid, backup.role_id, SuperAdminRank.PRIMARY)
        super_admins.set_rank(conn, tid, held.role_id, SuperAdminRank.BACKUP)  # the ranks swap: unfrozen, they are the backup
        activated = backup.userid
        uow.audit("admin.backup_activated", [f"member:{backup.member_id}"], {"instead_of": member.id, "instead_of_rank": SuperAdminRank.BACKUP.value})
    uow.audit("member.frozen", [f"member:{member.id}"], {"reason": reason, "sessions": cut["sessions"], "tokens": cut["personal_tokens"], "forced": bool(force and last)})
    uow.emit("member.frozen", member_id=member.id)
    if last:
        conn.execute(update(tenants).where(tenants.c.id == tid).values(status=TenantStatus.FROZEN, version=tenants.c.version + 1))
        uow.audit("tenant.frozen", [f"tenant:{tid}"], {"reason": "no_active_super_admin"})
        uow.emit("tenant.frozen", tenant_id=tid)
    return Frozen(member.id, member.userid, cut["sessions"], cut["personal_tokens"], activated, last)


def unfreeze(uow: UnitOfWork, ref: int | str, *, totp: str) -> None:
    """Give a frozen account back, verified by the second factor of the person doing it. The
    revoked sessions and tokens stay revoked: the member signs in anew."""
    conn, tid = uow.conn, uow.tenant_id
    uow.lock_tenant()
    member = repo.member_ref(conn, tid, ref)
    uow.require_own_code(Action.FREEZE, target_of(conn, tid, member))
    if uow.actor.kind != "member" or uow.actor.member_id is None:
        raise error(Forbidden, "person_required", "Unfreezing is done by a person who verifies with their second factor: pass --by USERID --totp CODE.")
    if member.status != MemberStatus.FROZEN:
        raise error(Conflict, "member_not_frozen", "{userid} is {status}, not frozen.", userid=member.userid, status=Term("member_status", member.status))
    if not second_factor_ok(uow, uow.actor.member_id, totp):
        uow.refuse(error(Unauthorized, "bad_totp", "That code is wrong, expired or already used; enter the current 6-digit code."))
    now = uow.now
    conn.execute(update(members).where(members.c.tenant_id == tid, members.c.id == member.id).values(status=MemberStatus.ACTIVE, updated_at=now, version=members.c.version + 1))
    conn.execute(update(credentials).where(credentials.c.tenant_id == tid, credentials.c.member_id == member.id).values(locked_at=None, updated_at=now))
    uow.audit("member.unfrozen", [f"member:{member.id}"], {})
    uow.emit("member.unfrozen", member_id=member.id)


@dataclass(frozen=True)
class Recovered:
    tenant: str
    new_admin: str


def recover_tenant(services: Services, slug: str, *, new_admin: str, totp: str, actor: Actor = OPERATOR) -> Recovered:
    """The operator lifts a frozen enterprise (R-ADM-4) by naming an active member as its primary
    super admin; the new admin proves their enrolled second factor with a current code."""
    require_operator(actor)
    with tenant_transaction(services, slug) as uow:
        conn, tid = uow.conn, uow.tenant_id
        lock_tenant(conn, tid)
        if uow.tenant.status != TenantStatus.FROZEN:
            raise error(Conflict, "tenant_not_frozen", "This enterprise is not frozen; nothing to recover.")
        member = repo.member_ref(conn, tid, new_admin)
        if member.status != MemberStatus.ACTIVE:
            raise error(Conflict, "member_not_active", "{userid} is {status}; the new super admin must be an active member.", userid=member.userid, status=Term("member_status", member.status))
        if not second_factor_ok(uow, member.id, totp):
            uow.refuse(error(Unauthorized, "bad_totp", "That code is wrong, expired or already used; the new super admin enters the current 6-digit code of their enrolled authenticator."))
        make_super_admin(uow, member.id, SuperAdminRank.PRIMARY)
        conn.execute(update(tenants).where(tenants.c.id == tid).values(status=TenantStatus.ACTIVE, version=tenants.c.version + 1))
        uow.audit("tenant.recovered", [f"tenant:{tid}", f"member:{member.id}"], {"new_admin": member.id})
        uow.emit("tenant.recovered", tenant_id=tid, member_id=member.id)
    return Recovered(slug, member.userid)
