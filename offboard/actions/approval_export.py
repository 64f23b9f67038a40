"""Approval records export (R-DATA-3): the enterprise's approval records (the approval tasks and
the reimbursements, RecordKind.APPROVALS) are kept until a compliant deletion, and an admin
exports them as CSV or JSON, filtered by member, state and days.

Who: whoever may read the audit trail (Action.READ_AUDIT: super admins, the operator, tokens
with read_audit). The approval records are the enterprise's compliance record beside the trail,
kept for the same auditors, and an export spans every department, so a scoped admin or HR
(whose powers stop at their departments or at one member) does not take it.

Taking the export is audited (`approvals.exported`: count, format, filters, and the recorded
legal basis of an export to another data region, R-LAW-4) in a short write transaction; the
rows are then streamed from a read transaction in keyset chunks, one statement per chunk with
the people joined in, so a large enterprise never sits in memory nor holds the write lock
while a client downloads. People appear by name and userid; times are ISO 8601 in UTC with
the offset written out, as the chats export writes them; the `from`/`until` days are days of
the enterprise's time zone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, and_, exists, func, or_, select, union
from sqlalchemy.orm import aliased

from offboard.actions.context import UnitOfWork
from offboard.domain.authz import Action
from offboard.domain.cross_border import check_transfer
from offboard.domain.errors import ValidationError, error
from offboard.domain.vocabulary import LedgerState, ResourceKind
from offboard.exports.tables import csv_text
from offboard.store import repo
from offboard.store.tables import approval_tasks, approval_templates, members, reimbursements, transfer_ledger

FORMAT = "offboard-approvals/1"
FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
CHUNK = 1000
# One record per line, the same fields in both formats: the CSV header is these keys, so the
# file reads back by name whatever the reader's language.
COLUMNS = (
    "record",  # approval_task | reimbursement
    "id",
    "template",  # an approval task's template
    "title",
    "state",  # a task's status (pending, approved, ...); a reimbursement's (open, closed)
    "amount_cents",  # a reimbursement's
    "member_userid",  # a task's approver (the one it waits on, or who decided it); a reimbursement's claimant
    "member_name",
    "handed_over_from_userid",  # the approver a task was inherited from at an exit (离职继承)
    "handed_over_from_name",
    "created_at",
)
_STATE = re.compile(r"[a-z_]{1,16}")


@dataclass(frozen=True)
class Filters:
    member_id: int | None = None
    member_userid: str | None = None
    state: str | None = None
    since: datetime | None = None  # UTC, inclusive: the start of the `from` day
    before: datetime | None = None  # UTC, exclusive: the start of the day after `until`
    from_day: str | None = None
    until_day: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"member": self.member_userid, "state": self.state, "from": self.from_day, "until": self.until_day}


@dataclass(frozen=True)
class ApprovalExport:
    """A taken (and audited) export: what it holds, and how to write it."""

    tenant_id: int
    enterprise: str
    timezone: str
    format: str
    filters: Filters
    count: int  # records when it was taken
    generated_at: datetime
    task_high: int  # the newest ids when it was counted: the stream writes no record added since
    claim_high: int
    transfers: list[dict[str, str]] = field(default_factory=list)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def filename(self) -> str:
        return f"approvals-{self.enterprise}-{self.generated_at.strftime('%Y%m%d-%H%M%S')}.{self.format}"

    @property
    def content_disposition(self) -> str:
        return f"attachment; filename=\"{self.filename}\"; filename*=UTF-8''{quote(self.filename, safe='')}"

    def records(self, conn: Connection) -> Iterator[dict[str, Any]]:
        """The records, approval tasks then reimbursements, each in id order."""
        yield from _chunks(conn, lambda after: _task_query(self, after), "approval_task")
        yield from _chunks(conn, lambda after: _claim_query(self, after), "reimbursement")

    def chunks(self, conn: Connection) -> Iterator[bytes]:
        """The file, a piece at a time: CSV (UTF-8 with a byte-order mark, which is how Excel
        knows to read Chinese) or one JSON document whose `records` are written as read."""
        if self.format == "csv":
            yield from _csv_chunks(self.records(conn))
        else:
            yield from _json_chunks(self, self.records(conn))


def export_approvals(
    uow: UnitOfWork,
    *,
    fmt: str = "csv",
    member: int | str | None = None,
    state: str | None = None,
    from_day: str | None = None,
    until_day: str | None = None,
    destination: str | None = None,
    legal_basis: str | None = None,
    basis_reference: str | None = None,
) -> ApprovalExport:
    """Check, count and audit an export of the approval records; write it with `.chunks(conn)`
    from a read transaction once this one commits."""
    if fmt not in FORMATS:
        raise error(ValidationError, "unknown_export_format", "Approval records are exported as csv or json, not {format}.", format=str(fmt)[:16])
    uow.require(Action.READ_AUDIT)
    conn, tenant = uow.conn, uow.tenant
    filters = _filters(conn, tenant, member, state, from_day, until_day)
    base = ApprovalExport(tenant.id, tenant.slug, tenant.timezone, fmt, filters, 0, uow.now, _high(conn, tenant.id, approval_tasks), _high(conn, tenant.id, reimbursements))
    # R-LAW-4: a record is data of its member's region; an export leaving one needs a basis.
    to = destination or tenant.region
    transfers = [t for region in sorted(_regions(conn, base)) if (t := check_transfer(region, to, legal_basis, basis_reference)) is not None]
    count = _count(conn, base)
    targets = [f"tenant:{tenant.id}"] + ([f"member:{filters.member_id}"] if filters.member_id is not None else [])
    uow.audit("approvals.exported", targets, {"count": count, "format": fmt, "filters": filters.as_dict(), "transfers": transfers})
    return replace(base, count=count, transfers=transfers)


# --- filters ------------------------------------------------------------------------------------------


def _filters(conn: Connection, tenant: Any, member: int | str | None, state: str | None, from_day: str | None, until_day: str | None) -> Filters:
    who = repo.member_ref(conn, tenant.id, member) if member not in (None, "") else None
    if state is not None and not _STATE.fullmatch(state.strip().lower()):
        raise error(ValidationError, "invalid_state_filter", "{value!r} is not a state of an approval record (e.g. pending, approved, open, closed).", value=state[:40])
    tz = ZoneInfo(tenant.timezone)
    since = _day(from_day, "from", tz)
    until = _day(until_day, "until", tz)
    if since and until and since > until:
        raise error(ValidationError, "invalid_date_range", "The first day ({start}) is after the last one ({end}).", start=from_day, end=until_day)
    return Filters(
        member_id=who.id if who is not None else None,
        member_userid=who.userid if who is not None else None,
        state=state.strip().lower() if state else None,
        since=since,
        before=until + timedelta(days=1) if until else None,
        from_day=from_day.strip() if from_day else None,
        until_day=until_day.strip() if until_day else None,
    )


def _day(value: str | None, field_name: str, tz: ZoneInfo) -> datetime | None:
    """The start of a day (YYYY-MM-DD) of the enterprise's time zone, in UTC."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
        return datetime.combine(day, time.min, tz).astimezone(ZoneInfo("UTC"))
    except (ValueError, OverflowError):
        raise error(ValidationError, "invalid_date", "Give {field} as a day, e.g. 2026-03-31, not {value!r}.", field=field_name, value=value[:40]) from None


