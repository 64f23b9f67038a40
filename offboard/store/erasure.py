"""The erasure steps of offboard.domain.data_lifecycle as SQL: each a few set-based statements
over one member's rows; each returns the rows it erased. The caller has checked that the step
is due (no retention, no hold): these only erase.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, delete, exists, func, select, update

from offboard.audit import personal
from offboard.domain.data_lifecycle import Facts, Step, held_kinds, pseudonym, pseudonymous_userid
from offboard.domain.lifecycle import retention_end
from offboard.domain.vocabulary import MemberStatus, ResourceKind
from offboard.store import access_cut
from offboard.store.audit_log import names_target
from offboard.store.driver_rows import update_rows
from offboard.store.rows import AnyRow
from offboard.store.tables import attendance_records, audit_events, audit_side, calendars, credentials, documents, legal_holds, member_data_keys, members, messages, transfer_ledger

L = transfer_ledger


def _access(conn: Connection, tid: int, mid: int, now: datetime) -> int:
    cut = access_cut.cut_steps(conn, tid, mid, now, ("sessions", "personal_tokens", "app_grants"))
    gone = conn.execute(delete(credentials).where(credentials.c.tenant_id == tid, credentials.c.member_id == mid)).rowcount
    return sum(cut.values()) + gone


def _profile(conn: Connection, tid: int, mid: int, now: datetime) -> int:
    """The member row pseudonymized and emptied; the personal values of every audit side
    record about them erased (their commitments kept, so the chain verifies)."""
    conn.execute(
        update(members)
        .where(members.c.tenant_id == tid, members.c.id == mid)
        .values(
            name=pseudonym(tid, mid),
            userid=pseudonymous_userid(tid, mid),
            search_key=None,
            email=None,
            mobile=None,
            title=None,
            external_id=None,
            sealed_profile=None,
            version=members.c.version + 1,
            updated_at=now,
        )
    )
    about = (
        select(audit_side.c.seq, audit_side.c.details, audit_side.c.salts)
        .join(audit_events, (audit_events.c.tenant_id == audit_side.c.tenant_id) & (audit_events.c.seq == audit_side.c.seq))
        .where(audit_side.c.tenant_id == tid, audit_side.c.salts.is_not(None), names_target(conn, f"member:{mid}"))
    )
    replace = _replacement(tid, mid)
    rows = []
    for seq, details, salts in conn.execute(about):
        if personal.erased(salts):
            continue
        new_details, new_salts = personal.erase(details, salts, replace)
        rows.append({"tenant_id": tid, "seq": seq, "details": new_details, "salts": new_salts})
    update_rows(conn, audit_side, ("tenant_id", "seq"), rows)
    return 1 + len(rows)


def _replacement(tid: int, mid: int) -> Callable[[str], str | None]:
    values = {"name": pseudonym(tid, mid), "userid": pseudonymous_userid(tid, mid)}
    return lambda key: values.get(key)


def _shred(conn: Connection, tid: int, mid: int, now: datetime) -> int:
    """Crypto-shredding (R-LAW-3): the data key destroyed, so every sealed copy of their
    messages and contact fields is unreadable; a body never sealed is emptied."""
    sealed = conn.execute(select(func.count()).where(messages.c.tenant_id == tid, messages.c.author_id == mid, messages.c.sealed_body.is_not(None))).scalar_one()
    plain = conn.execute(update(messages).where(messages.c.tenant_id == tid, messages.c.author_id == mid, messages.c.body.is_not(None)).values(body=None)).rowcount
    conn.execute(delete(member_data_keys).where(member_data_keys.c.tenant_id == tid, member_data_keys.c.member_id == mid))
    return sealed + plain


def _chat(conn: Connection, tid: int, mid: int, now: datetime) -> int:
    return conn.execute(delete(messages).where(messages.c.tenant_id == tid, messages.c.author_id == mid)).rowcount


def _left_by(kind: ResourceKind, table_id, tid: int, mid: int):  # noqa: ANN001, ANN202 - a clause builder
    """The resource was moved away from the member by an exit to no one (archive or delete)."""
    return exists().where(L.c.tenant_id == tid, L.c.kind == kind, L.c.resource_id == table_id, L.c.from_member_id == mid, L.c.to_member_id.is_(None))


def _files(conn: Connection, tid: int, mid: int, now: datetime) -> int:
    D = documents
    return conn.execute(
        update(D).where(D.c.tenant_id == tid, D.c.owner_id.is_(None), D.c.deleted_at.is_(None), _left_by(ResourceKind.DOCUMENT, D.c.id, tid, mid)).values(deleted_at=now, version=D.c.version + 1)
    ).rowcount


def _calendar(conn: Connection, tid: int, mid: int, now: datetime) -> int:
    C = calendars
    return conn.execute(
        update(C).where(C.c.tenant_id == tid, C.c.owner_id.is_(None), C.c.deleted_at.is_(None), _left_by(ResourceKind.CALENDAR, C.c.id, tid, mid)).values(deleted_at=now, version=C.c.version + 1)
    ).rowcount


def _attendance(conn: Connection, tid: int, mid: int, now: datetime) -> int:
    return conn.execute(delete(attendance_records).where(attendance_records.c.tenant_id == tid, attendance_records.c.member_id == mid)).rowcount


RUN: dict[Step, Callable[[Connection, int, int, datetime], int]] = {
    Step.ACCESS: _access,
    Step.PROFILE: _profile,
    Step.SHRED: _shred,
    Step.CHAT: _chat,
    Step.FILES: _files,
    Step.CALENDAR: _calendar,
    Step.ATTENDANCE: _attendance,
}


def chat_retained_until(conn: Connection, tid: int, member: AnyRow, days: int, tz: str) -> datetime | None:
    """The end of the member's chat retention: the later of what finalization recorded and what
    today's policy gives (a retention lengthened since then wins), None before any exit."""
    stored = conn.execute(select(func.max(messages.c.retained_until)).where(messages.c.tenant_id == tid, messages.c.author_id == member.id)).scalar_one()
    by_policy = retention_end(member.exited_at, days, tz) if member.exited_at is not None else None
    ends = [t for t in (stored, by_policy) if t is not None]
    return max(ends) if ends else None


def active_holds(conn: Connection, tid: int, member_id: int) -> list[AnyRow]:
    H = legal_holds
    return list(conn.execute(select(H).where(H.c.tenant_id == tid, H.c.member_id == member_id, H.c.released_at.is_(None)).order_by(H.c.id)))


def member_facts(conn: Connection, tid: int, member: AnyRow, days: int, tz: str) -> Facts:
    return Facts(
        finalized=member.status in (MemberStatus.FINALIZED, MemberStatus.ERASED),
        chat_until=chat_retained_until(conn, tid, member, days, tz),
        held=held_kinds(h.kinds for h in active_holds(conn, tid, member.id)),
    )
