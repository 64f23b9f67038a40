"""R-EXIT-9: people are told what to do. HR and IT see the exits awaiting their sign-off and the
checklist items they own (overdue once the restore window has ended: the exit could be
archived but for them), an acceptor sees the customers waiting for them to accept and what they
received, a manager sees their leaving report, whoever may unlock an account (super admins,
IT) sees the accounts locked by failed sign-ins, an approver the exit requests waiting for their
decision, and a member how their own exit request goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, select

from offboard.actions.sign_in_locks import LockedAccount, locked_accounts
from offboard.domain import checklist as cl
from offboard.actions.members import target_of
from offboard.domain.authz import Action, Actor, allowed
from offboard.domain.planning import CUSTOMER_KINDS
from offboard.domain.vocabulary import OPEN_EXIT_STATES, ExitState, LedgerState
from offboard.queries.checklist import BoardItem, board_item, open_exit_statuses
from offboard.queries.exit_requests import ExitRequestItem, recent_of, waiting_for
from offboard.store import repo
from offboard.store.rows import AnyRow
from offboard.store.tables import exit_signoffs, exits, members, transfer_ledger

L = transfer_ledger
_CUSTOMER_KINDS = {k.value for k in CUSTOMER_KINDS}


@dataclass(frozen=True)
class Received:
    """Resources of one kind a departed colleague's exit gave (or is giving) the reader."""

    exit_id: int
    from_userid: str
    from_name: str
    kind: str
    state: str  # done | waiting
    count: int
    readable: bool  # the reader may open that exit's page (the leaver's directory entry)


@dataclass(frozen=True)
class LeavingReport:
    exit_id: int
    userid: str
    name: str
    state: str
    effective_at: str


@dataclass(frozen=True)
class OwnedItem(BoardItem):
    owner: str  # the reader's role that owns the item: hr | it
    overdue: bool  # the restore window has ended: only this item keeps the exit from its archive


@dataclass(frozen=True)
class AwaitingSignoff:
    """An exit whose checklist is done and that waits for the reader's sign-off as `role`."""

    exit_id: int
    userid: str
    name: str
    role: str  # hr | it
    restore_until: str | None


@dataclass(frozen=True)
class Inbox:
    awaiting_signoff: list[AwaitingSignoff]
    to_accept: list[Received]  # customers and customer groups waiting for the reader (R-ORG-2)
    checklist: list[OwnedItem]  # overdue ones first
    received: list[Received]  # everything else the reader received
    reports_leaving: list[LeavingReport]
    locked_accounts: list[LockedAccount]
    to_do: int  # what asks the reader to act: sign-offs, customers to accept, overdue items, locked accounts, approvals
    # Exit requests (离职申请) waiting for the reader's decision, oldest first; they count in to_do.
    approvals: list[ExitRequestItem] = field(default_factory=list)
    # The reader's own exit requests: waiting, or decided in the last TOLD_FOR days (a rejection
    # says why); the reader is told, nothing asks them to act.
    my_requests: list[ExitRequestItem] = field(default_factory=list)


TOLD_FOR = timedelta(days=30)


def inbox(conn: Connection, tenant: AnyRow, actor: Actor, now: datetime) -> Inbox:
    if actor.kind != "member" or actor.member_id is None:
        return Inbox([], [], [], [], [], [], 0)
    leaver = members.alias("leaver")
    received = conn.execute(
        select(L.c.exit_id, L.c.kind, L.c.state, func.count().label("n"), leaver.c.id.label("leaver_id"), leaver.c.userid, leaver.c.name)
        .join(exits, and_(exits.c.tenant_id == L.c.tenant_id, exits.c.id == L.c.exit_id))
        .join(leaver, and_(leaver.c.tenant_id == exits.c.tenant_id, leaver.c.id == exits.c.member_id))
        .where(L.c.tenant_id == tenant.id, L.c.to_member_id == actor.member_id, L.c.state.in_([LedgerState.DONE, LedgerState.WAITING]), exits.c.state.in_([ExitState.OPEN, ExitState.FINALIZED]))
        .group_by(L.c.exit_id, L.c.kind, L.c.state, leaver.c.id, leaver.c.userid, leaver.c.name)
        .order_by(L.c.exit_id.desc(), L.c.kind)
    ).all()
    leaving = conn.execute(
        select(exits.c.id, exits.c.state, exits.c.effective_at, members.c.userid, members.c.name)
        .join(members, and_(members.c.tenant_id == exits.c.tenant_id, members.c.id == exits.c.member_id))
        .where(exits.c.tenant_id == tenant.id, members.c.manager_id == actor.member_id, exits.c.state.in_([s.value for s in OPEN_EXIT_STATES]))
        .order_by(exits.c.effective_at)
    ).all()
    awaiting, items = _checklist_work(conn, tenant, actor, actor.member_id, now)
    readable = {i: allowed(actor, Action.READ_DIRECTORY, target_of(conn, tenant.id, repo.member_by_id(conn, tenant.id, i))) for i in {r.leaver_id for r in received}}
    parcels = [Received(r.exit_id, r.userid, r.name, r.kind, r.state, r.n, readable[r.leaver_id]) for r in received]
    to_accept = [p for p in parcels if p.state == LedgerState.WAITING and p.kind in _CUSTOMER_KINDS]
    locked = locked_accounts(conn, tenant.id, actor)
    approvals = waiting_for(conn, tenant, actor)
    return Inbox(
        awaiting_signoff=awaiting,
        to_accept=to_accept,
        checklist=items,
        received=[p for p in parcels if p not in to_accept],
        reports_leaving=[LeavingReport(r.id, r.userid, r.name, r.state, r.effective_at.isoformat()) for r in leaving],
        locked_accounts=locked,
        to_do=len(awaiting) + len(to_accept) + sum(1 for i in items if i.overdue) + len(locked) + len(approvals),
        approvals=approvals,
        my_requests=recent_of(conn, tenant, actor, now - TOLD_FOR),
    )


def _checklist_work(conn: Connection, tenant: AnyRow, actor: Actor, member_id: int, now: datetime) -> tuple[list[AwaitingSignoff], list[OwnedItem]]:
    """For HR and IT: the open exits awaiting this member's sign-off, and the open items their roles own."""
    held = {g.role.value for g in actor.roles} & {r.value for r in cl.SIGNING_ROLES}
    if not held:
        return [], []
    open_exits = open_exit_statuses(conn, tenant, now)
    signed: dict[int, dict[str, int]] = {}
    if open_exits:
        for r in conn.execute(
            select(exit_signoffs.c.exit_id, exit_signoffs.c.role, exit_signoffs.c.member_id).where(exit_signoffs.c.tenant_id == tenant.id, exit_signoffs.c.exit_id.in_([e.id for e, _ in open_exits]))
        ):
            signed.setdefault(r.exit_id, {})[r.role] = r.member_id
    awaiting: list[AwaitingSignoff] = []
    items: list[OwnedItem] = []
    for row, found in open_exits:
        overdue = row.restore_until is not None and now >= row.restore_until
        for role in sorted(held):
            if cl.signoff_refusal(role, member_id, held, signed.get(row.id, {}), found) is None:
                awaiting.append(AwaitingSignoff(row.id, row.userid, row.name, role, row.restore_until.isoformat() if row.restore_until else None))
        for s in cl.open_items_for_signoff(found):
            if s.item.owner.value in held:
                items.append(OwnedItem(**vars(board_item(row, s)), owner=s.item.owner.value, overdue=overdue))
    items.sort(key=lambda i: not i.overdue)  # stable: overdue first, each group in exit order
    return awaiting, items
