"""R-EXIT-9: people are told. An acceptor sees what they received or must accept, a manager
sees their leaving report, HR and IT see the checklist items they own, and whoever may unlock
an account (super admins, IT) sees the accounts locked by failed sign-ins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from offboard.actions.sign_in_locks import LockedAccount, locked_accounts
from offboard.domain.authz import Actor
from offboard.domain.vocabulary import OPEN_EXIT_STATES, ExitState, Role
from offboard.queries.checklist import BoardItem, open_items_by_role
from offboard.store.rows import AnyRow
from offboard.store.tables import exits, members, transfer_ledger

L = transfer_ledger


@dataclass(frozen=True)
class Received:
    """Resources of one kind a departed colleague's exit gave (or is giving) the reader."""

    exit_id: int
    from_userid: str
    from_name: str
    kind: str
    state: str  # done | waiting
    count: int


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


@dataclass(frozen=True)
class Inbox:
    received: list[Received]
    reports_leaving: list[LeavingReport]
    checklist: list[OwnedItem]
    locked_accounts: list[LockedAccount]


def inbox(conn: Connection, tenant: AnyRow, actor: Actor, now: datetime) -> Inbox:
    if actor.kind != "member":
        return Inbox([], [], [], [])
    leaver = members.alias("leaver")
    received = conn.execute(
        select(L.c.exit_id, L.c.kind, L.c.state, func.count().label("n"), leaver.c.userid, leaver.c.name)
        .join(exits, and_(exits.c.tenant_id == L.c.tenant_id, exits.c.id == L.c.exit_id))
        .join(leaver, and_(leaver.c.tenant_id == exits.c.tenant_id, leaver.c.id == exits.c.member_id))
        .where(L.c.tenant_id == tenant.id, L.c.to_member_id == actor.member_id, L.c.state.in_(["done", "waiting"]), exits.c.state.in_([ExitState.OPEN, ExitState.FINALIZED]))
        .group_by(L.c.exit_id, L.c.kind, L.c.state, leaver.c.userid, leaver.c.name)
        .order_by(L.c.exit_id.desc(), L.c.kind)
    ).all()
    leaving = conn.execute(
        select(exits.c.id, exits.c.state, exits.c.effective_at, members.c.userid, members.c.name)
        .join(members, and_(members.c.tenant_id == exits.c.tenant_id, members.c.id == exits.c.member_id))
        .where(exits.c.tenant_id == tenant.id, members.c.manager_id == actor.member_id, exits.c.state.in_([s.value for s in OPEN_EXIT_STATES]))
        .order_by(exits.c.effective_at)
    ).all()
    roles = {g.role for g in actor.roles}
    checklist: list[OwnedItem] = []
    if Role.HR in roles or Role.IT in roles:
        board = open_items_by_role(conn, tenant, now)
        for role in (Role.HR, Role.IT):
            if role in roles:
                checklist.extend(OwnedItem(**vars(item), owner=role.value) for item in board.of(role))
    return Inbox(
        received=[Received(r.exit_id, r.userid, r.name, r.kind, r.state, r.n) for r in received],
        reports_leaving=[LeavingReport(r.id, r.userid, r.name, r.state, r.effective_at.isoformat()) for r in leaving],
        checklist=checklist,
        locked_accounts=locked_accounts(conn, tenant.id, actor),
    )
