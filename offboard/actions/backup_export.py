"""Restoring deleted enterprise data from the enterprise backup (R-DATA-4): an admin who may read
a departed member's chats asks, with a stated reason, for that member's sealed records
(messages and the sealed profile) to be read from an earlier copy of the database and exported
as JSON Lines. Nothing is written back: what was deleted stays deleted in the live database,
and the export is one audited event there (`data.backup_export`: the reason, the backup's
location without a password, its schema revision and latest audit event, the counts, and the
records that did not open).

Refused, each with a code and a sentence to act on: a member erased at their request in the
live database (R-LAW-1 wins: an erased member's data is not brought back from a backup, which
is why erasure destroys the data key and why only the live key vault opens a backup's wraps);
a backup that cannot be read, is not an offboard database, is of another schema revision or
another installation; a member the backup does not hold; a data key the key file cannot unwrap
any more. A corrupted ciphertext is named in its line and the other records are exported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.crypto.sealing import SealBroken, Sealer, data_key_binding
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.data_lifecycle import Step
from offboard.domain.errors import Conflict, Forbidden, NotFound, Term, error
from offboard.domain.vocabulary import MemberStatus
from offboard.interfaces import KeyVaultError, WrappedKey
from offboard.store import repo
from offboard.store.backups import BackupIdentity, check_chain, open_backup
from offboard.store.rows import AnyRow
from offboard.store.tables import erasure_requests, erasure_steps, member_data_keys, members, messages

DEPARTED = (MemberStatus.EXITED, MemberStatus.FINALIZED)
# The erasure steps that destroy what this export would bring back.
ERASING = (Step.PROFILE, Step.SHRED, Step.CHAT)
PROFILE_FIELDS = ("email", "mobile", "title")


@dataclass(frozen=True)
class BackupLine:
    """One line of the export: a message, or the profile, or what did not open."""

    record: str  # message:42 | profile
    at: datetime | None
    data: dict[str, Any] | None  # None when the record does not open
    problem: str | None = None  # why, naming the record (English; the code is sealed_record_corrupt)

    def as_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {"record": self.record}
        if self.at is not None:
            line["sent_at"] = self.at.isoformat()
        if self.data is not None:
            line |= self.data
        if self.problem is not None:
            line["error"] = self.problem
        return line


@dataclass(frozen=True)
class BackupExport:
    member_id: int
    userid: str
    name: str
    backup: BackupIdentity
    lines: list[BackupLine]

    @property
    def unreadable(self) -> list[str]:
        return [line.record for line in self.lines if line.problem is not None]


def export_from_backup(uow: UnitOfWork, ref: int | str, *, backup: str, reason: str) -> BackupExport:
    """The departed member's messages and profile as the backup holds them, opened with their
    data key; audited in the live database with the reason and the backup's identity."""
    reason = v.text(reason, "reason", max_length=500)
    location = v.text(backup, "backup", max_length=1000, multiline=False)
    conn, tid = uow.conn, uow.tenant_id
    with open_backup(location, uow.tenant.slug, tid) as (old, identity):
        check_chain(conn, identity, tid)
        member = _member(uow, old, ref, identity)
        uow.require(Action.READ_DEPARTED_CHATS, target_of(conn, tid, member))
        if member.id == uow.actor.member_id:
            raise error(Forbidden, "own_chats", "A departed member's chats are read by a super admin or an auditing admin, not by the member.")
        _refuse_erased(conn, tid, member, ref if isinstance(ref, str) else member.userid)
        if member.status not in DEPARTED:
            raise error(Conflict, "member_not_departed", "{userid} is {status}: only a departed member's chats are read here.", userid=member.userid, status=Term("member_status", member.status))
        held = old.execute(select(members).where(members.c.tenant_id == tid, members.c.id == member.id)).first()
        if held is None:
            raise error(
                NotFound,
                "member_not_in_backup",
                "The backup {location} (up to audit event {seq}) holds no member {userid}: it was taken before they joined. Choose a later backup.",
                location=identity.location,
                seq=identity.audit_seq,
                userid=member.userid,
            )
        lines = _read(uow, old, held, identity)
    export = BackupExport(member.id, member.userid, member.name, identity, lines)
    uow.audit(
        "data.backup_export",
        [f"member:{member.id}"],
        {"reason": reason, "backup": identity.as_dict(), "messages": sum(1 for line in lines if line.record.startswith("message:")), "unreadable": export.unreadable},
    )
    return export


