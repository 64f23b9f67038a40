"""Subject access (R-LAW-1): a member, also after leaving through a verified request, obtains a
machine-readable copy of the personal data held about them: their profile (a sealed one opened
with their data key), departments, roles, exits, attendance, reimbursements, app grants, devices
and erasure requests, and what is kept of their chats. Chat records stay on the enterprise
side (R-DATA-1): the copy says how many are kept and until when, not what they say.

The copy leaves the system, so it is audited; one that leaves the member's data region needs a
recorded legal basis (R-LAW-4).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.crypto.sealing import SealBroken, Sealer, data_key_binding
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.cross_border import check_transfer
from offboard.domain.errors import ValidationError, error
from offboard.interfaces import WrappedKey
from offboard.store import erasure as erasure_store
from offboard.store import repo
from offboard.store.rows import AnyRow
from offboard.store.tables import app_grants, attendance_records, devices, erasure_requests, exits, member_data_keys, messages, reimbursements

FORMAT = "offboard-subject-access/1"


def _profile(uow: UnitOfWork, member: AnyRow) -> dict[str, Any]:
    fields = {"email": member.email, "mobile": member.mobile, "title": member.title}
    if member.sealed_profile is None:
        return fields
    row = uow.conn.execute(select(member_data_keys).where(member_data_keys.c.tenant_id == uow.tenant_id, member_data_keys.c.member_id == member.id)).first()
    if row is None or uow.vault is None:
        return {**fields, "sealed": "unreadable: its data key is destroyed"}
    key = uow.vault.unwrap(WrappedKey(row.region, row.kek_id, row.wrapped), data_key_binding(uow.tenant_id, member.id))
    try:
        opened: dict[str, Any] = json.loads(Sealer(key, uow.tenant_id, member.id).open("profile", member.sealed_profile))
    except SealBroken as exc:
        return {**fields, "sealed": exc.render("en")}
    return {**fields, **opened}


def _rows(uow: UnitOfWork, table: Any, column: Any, member_id: int, *columns: str) -> list[dict[str, Any]]:
    rows = uow.conn.execute(select(*(table.c[c] for c in columns)).where(table.c.tenant_id == uow.tenant_id, column == member_id).order_by(table.c.id))
    return [{c: _plain(getattr(r, c)) for c in columns} for r in rows]


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_personal_data(
    uow: UnitOfWork, ref: int | str, *, verified: str | None = None, destination: str | None = None, legal_basis: str | None = None, basis_reference: str | None = None
) -> dict[str, Any]:
    """The member's personal data as one JSON document; audited with who asked and how they were verified."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, ref)
    uow.require(Action.DATA_REQUESTS, target_of(conn, tid, member))
    own = uow.actor.member_id == member.id
    if not own and not (verified or "").strip():
        raise error(ValidationError, "verification_required", "Say how you verified that the request comes from {name} (for example: a signed form checked against their ID).", name=member.name)
    checked = v.text(verified, "verified", max_length=500) if not own and verified else None
    transfer = check_transfer(member.region, destination, legal_basis, basis_reference)
    policy = uow.policy
    kept_until = erasure_store.chat_retained_until(conn, tid, member, policy.chat_retention_days, uow.tenant.timezone)
    count, first, last = conn.execute(select(func.count(), func.min(messages.c.sent_at), func.max(messages.c.sent_at)).where(messages.c.tenant_id == tid, messages.c.author_id == member.id)).one()
    document = {
        "format": FORMAT,
        "enterprise": uow.tenant.name,
        "generated_at": uow.now.isoformat(),
        "member": {
            "id": member.id,
            "userid": member.userid,
            "name": member.name,
            "external_id": member.external_id,
            "region": member.region,
            "status": member.status,
            "joined_at": member.created_at.isoformat(),
            "exited_at": _plain(member.exited_at),
            **_profile(uow, member),
        },
        "departments": [{"name": r.name, "path": r.path} for r in repo.member_department_rows(conn, tid, member.id)],
        "roles": [{"role": r.role, "status": r.status} for r in repo.member_roles(conn, tid, member.id)],
        "exits": _rows(uow, exits, exits.c.member_id, member.id, "id", "type", "reason_category", "state", "effective_at", "finalized_at"),
        "attendance": _rows(uow, attendance_records, attendance_records.c.member_id, member.id, "day", "check_in", "check_out"),
        "reimbursements": _rows(uow, reimbursements, reimbursements.c.member_id, member.id, "title", "amount_cents", "status", "created_at"),
        "app_grants": _rows(uow, app_grants, app_grants.c.member_id, member.id, "app_name", "scopes", "status", "granted_at", "revoked_at"),
        "devices": _rows(uow, devices, devices.c.member_id, member.id, "name", "platform", "status"),
        "chats": {
            "messages": count,
            "first_sent_at": _plain(first),
            "last_sent_at": _plain(last),
            "kept_until": _plain(kept_until),
            "note": "Chat records are the enterprise's records (R-DATA-1): kept, sealed after the exit, and read only through an audited access; their content is not part of this copy.",
        },
        "erasure_requests": _rows(uow, erasure_requests, erasure_requests.c.member_id, member.id, "id", "mode", "state", "created_at", "done_at"),
    }
    uow.audit("data.subject_access", [f"member:{member.id}"], {"own": own, "verified": checked, "transfer": transfer})
    return document
