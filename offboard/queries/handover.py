"""The handover sheet of an exit (离职交接单, SPEC §7): who left and when, what went to whom,
the checklist with its evidence, and the two sign-offs; and the exit's whole ledger with each
resource named, which the ledger export writes.

Set-based (SPEC §10): the ledger is read in one query, the names of its resources in one query
per resource kind, the people it names in one query, never a row at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from offboard.actions.members import target_of
from offboard.domain.authz import Action, Actor, require
from offboard.domain.vocabulary import ResourceKind
from offboard.queries.checklist import statuses
from offboard.queries.resource_names import names_of
from offboard.store import audit_log, repo
from offboard.store.audit_log import EventFilter
from offboard.store.rows import AnyRow
from offboard.store.tables import (
    checklist_attestations,
    departments,
    exit_signoffs,
    member_departments,
    members,
    transfer_ledger,
)

K = ResourceKind
L = transfer_ledger

# Items whose evidence is recorded with the change it attests, in the audit trail rather than
# in checklist_attestations (offboard.actions.checklist).
EVIDENCE_EVENTS = {"access_revoked": "devices.wiped", "third_party_reauth": "grants.acknowledged", "reimbursements_closed": "reimbursements.closed"}
EVIDENCE_SCAN = 100  # newest events of each such action read for one exit
SHEET_ROWS = 500  # ledger rows listed on the sheet; the ledger export has them all


@dataclass(frozen=True)
class Person:
    id: int
    userid: str
    name: str


@dataclass(frozen=True)
class Leaver(Person):
    department: str | None  # the primary department
    title: str | None
    manager: Person | None


@dataclass(frozen=True)
class KindTotal:
    """How many resources of a kind went where: to an acceptor, or nobody (archive, deleted, unassigned)."""

    kind: str
    state: str
    to: Person | None
    count: int


@dataclass(frozen=True)
class NamedLedgerRow:
    id: int
    kind: str
    resource_id: int
    resource: str | None  # its name or title; None when the resource is gone
    to: Person | None
    state: str
    correlation_id: str
    step_id: int
    changed_step_id: int | None
    updated_at: str


@dataclass(frozen=True)
class Evidence:
    text: str
    by: Person | None  # None: not a member (the operator, a service token)
    by_ref: str  # the audit id of who recorded it
    at: str


@dataclass(frozen=True)
class SheetItem:
    number: int
    key: str
    title_zh: str
    title_en: str
    owner: str  # hr | it
    check: str  # system | attest | finalization
    done: bool
    detail: dict[str, int]
    evidence: list[Evidence]


@dataclass(frozen=True)
class SheetSignoff:
    role: str  # hr | it
    by: Person
    at: str


@dataclass(frozen=True)
class HandoverSheet:
    exit_id: int
    enterprise: str
    timezone: str
    leaver: Leaver
    state: str
    type: str
    reason_category: str
    reason: str
    trigger: str
    requested_by: str  # an audit id
    requested_by_member: Person | None
    effective_at: str
    restore_until: str | None
    finalized_at: str | None
    successor: Person | None
    totals: list[KindTotal]
    rows: list[NamedLedgerRow]  # the first SHEET_ROWS
    rows_total: int
    items: list[SheetItem]
    signoffs: list[SheetSignoff]
    generated_at: str


def _people(conn: Connection, tenant_id: int, ids_: Iterable[int | None]) -> dict[int, Person]:
    wanted = {i for i in ids_ if i is not None}
    if not wanted:
        return {}
    rows = conn.execute(select(members.c.id, members.c.userid, members.c.name).where(members.c.tenant_id == tenant_id, members.c.id.in_(wanted)))
    return {r.id: Person(r.id, r.userid, r.name) for r in rows}


def _member_id(ref: str) -> int | None:
    kind, _sep, raw = ref.partition(":")
    return int(raw) if kind == "member" and raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def readable_exit(conn: Connection, tenant_id: int, actor: Actor, exit_id: int) -> tuple[AnyRow, AnyRow]:
    """The exit and its leaver, for the leaver or a reader of the leaver's directory entry (as
    offboard.queries.exits checks)."""
    row = repo.exit_by_id(conn, tenant_id, exit_id)
    member = repo.member_by_id(conn, tenant_id, row.member_id)
    if actor.member_id != member.id:
        require(actor, Action.READ_DIRECTORY, target_of(conn, tenant_id, member))
    return row, member


def named_ledger(conn: Connection, tenant_id: int, exit_id: int, *, limit: int | None = None) -> list[NamedLedgerRow]:
    """The exit's ledger rows in order, each resource named and each acceptor a person."""
    to = members.alias("to_member")
    query = (
        select(L, to.c.userid.label("to_userid"), to.c.name.label("to_name"))
        .select_from(L.outerjoin(to, and_(to.c.tenant_id == L.c.tenant_id, to.c.id == L.c.to_member_id)))
        .where(L.c.tenant_id == tenant_id, L.c.exit_id == exit_id)
        .order_by(L.c.id)
    )
    rows = conn.execute(query.limit(limit) if limit is not None else query).all()
    # All of the exit's rows of a kind as a subquery; the ids themselves for a page of them.
    names = names_of(
        conn,
        tenant_id,
        {
            kind: select(L.c.resource_id).where(L.c.tenant_id == tenant_id, L.c.exit_id == exit_id, L.c.kind == kind) if limit is None else {r.resource_id for r in rows if r.kind == kind}
            for kind in {r.kind for r in rows}
        },
    )
    return [
        NamedLedgerRow(
            id=r.id,
            kind=r.kind,
            resource_id=r.resource_id,
            resource=names.get((r.kind, r.resource_id)),
            to=Person(r.to_member_id, r.to_userid, r.to_name) if r.to_member_id is not None else None,
            state=r.state,
            correlation_id=r.correlation_id,
            step_id=r.step_id,
            changed_step_id=r.changed_step_id,
            updated_at=r.updated_at.isoformat(),
        )
        for r in rows
    ]