def _member(uow: UnitOfWork, old: Connection, ref: int | str, identity: BackupIdentity) -> AnyRow:
    """The member in the live database; by the backup's userid when the live one no longer
    has it (an erased member's userid is pseudonymized), so the refusal can say why."""
    try:
        return repo.member_ref(uow.conn, uow.tenant_id, ref)
    except NotFound:
        if not isinstance(ref, str):
            raise
        found = old.execute(select(members.c.id).where(members.c.tenant_id == uow.tenant_id, members.c.userid == ref).order_by(members.c.id.desc()).limit(1)).scalar()
        if found is None:
            raise
        return repo.member_by_id(uow.conn, uow.tenant_id, found)


def _refuse_erased(conn: Connection, tid: int, member: AnyRow, userid: str) -> None:
    """R-LAW-1 wins: a member whose erasure was asked for (done, or waiting for a hold or the
    retention) does not get their personal data back from a backup."""
    request_id = conn.execute(
        select(erasure_requests.c.id)
        .join(erasure_steps, (erasure_steps.c.tenant_id == erasure_requests.c.tenant_id) & (erasure_steps.c.request_id == erasure_requests.c.id))
        .where(erasure_requests.c.tenant_id == tid, erasure_requests.c.member_id == member.id, erasure_steps.c.step.in_([s.value for s in ERASING]))
        .order_by(erasure_requests.c.id)
        .limit(1)
    ).scalar()
    if request_id is not None:
        raise error(
            Conflict,
            "member_erased",
            "The personal data of {userid} is erased at their request (erasure request {id}); an erased member's data is not brought back from a backup (R-LAW-1).",
            userid=userid,  # as asked for: the live one is pseudonymized by the erasure
            id=request_id,
        )


def _sealer(uow: UnitOfWork, old: Connection, member_id: int, identity: BackupIdentity) -> Sealer:
    """The member's data key, from the backup's wrap, else from the live one (the same key,
    re-wrapped by a rotation since); the live key vault unwraps either."""
    tid = uow.tenant_id
    if uow.vault is None:
        raise error(Conflict, "no_key_vault_to_open", "These services have no key vault, so sealed records cannot be opened; start them with the key file that sealed them (OFFBOARD_KEY_FILE).")
    wraps = [r for conn in (old, uow.conn) if (r := conn.execute(select(member_data_keys).where(member_data_keys.c.tenant_id == tid, member_data_keys.c.member_id == member_id)).first())]
    for row in wraps:
        try:
            return Sealer(uow.vault.unwrap(WrappedKey(row.region, row.kek_id, row.wrapped), data_key_binding(tid, member_id)), tid, member_id)
        except KeyVaultError:
            continue
    raise error(
        Conflict,
        "backup_key_unavailable",
        "The data key of these records in the backup {location} is wrapped by key {key_id}, which the key file no longer holds; restore the key file that held it from its backup and try again.",
        location=identity.location,
        key_id=wraps[0].kek_id if wraps else "—",
    )


def _read(uow: UnitOfWork, old: Connection, held: AnyRow, identity: BackupIdentity) -> list[BackupLine]:
    rows = old.execute(
        select(messages.c.id, messages.c.conversation, messages.c.sent_at, messages.c.body, messages.c.sealed_body)
        .where(messages.c.tenant_id == uow.tenant_id, messages.c.author_id == held.id)
        .order_by(messages.c.id)
    ).all()
    sealed = held.sealed_profile is not None or any(r.sealed_body is not None for r in rows)
    sealer = _sealer(uow, old, held.id, identity) if sealed else None
    plain = {f: getattr(held, f) for f in PROFILE_FIELDS}
    profile = {"userid": held.userid, "name": held.name, **plain}
    lines = []
    if held.sealed_profile is None:
        lines.append(BackupLine("profile", None, profile))
    else:
        assert sealer is not None
        try:
            lines.append(BackupLine("profile", None, {**profile, **json.loads(sealer.open("profile", held.sealed_profile))}))
        except SealBroken as exc:
            lines.append(BackupLine("profile", None, None, exc.render("en")))
    for r in rows:
        record = f"message:{r.id}"
        if r.sealed_body is None:
            lines.append(BackupLine(record, r.sent_at, {"id": r.id, "conversation": r.conversation, "body": r.body}))
            continue
        assert sealer is not None
        try:
            lines.append(BackupLine(record, r.sent_at, {"id": r.id, "conversation": r.conversation, "body": sealer.open(record, r.sealed_body).decode()}))
        except SealBroken as exc:
            lines.append(BackupLine(record, r.sent_at, None, exc.render("en")))
    return lines
