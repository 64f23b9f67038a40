"""What an open checklist item counts, one by one: the devices not yet wiped or returned (item
12), the third-party grants not yet acknowledged (item 8) and the open reimbursements (item 4)
of a leaver, so IT and HR see which ones before they attest (SPEC §7). Counted by the same
predicates the checklist counts with (offboard.store.access_cut), so the list and the count agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from offboard.domain.vocabulary import ReimbursementStatus
from offboard.store import access_cut
from offboard.store.tables import app_grants, devices, reimbursements

LISTED = 50  # subjects listed per item; the count says how many more there are


@dataclass(frozen=True)
class Subject:
    name: str
    note: str  # the device's platform, the grant's scopes, the reimbursement's amount in yuan
    status: str  # a value of `status_kind`
    status_kind: str  # device_status | grant_status | reimbursement_status


@dataclass(frozen=True)
class Subjects:
    total: int
    listed: list[Subject]


def _step(name: str) -> access_cut.CutStep:
    return next(s for s in access_cut.STEPS if s.name == name)


def subjects(conn: Connection, tenant_id: int, member_id: int, now: datetime) -> dict[str, Subjects]:
    """Per checklist item key, what it still counts for the member: three small queries, each
    LISTED rows at most, and one count each."""
    found: dict[str, Subjects] = {}
    for key, table, name, note, status_kind, where in (
        ("access_revoked", devices, devices.c.name, devices.c.platform, "device_status", _step("devices").left(devices, now)),
        ("third_party_reauth", app_grants, app_grants.c.app_name, app_grants.c.scopes, "grant_status", _step("app_grants").left(app_grants, now)),
        ("reimbursements_closed", reimbursements, reimbursements.c.title, reimbursements.c.amount_cents, "reimbursement_status", reimbursements.c.status == ReimbursementStatus.OPEN),
    ):
        mine = [table.c.tenant_id == tenant_id, table.c.member_id == member_id, where]
        total = conn.execute(select(func.count()).select_from(table).where(*mine)).scalar_one()
        rows: Any = conn.execute(select(name.label("name"), note.label("note"), table.c.status).where(*mine).order_by(table.c.id).limit(LISTED)) if total else []
        listed = [Subject(r.name, _yuan(r.note) if key == "reimbursements_closed" else str(r.note or ""), r.status, status_kind) for r in rows]
        found[key] = Subjects(total, listed)
    return found


def _yuan(cents: int | None) -> str:
    return f"¥{(cents or 0) / 100:,.2f}"