def ledger_export(conn: Connection, tenant_id: int, actor: Actor, exit_id: int) -> tuple[AnyRow, list[NamedLedgerRow]]:
    """The leaver and every ledger row of the exit, for a reader of the exit."""
    _row, member = readable_exit(conn, tenant_id, actor, exit_id)
    return member, named_ledger(conn, tenant_id, exit_id)


def _totals(conn: Connection, tenant_id: int, exit_id: int) -> list[KindTotal]:
    to = members.alias("to_member")
    rows = conn.execute(
        select(L.c.kind, L.c.state, L.c.to_member_id, to.c.userid, to.c.name, func.count().label("n"))
        .select_from(L.outerjoin(to, and_(to.c.tenant_id == L.c.tenant_id, to.c.id == L.c.to_member_id)))
        .where(L.c.tenant_id == tenant_id, L.c.exit_id == exit_id)
        .group_by(L.c.kind, L.c.state, L.c.to_member_id, to.c.userid, to.c.name)
    ).all()
    order = {k.value: i for i, k in enumerate(ResourceKind)}
    totals = [KindTotal(r.kind, r.state, Person(r.to_member_id, r.userid, r.name) if r.to_member_id is not None else None, r.n) for r in rows]
    return sorted(totals, key=lambda t: (order.get(t.kind, len(order)), -t.count, t.state, t.to.name if t.to else ""))


