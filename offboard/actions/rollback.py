"""Rolling back what a stolen account changed (R-EXC-1): the plan of offboard.queries.rollback,
computed again under the tenant lock and applied as one audited transaction, on confirmation
with the second factor of the person applying it.

Only the changes the plan marks `undo` are undone; superseded ones stay as later events left
them. Handovers are undone first (they move power), then roles are removed, then given back,
then tokens, then the policy; the enterprise must still have an active super admin afterwards
(INV-1), or nothing is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update

from offboard.actions.auth import second_factor_ok
from offboard.actions.context import UnitOfWork
from offboard.actions.handover import undo_completed, undo_pending
from offboard.actions.roles import insert_role
from offboard.domain import rollback as rb
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, Forbidden, Unauthorized, error
from offboard.domain.handover import HandoverState
from offboard.domain.rollback import Key, Subject, TokenState
from offboard.domain.vocabulary import Role, SuperAdminRank
from offboard.queries import rollback as rq
from offboard.queries.rollback import RollbackPlan
from offboard.store import repo, super_admins
from offboard.store.rows import AnyRow
from offboard.store.tables import api_tokens, roles, tenants

NOTE = {"rollback": True}


@dataclass(frozen=True)
class RollbackApplied:
    plan: RollbackPlan  # the plan as it was applied
    undone: int


def _order(entry: rb.Entry) -> tuple[int, int]:
    if entry.subject == Subject.HANDOVER:
        rank = 0
    elif entry.subject == Subject.ROLE:
        rank = 1 if entry.left is not None else 2
    else:
        rank = 3 if entry.subject == Subject.TOKEN else 4
    return rank, entry.changes[0].event.seq


def _role(uow: UnitOfWork, entry: rb.Entry, rows: dict[Key, AnyRow]) -> None:
    member_id, role = int(entry.key[1]), Role(entry.key[2])
    held = rows.get(entry.key)
    if held is not None:
        uow.conn.execute(delete(roles).where(roles.c.tenant_id == uow.tenant_id, roles.c.id == held.id))
        uow.audit("role.removed", [f"member:{member_id}"], {"role": role.value, "rank": held.rank, "scope": held.scope, "permissions": held.permissions, **NOTE})
    restore = entry.restore
    if restore is not None:
        rank = SuperAdminRank(restore.rank) if restore.rank else None
        insert_role(uow, member_id, role, rank=rank, scope=list(restore.scope), permissions=list(restore.permissions), note=NOTE)


def _token(uow: UnitOfWork, entry: rb.Entry, rows: dict[Key, AnyRow]) -> None:
    row = rows[entry.key]
    revoke = entry.restore == TokenState.NONE
    uow.conn.execute(update(api_tokens).where(api_tokens.c.tenant_id == uow.tenant_id, api_tokens.c.id == row.id).values(revoked_at=uow.now if revoke else None))
    uow.audit("token.revoked" if revoke else "token.reinstated", [f"token:{row.id}"], {"prefix": row.prefix, **NOTE})


def _policy(uow: UnitOfWork, entries: list[rb.Entry]) -> None:
    if not entries:
        return
    before = uow.policy
    after = before.changed({e.key[1]: e.restore for e in entries})
    old, new = before.as_dict(), after.as_dict()
    diff = {k: {"before": old[k], "after": new[k]} for k in new if old[k] != new[k]}
    uow.conn.execute(update(tenants).where(tenants.c.id == uow.tenant_id).values(policy=new))
    uow.audit("policy.changed", [f"tenant:{uow.tenant_id}"], {"changes": diff, **NOTE})
    uow._policy = after


def apply(uow: UnitOfWork, ref: int | str, *, since: str, totp: str, digest: str | None = None, locale: str = "en") -> RollbackApplied:
    """Undo `ref`'s changes since `since` that nobody changed again. With `digest` (from the
    plan that was shown), refuses if the plan has changed since it was shown."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    uow.require_own_code(Action.MANAGE_ADMINS)
    if uow.actor.kind != "member" or uow.actor.member_id is None:
        raise error(Forbidden, "person_required", "A rollback is applied by a person who verifies with their second factor: pass --by USERID --totp CODE.")
    uow.lock_tenant()
    tenant = repo.tenant_by_id(conn, tid)
    member = repo.member_ref(conn, tid, ref)
    moment = rq.parse_since(since, tenant.timezone, now)
    plan, rows, _events = rq.compute(conn, tenant, member, moment, now)
    if digest is not None and digest != rq.digest(plan):
        raise error(Conflict, "rollback_plan_changed", "The rollback plan has changed since it was shown (someone changed one of these things meanwhile); look at it again before applying it.")
    if not plan.undo:
        raise error(Conflict, "nothing_to_roll_back", "Nothing is left to undo: every change since then was undone or changed again already.")
    if not second_factor_ok(uow, uow.actor.member_id, totp):
        uow.refuse(error(Unauthorized, "bad_totp", "That code is wrong, expired or already used; enter the current 6-digit code."))
    shown = rq.describe(conn, tenant, member, moment, plan, rows, locale)
    policy: list[rb.Entry] = []
    for entry in sorted(plan.undo, key=_order):
        if entry.subject == Subject.HANDOVER:
            row = rows[entry.key]
            (undo_pending if row.state == HandoverState.PENDING else undo_completed)(uow, row, **NOTE)
        elif entry.subject == Subject.ROLE:
            _role(uow, entry, rows)
        elif entry.subject == Subject.TOKEN:
            _token(uow, entry, rows)
        else:
            policy.append(entry)
    _policy(uow, policy)
    if not super_admins.holders(conn, tid):
        raise error(Conflict, "last_super_admin", "Undoing these changes would leave the enterprise without an active super admin; name another super admin first.")
    details: dict[str, Any] = {
        "since": shown.since,
        "undone": [s for e in plan.undo for s in e.seqs],
        "superseded": [s for e in plan.entries if e.verdict == rb.Verdict.SUPERSEDED for s in e.seqs],
        "digest": shown.digest,
    }
    uow.audit("rollback.applied", [f"member:{member.id}"], details)
    uow.emit("member.rolled_back", member_id=member.id)
    return RollbackApplied(shown, len(plan.undo))
