"""The exit checklist as its readers see it (SPEC §7): the facts the system reads for one exit,
the twelve items and a tenant's own, the sign-offs, and the board of open items of every open
exit by the role that owns them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Table, func, select

from offboard.actions.members import target_of
from offboard.domain import checklist as cl
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import ExitState, ReimbursementStatus, Role
from offboard.queries.checklist_facts import custom_items as custom_items  # re-exported: the actions read it here
from offboard.queries.exits import MemberRef
from offboard.queries.members import emergency_until
from offboard.store import access_cut, repo
from offboard.store.rows import AnyRow
from offboard.store.tables import checklist_attestations, exit_signoffs, exits, members, reimbursements
from offboard.store.transfers import count_owned, open_counts


@dataclass(frozen=True)
class ChecklistItem:
    number: int
    key: str
    title_zh: str
    title_en: str
    owner: str  # hr | it
    check: str  # system | attest | finalization
    done: bool
    detail: dict[str, int]  # what is still open, by what it counts


@dataclass(frozen=True)
class Signoff:
    userid: str
    signed_at: str
    name: str = ""


@dataclass(frozen=True)
class ExitChecklist:
    exit_id: int
    member: MemberRef
    state: str
    restore_until: str | None
    items: list[ChecklistItem]
    open_for_signoff: list[str]  # keys of the items a sign-off waits for
    signoffs: dict[str, Signoff]  # by role: hr, it
    # The leaver, an old super admin, holds an emergency window until then (R-ADM-2): a session
    # they open inside it is live access, so item 12 stays open until it ends or the window closes.
    emergency_until: str | None = None


@dataclass(frozen=True)
class BoardItem:
    """An open item of an open exit."""

    exit_id: int
    userid: str
    name: str
    number: int
    key: str
    title_zh: str
    title_en: str
    detail: dict[str, int]


@dataclass(frozen=True)
class ChecklistBoard:
    hr: list[BoardItem]
    it: list[BoardItem]

    def of(self, role: Role) -> list[BoardItem]:
        return self.hr if role == Role.HR else self.it


def facts(conn: Connection, tenant_id: int, exit_row: AnyRow, now: datetime) -> cl.Facts:
    mid = exit_row.member_id
    attested = frozenset(conn.execute(select(checklist_attestations.c.item_key).where(checklist_attestations.c.tenant_id == tenant_id, checklist_attestations.c.exit_id == exit_row.id)).scalars())
    owned = {k.value: n for k, n in count_owned(conn, tenant_id, mid).items()} if exit_row.state != ExitState.SCHEDULED else {}
    counting = exit_row.state in (ExitState.OPEN, ExitState.FINALIZED)

    def count(table: Table, *where: ColumnElement[bool]) -> int:
        found: int = conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id, *where)).scalar_one()
        return found

    return cl.Facts(
        open_by_kind=open_counts(conn, tenant_id, exit_row.id) if counting else {},
        owned_by_kind=owned,
        open_reimbursements=count(reimbursements, reimbursements.c.member_id == mid, reimbursements.c.status == ReimbursementStatus.OPEN),
        **access_cut.remaining(conn, tenant_id, mid, now),
        sealed=exit_row.state == ExitState.FINALIZED,
        attested=attested,
    )


def statuses(conn: Connection, tenant_id: int, exit_row: AnyRow, now: datetime) -> list[cl.Status]:
    return cl.evaluate(facts(conn, tenant_id, exit_row, now), custom_items(conn, tenant_id))


def checklist(conn: Connection, tenant: AnyRow, actor: Actor, exit_id: int, now: datetime) -> ExitChecklist:
    row = repo.exit_by_id(conn, tenant.id, exit_id)
    member = repo.member_by_id(conn, tenant.id, row.member_id)
    if actor.member_id != member.id:
        require(actor, Action.READ_DIRECTORY, target_of(conn, tenant.id, member))
    signoffs = {
        r.role: Signoff(r.userid, r.signed_at.isoformat(), r.name)
        for r in conn.execute(
            select(exit_signoffs.c.role, exit_signoffs.c.signed_at, members.c.userid, members.c.name)
            .join(members, (members.c.tenant_id == exit_signoffs.c.tenant_id) & (members.c.id == exit_signoffs.c.member_id))
            .where(exit_signoffs.c.tenant_id == tenant.id, exit_signoffs.c.exit_id == exit_id)
        )
    }
    items = statuses(conn, tenant.id, row, now)
    return ExitChecklist(
        exit_id=exit_id,
        member=MemberRef(member.id, member.userid, member.name),
        state=row.state,
        restore_until=row.restore_until.isoformat() if row.restore_until else None,
        items=[ChecklistItem(s.item.number, s.item.key, s.item.title_zh, s.item.title_en, s.item.owner.value, s.item.check, s.done, dict(s.detail)) for s in items],
        open_for_signoff=[s.item.key for s in cl.open_items_for_signoff(items)],
        signoffs=signoffs,
        emergency_until=emergency_until(conn, tenant.id, member.id, now),
    )


def signoff_refusals(conn: Connection, tenant: AnyRow, actor: Actor, exit_id: int, now: datetime) -> dict[str, OffboardError | None]:
    """For each signing role: why the reader may not sign this exit off now, or None when they
    may (the same rule the sign-off checks, so the console disables the button with its reason)."""
    row = repo.exit_by_id(conn, tenant.id, exit_id)
    if actor.member_id is None:
        return {}
    existing = {r.role: r.member_id for r in conn.execute(select(exit_signoffs.c.role, exit_signoffs.c.member_id).where(exit_signoffs.c.tenant_id == tenant.id, exit_signoffs.c.exit_id == exit_id))}
    held = {g.role.value for g in actor.roles}
    found = statuses(conn, tenant.id, row, now)
    return {role.value: cl.signoff_refusal(role.value, actor.member_id, held, existing, found) for role in cl.SIGNING_ROLES}


def checklist_board(conn: Connection, tenant: AnyRow, actor: Actor, now: datetime) -> ChecklistBoard:
    """The board of open items of every open exit, for anyone who may read the directory."""
    require(actor, Action.READ_DIRECTORY)
    return open_items_by_role(conn, tenant, now)


def open_exit_statuses(conn: Connection, tenant: AnyRow, now: datetime) -> list[tuple[AnyRow, list[cl.Status]]]:
    """Every open exit (with the leaver's userid and name) and the statuses of its items."""
    rows = conn.execute(
        select(exits, members.c.userid, members.c.name)
        .join(members, (members.c.tenant_id == exits.c.tenant_id) & (members.c.id == exits.c.member_id))
        .where(exits.c.tenant_id == tenant.id, exits.c.state == ExitState.OPEN)
        .order_by(exits.c.id)
    ).all()
    return [(r, statuses(conn, tenant.id, r, now)) for r in rows]


def board_item(row: AnyRow, status: cl.Status) -> BoardItem:
    return BoardItem(row.id, row.userid, row.name, status.item.number, status.item.key, status.item.title_zh, status.item.title_en, dict(status.detail))


def open_items_by_role(conn: Connection, tenant: AnyRow, now: datetime) -> ChecklistBoard:
    """All open checklist items of open exits, grouped by the role that owns them (the board)."""
    board = ChecklistBoard(hr=[], it=[])
    for row, found in open_exit_statuses(conn, tenant, now):
        for s in cl.open_items_for_signoff(found):
            board.of(s.item.owner).append(board_item(row, s))
    return board