def _evidence(conn: Connection, tenant_id: int, exit_id: int) -> dict[str, list[tuple[str, str, str]]]:
    """Per item key: (evidence, audit id of who gave it, when), oldest first."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for r in conn.execute(
        select(checklist_attestations.c.item_key, checklist_attestations.c.evidence, checklist_attestations.c.member_id, checklist_attestations.c.attested_at)
        .where(checklist_attestations.c.tenant_id == tenant_id, checklist_attestations.c.exit_id == exit_id)
        .order_by(checklist_attestations.c.attested_at)
    ):
        found.setdefault(r.item_key, []).append((r.evidence, f"member:{r.member_id}", r.attested_at.isoformat()))
    for key, action in EVIDENCE_EVENTS.items():
        events = audit_log.page(conn, tenant_id, before=None, limit=EVIDENCE_SCAN, where=EventFilter(action=action, target=f"exit:{exit_id}"))
        for event in reversed(events):
            text = (event["details"] or {}).get("evidence")
            if text:
                found.setdefault(key, []).append((str(text), event["actor"], datetime.fromisoformat(event["at"]).isoformat()))
    return found


def checklist_items(conn: Connection, tenant_id: int, exit_row: AnyRow, now: datetime) -> list[SheetItem]:
    """The exit's checklist items, each with its evidence and who gave it."""
    evidence = _evidence(conn, tenant_id, exit_row.id)
    people = _people(conn, tenant_id, [_member_id(ref) for given in evidence.values() for _text, ref, _at in given])

    def by(ref: str) -> Person | None:
        mid = _member_id(ref)
        return people.get(mid) if mid is not None else None

    return [
        SheetItem(
            s.item.number,
            s.item.key,
            s.item.title_zh,
            s.item.title_en,
            s.item.owner.value,
            s.item.check,
            s.done,
            dict(s.detail),
            [Evidence(text, by(ref), ref, at) for text, ref, at in evidence.get(s.item.key, [])],
        )
        for s in statuses(conn, tenant_id, exit_row, now)
    ]


def checklist_export(conn: Connection, tenant_id: int, actor: Actor, exit_id: int, now: datetime) -> tuple[AnyRow, list[SheetItem]]:
    """The leaver and the exit's checklist with evidence, for a reader of the exit."""
    row, member = readable_exit(conn, tenant_id, actor, exit_id)
    return member, checklist_items(conn, tenant_id, row, now)


def handover_sheet(conn: Connection, tenant: AnyRow, actor: Actor, exit_id: int, now: datetime) -> HandoverSheet:
    row, member = readable_exit(conn, tenant.id, actor, exit_id)
    primary = conn.execute(
        select(departments.c.name)
        .join(member_departments, and_(member_departments.c.tenant_id == departments.c.tenant_id, member_departments.c.department_id == departments.c.id))
        .where(member_departments.c.tenant_id == tenant.id, member_departments.c.member_id == member.id)
        .order_by(member_departments.c.is_primary.desc(), departments.c.path)
        .limit(1)
    ).scalar()
    signed = conn.execute(select(exit_signoffs).where(exit_signoffs.c.tenant_id == tenant.id, exit_signoffs.c.exit_id == exit_id)).all()
    people = _people(conn, tenant.id, [member.manager_id, row.successor_id, _member_id(row.requested_by), *(s.member_id for s in signed)])
    requester = _member_id(row.requested_by)
    rows_total = conn.execute(select(func.count()).select_from(L).where(L.c.tenant_id == tenant.id, L.c.exit_id == exit_id)).scalar_one()
    return HandoverSheet(
        exit_id=row.id,
        enterprise=tenant.name,
        timezone=tenant.timezone,
        leaver=Leaver(member.id, member.userid, member.name, primary, member.title, people.get(member.manager_id) if member.manager_id else None),
        state=row.state,
        type=row.type,
        reason_category=row.reason_category,
        reason=row.reason,
        trigger=row.trigger,
        requested_by=row.requested_by,
        requested_by_member=people.get(requester) if requester is not None else None,
        effective_at=row.effective_at.isoformat(),
        restore_until=row.restore_until.isoformat() if row.restore_until else None,
        finalized_at=row.finalized_at.isoformat() if row.finalized_at else None,
        successor=people.get(row.successor_id) if row.successor_id else None,
        totals=_totals(conn, tenant.id, exit_id),
        rows=named_ledger(conn, tenant.id, exit_id, limit=SHEET_ROWS),
        rows_total=rows_total,
        items=checklist_items(conn, tenant.id, row, now),
        signoffs=[SheetSignoff(s.role, people[s.member_id], s.signed_at.isoformat()) for s in sorted(signed, key=lambda s: s.role != "hr")],
        generated_at=now.isoformat(),
    )
