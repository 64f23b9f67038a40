"""Accounts whose sign-in is locked by failed attempts (offboard.actions.auth), listed for the
people who can act on them, and unlocked by them with an audited action.

A lock is either the password hard stop (100 failures in a row for one userid) or the second
factor lock (10 wrong codes in a row). Whoever may freeze an account (super admin, IT, the
operator; SPEC §3.2) may unlock one: both are security calls on someone's access.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, or_, select

from offboard.actions.auth import HARD_STOP, TOTP_LOCK, totp_key, user_key
from offboard.actions.context import UnitOfWork
from offboard.domain.authz import Action, Actor, allowed
from offboard.domain.errors import Conflict, error
from offboard.store import repo
from offboard.store.tables import login_throttle, members


@dataclass(frozen=True)
class LockedAccount:
    member_id: int
    userid: str
    name: str
    reason: str  # "second_factor" | "password"
    failures: int
    since: datetime


def locked_accounts(conn: Connection, tenant_id: int, actor: Actor) -> list[LockedAccount]:
    """The locked accounts, for an actor who may unlock them; nobody else is told."""
    if not allowed(actor, Action.FREEZE):
        return []
    rows = conn.execute(
        select(login_throttle).where(
            login_throttle.c.tenant_id == tenant_id,
            or_(
                login_throttle.c.key.like("totp:%") & (login_throttle.c.failures >= TOTP_LOCK),
                login_throttle.c.key.like("user:%") & (login_throttle.c.failures >= HARD_STOP),
            ),
        )
    ).all()
    found: list[LockedAccount] = []
    for row in rows:
        kind, _, ref = row.key.partition(":")
        column = members.c.id if kind == "totp" else members.c.userid
        value: int | str = int(ref) if kind == "totp" else ref
        member = conn.execute(select(members).where(members.c.tenant_id == tenant_id, column == value)).first()
        if member is not None:  # an unknown userid that was guessed at is nobody's account
            reason = "second_factor" if kind == "totp" else "password"
            found.append(LockedAccount(member.id, member.userid, member.name, reason, row.failures, row.last_failure_at))
    return sorted(found, key=lambda a: a.since, reverse=True)


def unlock_sign_in(uow: UnitOfWork, member_ref: int | str) -> int:
    """Clear the password and second-factor failures of a member; returns how many locks were lifted."""
    member = repo.member_ref(uow.conn, uow.tenant_id, member_ref)
    uow.require(Action.FREEZE)
    keys = [user_key(member.userid), totp_key(member.id)]
    lifted = uow.conn.execute(delete(login_throttle).where(login_throttle.c.tenant_id == uow.tenant_id, login_throttle.c.key.in_(keys))).rowcount
    if not lifted:
        raise error(Conflict, "not_locked", "{userid} has no failed sign-ins to clear.", userid=member.userid)
    uow.audit("auth.unlocked", [f"member:{member.id}"], {"cleared": lifted})
    return lifted
