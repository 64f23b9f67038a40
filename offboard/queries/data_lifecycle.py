"""A member's data under the law, as HR and auditors read it: what is kept of each record kind,
until when and why (R-LAW-2, R-DATA-1..3), the legal holds on it, and the schedule of every
erasure request (R-LAW-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from offboard.actions.members import target_of
from offboard.queries.members import in_departments, reader_scope
from offboard.domain.authz import Action, Actor, require
from offboard.domain.data_lifecycle import RecordKind
from offboard.domain.errors import NotFound, error
from offboard.domain.policy import Policy
from offboard.domain.vocabulary import ResourceKind
from offboard.store import erasure as store
from offboard.store import repo
from offboard.store.rows import AnyRow
from offboard.store.tables import (
    approval_tasks,
    attendance_records,
    calendars,
    documents,
    erasure_requests,
    erasure_steps,
    legal_holds,
    member_data_keys,
    members,
    messages,
    reimbursements,
    transfer_ledger,
)

L = transfer_ledger


@dataclass(frozen=True)
class Kept:
    kind: RecordKind
    records: int
    until: datetime | None  # None: no date (a hold, a compliant deletion, an erasure request)
    why: str  # employed | retention | file_policy | compliant_deletion | until_erasure | hold | erased
    held: bool


@dataclass(frozen=True)
class Hold:
    id: int
    kinds: list[str]  # empty: every kind
    reason: str
    placed_by: str
    placed_at: datetime
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None


@dataclass(frozen=True)
class ScheduledStep:
    step: str
    state: str  # pending | done | kept
    due_at: datetime | None
    waiting_for: str | None
    rows: int | None
    done_at: datetime | None


@dataclass(frozen=True)
class Request:
    id: int
    member_id: int
    mode: str
    scope: dict[str, Any]
    reason: str
    verified: str | None
    requested_by: str
    created_at: datetime
    state: str
    done_at: datetime | None
    steps: list[ScheduledStep] = field(default_factory=list)


@dataclass(frozen=True)
class MemberData:
    member_id: int
    userid: str
    name: str
    status: str
    region: str
    exited_at: datetime | None
    sealed_messages: int
    data_key: str  # present | destroyed | none (nothing sealed yet)
    kept: list[Kept]
    holds: list[Hold]
    requests: list[Request]


def _count(conn: Connection, query: Any) -> int:
    return int(conn.execute(query).scalar_one())


def _left_by(kind: ResourceKind, tid: int, member_id: int) -> Any:
    """The resources of this kind an exit moved from the member to no one (archived, deleted)."""
    return select(L.c.resource_id).where(L.c.tenant_id == tid, L.c.kind == kind, L.c.from_member_id == member_id, L.c.to_member_id.is_(None))


def _kept(conn: Connection, tid: int, member: AnyRow, policy: Policy, tz: str, held: frozenset[RecordKind], erased_steps: set[str]) -> list[Kept]:
    mid = member.id
    chat_until = store.chat_retained_until(conn, tid, member, policy.chat_retention_days, tz)
    D, C = documents, calendars
    counts = {
        RecordKind.CHAT: _count(conn, select(func.count()).where(messages.c.tenant_id == tid, messages.c.author_id == mid)),
        RecordKind.FILES: _count(conn, select(func.count()).where(D.c.tenant_id == tid, D.c.owner_id.is_(None), D.c.deleted_at.is_(None), D.c.id.in_(_left_by(ResourceKind.DOCUMENT, tid, mid)))),
        RecordKind.CALENDAR: _count(conn, select(func.count()).where(C.c.tenant_id == tid, C.c.owner_id.is_(None), C.c.deleted_at.is_(None), C.c.id.in_(_left_by(ResourceKind.CALENDAR, tid, mid)))),
        RecordKind.APPROVALS: _count(conn, select(func.count()).where(reimbursements.c.tenant_id == tid, reimbursements.c.member_id == mid))
        + _count(
            conn,
            select(func.count()).where(
                approval_tasks.c.tenant_id == tid, approval_tasks.c.id.in_(select(L.c.resource_id).where(L.c.tenant_id == tid, L.c.kind == ResourceKind.APPROVAL_TASK, L.c.from_member_id == mid))
            ),
        ),
        RecordKind.ATTENDANCE: _count(conn, select(func.count()).where(attendance_records.c.tenant_id == tid, attendance_records.c.member_id == mid)),
        RecordKind.PROFILE: 0 if "profile" in erased_steps else 1,
    }
    out = []
    for kind in RecordKind:
        records = counts[kind]
        if member.exited_at is None and kind != RecordKind.APPROVALS:
            out.append(Kept(kind, records, None, "hold" if kind in held else "employed", kind in held))
        elif kind in held:
            out.append(Kept(kind, records, None, "hold", True))
        elif kind == RecordKind.CHAT:
            out.append(Kept(kind, records, chat_until, "erased" if not records and "chat" in erased_steps else "retention", False))
        elif kind == RecordKind.APPROVALS:
            out.append(Kept(kind, records, None, "compliant_deletion", False))
        elif kind == RecordKind.FILES:
            out.append(Kept(kind, records, None, "erased" if "files" in erased_steps else "file_policy", False))
        else:
            out.append(Kept(kind, records, None, "erased" if kind.value in erased_steps else "until_erasure", False))
    return out


def _holds(conn: Connection, tid: int, member_id: int) -> list[Hold]:
    H = legal_holds
    rows = conn.execute(select(H).where(H.c.tenant_id == tid, H.c.member_id == member_id).order_by(H.c.id.desc()))
    return [Hold(r.id, list(r.kinds), r.reason, r.placed_by, r.placed_at, r.released_at, r.released_by, r.release_reason) for r in rows]


def requests_of(conn: Connection, tid: int, member_id: int | None = None, *, request_id: int | None = None, request_ids: list[int] | None = None) -> list[Request]:
    R, S = erasure_requests, erasure_steps
    query = select(R).where(R.c.tenant_id == tid).order_by(R.c.id.desc())
    if member_id is not None:
        query = query.where(R.c.member_id == member_id)
    if request_id is not None:
        query = query.where(R.c.id == request_id)
    if request_ids is not None:
        query = query.where(R.c.id.in_(request_ids))
    found = list(conn.execute(query))
    steps: dict[int, list[ScheduledStep]] = {r.id: [] for r in found}
    if found:
        order = {s: i for i, s in enumerate(("access", "profile", "shred", "chat", "files", "calendar", "attendance", "approvals"))}
        for s in conn.execute(select(S).where(S.c.tenant_id == tid, S.c.request_id.in_(list(steps)))):
            steps[s.request_id].append(ScheduledStep(s.step, s.state, s.due_at, s.waiting_for, s.rows, s.done_at))
        for items in steps.values():
            items.sort(key=lambda s: order.get(s.step, 99))
    return [Request(r.id, r.member_id, r.mode, dict(r.scope), r.reason, r.verified, r.requested_by, r.created_at, r.state, r.done_at, steps[r.id]) for r in found]


def member_data(conn: Connection, tenant: AnyRow, actor: Actor, ref: int | str) -> MemberData:
    """The retention view of one member (their own, or one an admin handles data requests for)."""
    tid = tenant.id
    member = repo.member_ref(conn, tid, ref)
    require(actor, Action.DATA_REQUESTS, target_of(conn, tid, member))
    policy = Policy.of(tenant.profile, tenant.policy)
    holds = _holds(conn, tid, member.id)
    requests = requests_of(conn, tid, member.id)
    erased_steps = {s.step for r in requests for s in r.steps if s.state == "done"}
    held = store.member_facts(conn, tid, member, policy.chat_retention_days, tenant.timezone).held
    sealed = _count(conn, select(func.count()).where(messages.c.tenant_id == tid, messages.c.author_id == member.id, messages.c.sealed_body.is_not(None)))
    has_key = _count(conn, select(func.count()).where(member_data_keys.c.tenant_id == tid, member_data_keys.c.member_id == member.id)) > 0
    data_key = "present" if has_key else "destroyed" if "shred" in erased_steps else "none"
    return MemberData(
        member.id,
        member.userid,
        member.name,
        member.status,
        member.region,
        member.exited_at,
        sealed,
        data_key,
        _kept(conn, tid, member, policy, tenant.timezone, held, erased_steps),
        holds,
        requests,
    )


def all_requests(conn: Connection, tenant: AnyRow, actor: Actor, *, state: str | None = None, limit: int = 200) -> list[Request]:
    """The enterprise's erasure requests, newest first (a scoped admin's: their scope's members')."""
    require(actor, Action.DATA_REQUESTS)
    R = erasure_requests
    query = select(R.c.id).where(R.c.tenant_id == tenant.id).order_by(R.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(R.c.state == state)
    scope = reader_scope(actor)
    if scope is not None:
        query = query.where(R.c.member_id.in_(select(members.c.id).where(members.c.tenant_id == tenant.id, in_departments(tenant.id, scope)))) if scope else query.where(R.c.id.is_(None))
    ids = [r.id for r in conn.execute(query)]
    found = {r.id: r for r in requests_of(conn, tenant.id, request_ids=ids)} if ids else {}
    return [found[i] for i in ids]


def one_request(conn: Connection, tenant: AnyRow, actor: Actor, request_id: int) -> Request:
    found = requests_of(conn, tenant.id, request_id=request_id)
    if not found:
        raise error(NotFound, "erasure_request_not_found", "No erasure request {id} in this enterprise.", id=request_id)
    require(actor, Action.DATA_REQUESTS, target_of(conn, tenant.id, repo.member_by_id(conn, tenant.id, found[0].member_id)))
    return found[0]
