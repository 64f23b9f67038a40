"""Audited access to a departed member's chats (R-DATA-1): a super admin, or an admin
with the audit_read permission over the member's departments, reads or exports them with a
stated reason; every read and every export is an audit event with that reason. Sealed messages
are opened with the member's data key (offboard.actions.sealing); one that does not open is
shown as such, naming the record, and the others are read as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.crypto.sealing import SealBroken, Sealer, data_key_binding
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.cross_border import check_transfer
from offboard.domain.errors import Conflict, Forbidden, Term, error
from offboard.domain.vocabulary import MemberStatus
from offboard.interfaces import WrappedKey
from offboard.store import repo
from offboard.store.rows import AnyRow
from offboard.store.tables import member_data_keys, messages

DEPARTED = (MemberStatus.EXITED, MemberStatus.FINALIZED)
MAX_PAGE = 500


@dataclass(frozen=True)
class ChatLine:
    id: int
    conversation: str
    sent_at: datetime
    body: str | None  # None when the sealed record does not open
    problem: str | None = None  # why, naming the record (English; the code is in `sealed_record_corrupt`)


@dataclass(frozen=True)
class ChatPage:
    member_id: int
    userid: str
    name: str
    total: int
    lines: list[ChatLine]
    next_after: int | None  # the id to read on from, when more follow


def _departed(uow: UnitOfWork, ref: int | str, reason: str) -> tuple[AnyRow, str]:
    member = repo.member_ref(uow.conn, uow.tenant_id, ref)
    uow.require(Action.READ_DEPARTED_CHATS, target_of(uow.conn, uow.tenant_id, member))
    if member.id == uow.actor.member_id:
        raise error(Forbidden, "own_chats", "A departed member's chats are read by a super admin or an auditing admin, not by the member.")
    if member.status not in DEPARTED:
        raise error(Conflict, "member_not_departed", "{userid} is {status}: only a departed member's chats are read here.", userid=member.userid, status=Term("member_status", member.status))
    return member, v.text(reason, "reason", max_length=500)


def _sealer(uow: UnitOfWork, member_id: int) -> Sealer | None:
    row = uow.conn.execute(select(member_data_keys).where(member_data_keys.c.tenant_id == uow.tenant_id, member_data_keys.c.member_id == member_id)).first()
    if row is None or uow.vault is None:
        return None
    key = uow.vault.unwrap(WrappedKey(row.region, row.kek_id, row.wrapped), data_key_binding(uow.tenant_id, member_id))
    return Sealer(key, uow.tenant_id, member_id)


def _lines(uow: UnitOfWork, member_id: int, after: int, limit: int | None) -> list[ChatLine]:
    query = (
        select(messages.c.id, messages.c.conversation, messages.c.sent_at, messages.c.body, messages.c.sealed_body)
        .where(messages.c.tenant_id == uow.tenant_id, messages.c.author_id == member_id, messages.c.id > after)
        .order_by(messages.c.id)
    )
    rows = uow.conn.execute(query.limit(limit) if limit else query).all()
    sealer = _sealer(uow, member_id) if any(r.sealed_body is not None for r in rows) else None
    lines = []
    for r in rows:
        if r.sealed_body is None:
            lines.append(ChatLine(r.id, r.conversation, r.sent_at, r.body))
            continue
        try:
            if sealer is None:
                raise error(SealBroken, "sealed_record_corrupt", "Sealed record {record} has no data key to open it with.", record=f"message:{r.id}")
            lines.append(ChatLine(r.id, r.conversation, r.sent_at, sealer.open(f"message:{r.id}", r.sealed_body).decode()))
        except SealBroken as exc:
            lines.append(ChatLine(r.id, r.conversation, r.sent_at, None, exc.render("en")))
    return lines


def read_chats(uow: UnitOfWork, ref: int | str, *, reason: str, after: int = 0, limit: int = 100) -> ChatPage:
    """A page of the departed member's messages, oldest first; the read is audited with its reason."""
    member, reason = _departed(uow, ref, reason)
    limit = max(1, min(limit, MAX_PAGE))
    total = uow.conn.execute(select(func.count()).select_from(messages).where(messages.c.tenant_id == uow.tenant_id, messages.c.author_id == member.id)).scalar_one()
    lines = _lines(uow, member.id, after, limit + 1)
    page, more = lines[:limit], len(lines) > limit
    uow.audit("chats.read", [f"member:{member.id}"], {"reason": reason, "messages": len(page), "after": after})
    return ChatPage(member.id, member.userid, member.name, total, page, page[-1].id if more and page else None)


def export_chats(uow: UnitOfWork, ref: int | str, *, reason: str, destination: str | None = None, legal_basis: str | None = None, basis_reference: str | None = None) -> ChatPage:
    """Every message of the departed member, for an export (JSON Lines); audited with its reason.
    An export to another data region than the member's needs a recorded legal basis (R-LAW-4)."""
    member, reason = _departed(uow, ref, reason)
    transfer = check_transfer(member.region, destination, legal_basis, basis_reference)
    lines = _lines(uow, member.id, 0, None)
    uow.audit("chats.exported", [f"member:{member.id}"], {"reason": reason, "messages": len(lines), "transfer": transfer})
    return ChatPage(member.id, member.userid, member.name, len(lines), lines, None)