def _high(conn: Connection, tenant_id: int, table: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0)).where(table.c.tenant_id == tenant_id)).scalar_one())


# --- statements ---------------------------------------------------------------------------------------

T, R, L = approval_tasks, reimbursements, transfer_ledger


def _handed_over(ex: ApprovalExport) -> Any:
    """The latest done transfer of each approval task at an exit: who it came from."""
    return (
        select(L.c.from_member_id)
        .where(L.c.tenant_id == ex.tenant_id, L.c.kind == ResourceKind.APPROVAL_TASK, L.c.resource_id == T.c.id, L.c.state == LedgerState.DONE)
        .order_by(L.c.id.desc())
        .limit(1)
        .correlate(T)
        .scalar_subquery()
    )


def _task_where(ex: ApprovalExport) -> list[ColumnElement[bool]]:
    f = ex.filters
    where: list[ColumnElement[bool]] = [T.c.tenant_id == ex.tenant_id, T.c.id <= ex.task_high]
    if f.member_id is not None:
        inherited = exists().where(L.c.tenant_id == ex.tenant_id, L.c.kind == ResourceKind.APPROVAL_TASK, L.c.resource_id == T.c.id, L.c.from_member_id == f.member_id, L.c.state == LedgerState.DONE)
        where.append(or_(T.c.owner_id == f.member_id, inherited))
    return where + _common(T, f)


def _claim_where(ex: ApprovalExport) -> list[ColumnElement[bool]]:
    f = ex.filters
    where: list[ColumnElement[bool]] = [R.c.tenant_id == ex.tenant_id, R.c.id <= ex.claim_high]
    if f.member_id is not None:
        where.append(R.c.member_id == f.member_id)
    return where + _common(R, f)


