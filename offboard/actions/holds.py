"""Legal holds (R-LAW-2): a member's records, every kind or some, kept past every retention and
erasure until the hold is released. Placed and released by a super admin or an auditing admin
with a reason; both audited. An erasure step the hold covers waits for the release and runs on
the sweep after it (offboard.actions.erasure, INV-6).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update

from offboard.actions.members import target_of
from offboard.actions.context import UnitOfWork
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.data_lifecycle import hold_kinds
from offboard.domain.errors import Conflict, NotFound, error
from offboard.store import repo
from offboard.store.ids import next_id
from offboard.store.rows import AnyRow
from offboard.store.tables import legal_holds


def place_hold(uow: UnitOfWork, ref: int | str, *, reason: str, kinds: Sequence[str] | None = None) -> int:
    member = repo.member_ref(uow.conn, uow.tenant_id, ref)
    uow.require(Action.LEGAL_HOLD, target_of(uow.conn, uow.tenant_id, member))
    reason = v.text(reason, "reason", max_length=500)
    chosen = hold_kinds(kinds)
    hold_id = next_id(uow.conn, legal_holds, uow.tenant_id)
    uow.conn.execute(
        insert(legal_holds).values(tenant_id=uow.tenant_id, id=hold_id, member_id=member.id, kinds=[k.value for k in chosen], reason=reason, placed_by=uow.actor.audit_id, placed_at=uow.now)
    )
    uow.audit("hold.placed", [f"member:{member.id}", f"hold:{hold_id}"], {"kinds": [k.value for k in chosen], "reason": reason})
    return hold_id


def _hold(uow: UnitOfWork, hold_id: int) -> AnyRow:
    H = legal_holds
    hold = uow.conn.execute(select(H).where(H.c.tenant_id == uow.tenant_id, H.c.id == hold_id)).first()
    if hold is None:
        raise error(NotFound, "hold_not_found", "No legal hold {id} in this enterprise.", id=hold_id)
    return hold


def hold_member(uow: UnitOfWork, hold_id: int) -> int:
    """The member a hold is on."""
    member_id: int = _hold(uow, hold_id).member_id
    return member_id


def release_hold(uow: UnitOfWork, hold_id: int, *, reason: str) -> int:
    H = legal_holds
    hold = _hold(uow, hold_id)
    member = repo.member_by_id(uow.conn, uow.tenant_id, hold.member_id)
    uow.require(Action.LEGAL_HOLD, target_of(uow.conn, uow.tenant_id, member))
    if hold.released_at is not None:
        raise error(Conflict, "hold_released", "This legal hold was already released on {at}.", at=hold.released_at)
    reason = v.text(reason, "reason", max_length=500)
    uow.conn.execute(update(H).where(H.c.tenant_id == uow.tenant_id, H.c.id == hold_id).values(released_at=uow.now, released_by=uow.actor.audit_id, release_reason=reason))
    uow.audit("hold.released", [f"member:{member.id}", f"hold:{hold_id}"], {"kinds": list(hold.kinds), "reason": reason})
    return hold_id