def _common(table: Any, f: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.state is not None:
        where.append(table.c.status == f.state)
    if f.since is not None:
        where.append(table.c.created_at >= f.since)
    if f.before is not None:
        where.append(table.c.created_at < f.before)
    return where


def _count(conn: Connection, ex: ApprovalExport) -> int:
    tasks = select(func.count()).select_from(T).where(*_task_where(ex))
    claims = select(func.count()).select_from(R).where(*_claim_where(ex))
    return int(conn.execute(tasks).scalar_one()) + int(conn.execute(claims).scalar_one())


def _regions(conn: Connection, ex: ApprovalExport) -> set[str]:
    """The data regions of the members the records belong to."""
    owner_regions = select(members.c.region).join(T, and_(T.c.tenant_id == members.c.tenant_id, T.c.owner_id == members.c.id)).where(*_task_where(ex))
    claim_regions = select(members.c.region).join(R, and_(R.c.tenant_id == members.c.tenant_id, R.c.member_id == members.c.id)).where(*_claim_where(ex))
    return set(conn.execute(union(owner_regions, claim_regions)).scalars())


def _task_query(ex: ApprovalExport, after: int) -> Any:
    owner, source = aliased(members), aliased(members)
    handed = _handed_over(ex).label("from_id")
    inner = select(T.c.id, T.c.template_id, T.c.title, T.c.status, T.c.owner_id, T.c.created_at, handed).where(*_task_where(ex), T.c.id > after).order_by(T.c.id).limit(CHUNK).subquery()
    return (
        select(
            inner.c.id,
            approval_templates.c.name.label("template"),
            inner.c.title,
            inner.c.status,
            owner.c.userid.label("member_userid"),
            owner.c.name.label("member_name"),
            source.c.userid.label("from_userid"),
            source.c.name.label("from_name"),
            inner.c.created_at,
        )
        .select_from(inner)
        .outerjoin(approval_templates, and_(approval_templates.c.tenant_id == ex.tenant_id, approval_templates.c.id == inner.c.template_id))
        .outerjoin(owner, and_(owner.c.tenant_id == ex.tenant_id, owner.c.id == inner.c.owner_id))
        .outerjoin(source, and_(source.c.tenant_id == ex.tenant_id, source.c.id == inner.c.from_id))
        .order_by(inner.c.id)
    )


def _claim_query(ex: ApprovalExport, after: int) -> Any:
    return (
        select(R.c.id, R.c.title, R.c.status, R.c.amount_cents, members.c.userid.label("member_userid"), members.c.name.label("member_name"), R.c.created_at)
        .outerjoin(members, and_(members.c.tenant_id == R.c.tenant_id, members.c.id == R.c.member_id))
        .where(*_claim_where(ex), R.c.id > after)
        .order_by(R.c.id)
        .limit(CHUNK)
    )


def _chunks(conn: Connection, query: Any, record: str) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        rows = conn.execute(query(after)).all()
        for r in rows:
            yield _record(record, r)
        if len(rows) < CHUNK:
            return
        after = rows[-1].id


def _record(record: str, r: Any) -> dict[str, Any]:
    task = record == "approval_task"
    return {
        "record": record,
        "id": r.id,
        "template": r.template if task else None,
        "title": r.title,
        "state": r.status,
        "amount_cents": None if task else r.amount_cents,
        "member_userid": r.member_userid,
        "member_name": r.member_name,
        "handed_over_from_userid": r.from_userid if task else None,
        "handed_over_from_name": r.from_name if task else None,
        "created_at": r.created_at.isoformat(timespec="seconds"),
    }


# --- writing ------------------------------------------------------------------------------------------


def _csv_chunks(records: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    first = True
    n = 0
    for rec in records:
        writer.writerow([csv_text(rec[c]) for c in COLUMNS])
        n += 1
        if n % CHUNK == 0:
            yield _take(out, first)
            first = False
    yield _take(out, first)


def _take(out: io.StringIO, first: bool) -> bytes:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text.encode("utf-8-sig" if first else "utf-8")


def _json_chunks(ex: ApprovalExport, records: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    head = {
        "format": FORMAT,
        "enterprise": ex.enterprise,
        "timezone": ex.timezone,
        "generated_at": ex.generated_at.isoformat(timespec="seconds"),
        "filters": ex.filters.as_dict(),
    }
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "records": [').encode()
    n = 0
    parts: list[str] = []
    for rec in records:
        parts.append(("\n" if n == 0 else ",\n") + json.dumps(rec, ensure_ascii=False))
        n += 1
        if len(parts) == CHUNK:
            yield "".join(parts).encode()
            parts = []
    yield ("".join(parts) + f'\n], "count": {n}}}\n').encode()
