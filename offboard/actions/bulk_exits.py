"""Bulk exits (R-EXIT-7): a file of departures planned together, confirmed, then run a batch
at a time, each batch one transaction.

Planning reads every fact for the whole file with a statement per fact (offboard.store.
bulk_planning) and resolves each leaver with the same rules as a single exit, where a member
named as an acceptor who leaves in the same file is passed over for the next rule (R-ORG-4).
Its result is stored: a row per line with its outcome, a route per leaver and resource kind,
and the batches. A batch plans its leavers again when anything was recorded in the enterprise
since the plan was last known good (every change writes an audit event, INV-5; the job keeps
the audit seq after its own last transaction while none came between, `jobs.audit_mark`): a
leaver whose plan changed, or is now blocked, fails on its own with the reason, and the others
go on. What a batch does is set-based: a multi-row insert of exits and steps,
one access cut per kind of access, one INSERT ... SELECT of ledger rows and one update per
outcome per resource kind, and the audit events a single exit writes, per exit and kind
(SPEC §8). A batch claims itself and is marked done in its own transaction, so after a crash
it is done entirely or not at all, and a restarted worker takes it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from offboard.actions.context import UnitOfWork, resolve_actor
from offboard.actions import exit_request_moves, webhooks
from offboard.domain import validation as v
from offboard.domain.authz import OPERATOR, Action, Actor, allowed, default_trigger
from offboard.domain.bulk_file import Departure, Departures, Problem
from offboard.domain.errors import Conflict, NotFound, Term, ValidationError, error
from offboard.domain.lifecycle import check_effective_at, restore_deadline
from offboard.domain.org import covered, reports_first
from offboard.domain.planning import Choices, ExitPlan, Issue, plan_exit
from offboard.domain.vocabulary import DepartmentStatus, ExitState, ExitType, JobState, MemberStatus, ReasonCategory, ResourceKind, RowStatus, StepKind
from offboard.store import access_cut, bulk_moves, bulk_planning, ids, statistics
from offboard.store.id_lists import among_ids
from offboard.store.driver_rows import insert_rows, update_rows
from offboard.store.org import _lock_in_id_order
from offboard.store.tables import bulk_exit_routes, bulk_exit_rows, departments, exit_steps, exits, job_batches, jobs, member_departments, members, tenants, transfer_ledger
from offboard.store.transfers import apply_moves

R = bulk_exit_rows
RT = bulk_exit_routes
BATCH_SIZE = 500
KIND = "bulk_exit"


@dataclass(frozen=True)
class Defaults:
    """What a line leaves out: the file's common type, reason and leave date."""

    type: str = ExitType.REMOVAL.value
    reason_category: str | None = None
    reason: str | None = None


def _problem(code: str, template: str, **params: Any) -> list[dict[str, Any]]:
    return [Problem(code, template, params).as_dict()]


def _issues(items: tuple[Issue, ...]) -> list[dict[str, Any]]:
    return [i.as_dict() for i in items]


def create(uow: UnitOfWork, departures: Departures, source: str, defaults: Defaults = Defaults(), batch_size: int = BATCH_SIZE) -> int:
    """Read and plan a file of departures: a job in state `planned`, nothing else changed."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    uow.require(Action.START_REMOVAL)
    if not departures.lines:
        raise error(ValidationError, "file_empty", "The file is empty; it needs a header line and one line per departure.")
    if defaults.reason_category is not None:  # the file's common value is checked as a line's is
        v.choice(defaults.reason_category, ReasonCategory, "reason category")
    checked_at = _audit_seq(conn, tid)  # every fact of the plan is read after this
    refs = {d.userid for d in departures.lines if d.problem is None}
    refs |= {d.successor for d in departures.lines if d.successor}
    refs |= {u for d in departures.lines for u in d.acceptors.values()}
    found = bulk_planning.members_by_userid(conn, tid, refs)
    job_id = ids.next_id(conn, jobs, tid)
    actor_member = uow.actor.member_id if uow.actor.kind == "member" else None
    conn.execute(
        insert(jobs).values(
            tenant_id=tid,
            id=job_id,
            kind=KIND,
            state=JobState.PLANNED,
            source=source[:255],
            actor=uow.actor.audit_id,
            actor_member_id=actor_member,
            total=len(departures.lines),
            counts={},
            batch_size=batch_size,
            created_at=now,
            updated_at=now,
        )
    )
    _keep_mark(uow, job_id, checked_at)
    named: dict[int, set[int]] = {}
    lines = [_resolve_line(uow, d, found, defaults, named) for d in departures.lines]
    insert_rows(conn, R, [{"tenant_id": tid, "job_id": job_id, **line} for line in lines])
    counts = _plan(uow, job_id, named, batch_size, replan=False)
    uow.audit("bulk_exit.planned", [f"job:{job_id}"], {"name": source[:255], "count": len(lines), "counts": counts, "encoding": departures.encoding})
    return job_id


def _resolve_line(uow: UnitOfWork, d: Departure, found: Mapping[str, Any], defaults: Defaults, named: dict[int, set[int]]) -> dict[str, Any]:
    """A line as a row: its member and the people it names, or what is wrong with it."""
    row: dict[str, Any] = {
        "row_no": d.row_no,
        "userid": d.userid[:64] or "—",
        "member_id": None,
        "type": d.type or defaults.type,
        "reason_category": d.reason_category or defaults.reason_category,
        "reason": d.reason or defaults.reason,
        "successor_id": None,
        "acceptors": {},
        "effective_at": d.effective_at,
        "batch_no": None,
        "status": RowStatus.INVALID.value,
        "issues": [],
        "warnings": [],
        "exit_id": None,
    }
    if d.problem is not None:
        row["issues"] = [d.problem.as_dict()]
        return row
    missing = [u for u in (d.userid, d.successor, *d.acceptors.values()) if u and u not in found]
    if missing:
        row["issues"] = _problem("member_not_found", "No member with userid {userid!r} in this enterprise.", userid=missing[0])
        return row
    if not row["reason_category"] or not row["reason"]:
        row["issues"] = _problem("reason_required", "Give the reason for the exit (1-2000 characters).")
        return row
    member = found[d.userid]
    if d.effective_at is not None:
        try:
            row["effective_at"] = check_effective_at(d.effective_at, uow.now, max(uow.tenant.created_at, member.created_at))
        except ValidationError as exc:
            row["issues"] = [Problem.of(exc).as_dict()]
            return row
    row["member_id"] = member.id
    row["successor_id"] = found[d.successor].id if d.successor else None
    row["acceptors"] = {kind: found[ref].id for kind, ref in sorted(d.acceptors.items())}
    row["status"] = RowStatus.READY.value
    named[member.id] = {p for p in (row["successor_id"], *row["acceptors"].values()) if p is not None}
    return row


def _choices(row: Any) -> Choices:
    return Choices.from_dict({"successor_id": row.successor_id, "acceptors": row.acceptors})


def _refusal(actor: Actor, row: Any, facts: bulk_planning.Facts) -> list[dict[str, Any]] | None:
    """Why this actor may not remove this member now, before any plan: as the single exit's checks."""
    target = facts.targets[row.member_id]
    action = Action.VOLUNTARY_EXIT if row.type == ExitType.VOLUNTARY else Action.START_REMOVAL
    if not allowed(actor, action, target):
        return _problem("forbidden", "You may not {action} here; ask a super admin or an admin whose scope covers this member.", action=Term("action", action.value))
    existing = facts.open_exits.get(row.member_id)
    if existing is not None:
        return _problem("exit_exists", "{userid} already has an exit ({state}, id {id}).", userid=row.userid, state=Term("exit_state", existing.state), id=existing.id)
    return None


def _plan(uow: UnitOfWork, job_id: int, named: Mapping[int, set[int]], batch_size: int, *, replan: bool, batch_no: int | None = None, only: Sequence[int] | None = None) -> dict[str, int]:
    """Plan the job's ready rows (or one batch's): each row ready with its routes, or blocked.
    With `replan`, a row whose routes differ from the stored ones fails (plan_stale)."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    where = [R.c.tenant_id == tid, R.c.job_id == job_id, R.c.status == RowStatus.READY]
    if batch_no is not None:
        where.append(R.c.batch_no == batch_no)
    if only is not None:
        where.append(R.c.member_id.in_(list(only)))
    rows = conn.execute(select(R).where(*where).order_by(R.c.row_no)).all()
    if not rows:
        return {} if replan else _recount(conn, tid, job_id, now)
    leaving = {r.member_id for r in rows}
    if replan:
        # The people this batch's plans turn on (the named, the managers) who leave in this job,
        # whichever batch they are in, are passed over again as they were when it was planned.
        named = {r.member_id: {p for p in (r.successor_id, *r.acceptors.values()) if p is not None} for r in rows}
        leaving |= _leaving_in_job(conn, tid, job_id, set().union(*named.values(), _managers(conn, tid, leaving)))
    facts = bulk_planning.read(conn, uow.tenant, job_id, dict(named), now, leaving, batch_no=batch_no)
    stored = _stored_routes(conn, tid, job_id, batch_no) if replan else {}
    outcome: dict[int, dict[str, Any]] = {}
    routes: list[dict[str, Any]] = []
    ready = 0
    if not replan:  # batches in this order: a manager's no earlier than their leaving reports'
        height = reports_first({m: leaver.manager_id for m, leaver in facts.leavers.items()})
        rows = sorted(rows, key=lambda r: (height.get(r.member_id, 0), r.row_no))
    for row in rows:
        refusal = _refusal(uow.actor, row, facts)
        if refusal is not None:
            outcome[row.row_no] = {"status": RowStatus.FAILED if replan else RowStatus.BLOCKED, "issues": refusal}
            continue
        snapshot = facts.snapshots[row.member_id]
        plan = plan_exit(snapshot, _choices(row), leaving)
        if plan.blockers:
            outcome[row.row_no] = {"status": RowStatus.FAILED if replan else RowStatus.BLOCKED, "issues": _issues(plan.blockers), "warnings": _issues(plan.warnings)}
            continue
        batch = batch_no if replan else ready // batch_size
        mine = _routes(plan, snapshot, leaving, job_id, batch if batch is not None else 0, tid)
        if replan and {(r["kind"], r["destination"], r["acceptor_id"], r["state"]) for r in mine} != stored.get(row.member_id, set()):
            outcome[row.row_no] = {"status": RowStatus.FAILED, "issues": _problem("plan_stale", "The data changed since the file was planned; plan {userid} again.", userid=row.userid)}
            continue
        ready += 1
        if not replan:
            routes.extend(mine)
            outcome[row.row_no] = {"status": RowStatus.READY, "batch_no": batch, "warnings": _issues(plan.warnings)}
    if replan:
        _write_outcomes(conn, tid, job_id, outcome)
    else:
        _rewrite_rows(conn, tid, job_id, rows, outcome)
        insert_rows(conn, RT, routes)
        batches = (ready + batch_size - 1) // batch_size
        if batches:
            conn.execute(insert(job_batches), [{"tenant_id": tid, "job_id": job_id, "batch_no": n, "state": "pending", "rows": min(batch_size, ready - n * batch_size)} for n in range(batches)])
    # A batch's new counts are written when it is done (_finish_if_done): the job's row is the
    # last a batch locks, after the departments, so that batches of one job running side by side
    # take their locks in the same order.
    return {} if replan else _recount(conn, tid, job_id, now)


def _routes(plan: ExitPlan, snapshot: Any, leaving: set[int], job_id: int, batch_no: int, tenant_id: int) -> list[dict[str, Any]]:
    manager = snapshot.manager
    fallback = manager.member_id if manager is not None and manager.status == MemberStatus.ACTIVE and manager.member_id not in leaving else None
    return [
        {
            "tenant_id": tenant_id,
            "job_id": job_id,
            "member_id": plan.member_id,
            "kind": k.kind.value,
            "batch_no": batch_no,
            "destination": k.destination,
            "acceptor_id": k.acceptor_id,
            "state": k.state.value,
            "reason": k.reason,
            "count": k.count,
            "self_fallback": fallback if k.kind == ResourceKind.DIRECT_REPORT else None,
        }
        for k in plan.kinds
    ]


def _stored_routes(conn: Connection, tenant_id: int, job_id: int, batch_no: int | None) -> dict[int, set[tuple[Any, ...]]]:
    result: dict[int, set[tuple[Any, ...]]] = {}
    query = select(RT.c.member_id, RT.c.kind, RT.c.destination, RT.c.acceptor_id, RT.c.state).where(RT.c.tenant_id == tenant_id, RT.c.job_id == job_id)
    if batch_no is not None:
        query = query.where(RT.c.batch_no == batch_no)
    for member_id, *route in conn.execute(query):
        result.setdefault(member_id, set()).add(tuple(route))
    return result


def _managers(conn: Connection, tenant_id: int, member_ids: set[int]) -> set[int]:
    ordered = sorted(member_ids)
    found: set[int] = set()
    for start in range(0, len(ordered), bulk_planning.CHUNK):
        chunk = ordered[start : start + bulk_planning.CHUNK]
        found.update(conn.execute(select(members.c.manager_id).where(members.c.tenant_id == tenant_id, members.c.id.in_(chunk), members.c.manager_id.is_not(None))).scalars())
    return found


def _leaving_in_job(conn: Connection, tenant_id: int, job_id: int, among: set[int]) -> set[int]:
    """Who of `among` leaves in this job (ready, or exited or scheduled by an earlier batch)."""
    if not among:
        return set()
    statuses = [RowStatus.READY.value, RowStatus.EXITED.value, RowStatus.SCHEDULED.value]
    found: set[int] = set()
    ordered = sorted(among)
    for start in range(0, len(ordered), bulk_planning.CHUNK):
        chunk = ordered[start : start + bulk_planning.CHUNK]
        found.update(conn.execute(select(R.c.member_id).where(R.c.tenant_id == tenant_id, R.c.job_id == job_id, R.c.status.in_(statuses), R.c.member_id.in_(chunk))).scalars())
    return found


def _write_outcomes(conn: Connection, tenant_id: int, job_id: int, outcome: Mapping[int, Mapping[str, Any]]) -> None:
    """The rows' new outcomes: one UPDATE joined to them."""
    update_rows(conn, R, ("tenant_id", "job_id", "row_no"), [{"tenant_id": tenant_id, "job_id": job_id, "row_no": n, **_outcome_columns(o)} for n, o in outcome.items()])


def _rewrite_rows(conn: Connection, tenant_id: int, job_id: int, rows: Sequence[Any], outcome: Mapping[int, Mapping[str, Any]]) -> None:
    """The job's ready rows as planned, every one changed: deleted and inserted again with
    their outcomes, a multi-row insert per chunk (an UPDATE per row costs a round trip each)."""
    conn.execute(delete(R).where(R.c.tenant_id == tenant_id, R.c.job_id == job_id, R.c.status == RowStatus.READY))
    planned = [{**row._asdict(), **_outcome_columns(outcome[row.row_no])} for row in rows]
    insert_rows(conn, R, planned)


def _outcome_columns(o: Mapping[str, Any]) -> dict[str, Any]:
    status = o["status"]
    return {"status": getattr(status, "value", status), "issues": o.get("issues", []), "warnings": o.get("warnings", []), "batch_no": o.get("batch_no")}


def _recount(conn: Connection, tenant_id: int, job_id: int, now: datetime) -> dict[str, int]:
    counts = {status: n for status, n in conn.execute(select(R.c.status, func.count()).where(R.c.tenant_id == tenant_id, R.c.job_id == job_id).group_by(R.c.status))}
    conn.execute(update(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id).values(counts=counts, updated_at=now, version=jobs.c.version + 1))
    return counts


def _job(conn: Connection, tenant_id: int, job_id: int) -> Any:
    row = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id, jobs.c.kind == KIND)).first()
    if row is None:
        raise error(NotFound, "job_not_found", "No bulk job {id} in this enterprise.", id=job_id)
    return row


def _audit_seq(conn: Connection, tenant_id: int) -> int:
    seq: int = conn.execute(select(tenants.c.audit_seq).where(tenants.c.id == tenant_id)).scalar_one()
    return seq


def _keep_mark(uow: UnitOfWork, job_id: int, checked_at: int | None) -> None:
    """Once this transaction's events are appended, the job's mark is its last event if no
    other event came between `checked_at` (the tenant's audit seq when the plan was read or last
    known good; None: not known good) and its first; otherwise there is no mark, and the next
    batch plans its lines again."""

    def keep(conn: Connection, first: int, last: int) -> None:
        mark = last if checked_at is not None and first - 1 == checked_at else None
        conn.execute(update(jobs).where(jobs.c.tenant_id == uow.tenant_id, jobs.c.id == job_id).values(audit_mark=mark))

    uow.when_appended(keep)


def _planned_job(uow: UnitOfWork, job_id: int, refusal: str) -> Any:
    """The job, which must still be planned (`refusal`: the message when it is not)."""
    uow.require(Action.START_REMOVAL)
    job = _job(uow.conn, uow.tenant_id, job_id)
    if job.state != JobState.PLANNED:
        raise error(Conflict, "job_not_planned", refusal, id=job_id, state=Term("job_state", job.state))
    return job


def _set_state(uow: UnitOfWork, job_id: int, **values: Any) -> None:
    conn = uow.conn
    conn.execute(update(jobs).where(jobs.c.tenant_id == uow.tenant_id, jobs.c.id == job_id).values(updated_at=uow.now, version=jobs.c.version + 1, **values))


def confirm(uow: UnitOfWork, job_id: int) -> None:
    """Start a planned job: workers take its batches from now on."""
    job = _planned_job(uow, job_id, "Bulk job {id} is {state}; only a planned job can be confirmed.")
    now_seq = _audit_seq(uow.conn, uow.tenant_id)
    _keep_mark(uow, job_id, now_seq if job.audit_mark == now_seq else None)
    _set_state(uow, job_id, state=JobState.RUNNING, confirmed_at=uow.now)
    uow.audit("bulk_exit.confirmed", [f"job:{job_id}"], {"name": job.source, "count": job.counts.get(RowStatus.READY, 0), "counts": job.counts})
    _finish_if_done(uow, job_id)


def cancel(uow: UnitOfWork, job_id: int) -> None:
    """Drop a planned job; nothing of it ever ran."""
    job = _planned_job(uow, job_id, "Bulk job {id} is {state}; only a planned job can be cancelled.")
    _set_state(uow, job_id, state=JobState.CANCELLED, finished_at=uow.now)
    uow.audit("bulk_exit.cancelled", [f"job:{job_id}"], {"name": job.source})


def job_actor(conn: Connection, tenant_id: int, job: Any, now: datetime) -> Actor:
    """Who a job acts as when a worker runs it: its creator as they are now."""
    if job.actor_member_id is not None:
        userid = conn.execute(select(members.c.userid).where(members.c.tenant_id == tenant_id, members.c.id == job.actor_member_id)).scalar_one()
        return resolve_actor(conn, tenant_id, userid, now=now)
    if job.actor.startswith("token:"):
        return Actor(kind="service", token_id=int(job.actor.removeprefix("token:")))
    return OPERATOR


def run_batch(uow: UnitOfWork, job_id: int, batch_no: int, only: Sequence[int] | None = None) -> int:
    """Do a claimed batch (or the rows of `only` its members): plan its rows again, then exit
    (or schedule) the ready ones, set-based. The batch is done once none of its rows is ready."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    job = _job(conn, tid, job_id)
    _lock_members(conn, tid, ready_members(conn, tid, job_id, batch_no) if only is None else list(only))
    now_seq = _audit_seq(conn, tid)  # read once the leavers are locked: a change to one of them is in it
    if job.audit_mark != now_seq:  # something was recorded since the plan was last known good
        _plan(uow, job_id, {}, job.batch_size, replan=True, batch_no=batch_no, only=only)
    _keep_mark(uow, job_id, now_seq)
    where = [R.c.tenant_id == tid, R.c.job_id == job_id, R.c.batch_no == batch_no, R.c.status == RowStatus.READY]
    rows = conn.execute(select(R).where(*where, *([R.c.member_id.in_(list(only))] if only is not None else [])).order_by(R.c.member_id)).all()
    if rows:
        _execute(uow, job, batch_no, rows)
    if not conn.execute(select(func.count()).where(*where)).scalar_one():
        conn.execute(update(job_batches).where(job_batches.c.tenant_id == tid, job_batches.c.job_id == job_id, job_batches.c.batch_no == batch_no).values(state="done", done_at=now))
    _finish_if_done(uow, job_id)
    return len(rows)


def _lock_members(conn: Connection, tenant_id: int, member_ids: Sequence[int]) -> None:
    """The leavers' rows, in id order, before they are planned again (PostgreSQL; SQLite holds
    its write lock already): a single exit of one of them waits, then finds their exit."""
    if member_ids and conn.dialect.name == "postgresql":
        conn.execute(select(members.c.id).where(members.c.tenant_id == tenant_id, among_ids(conn, members.c.id, member_ids)).order_by(members.c.id).with_for_update(key_share=True))


def fail_row(uow: UnitOfWork, job_id: int, batch_no: int, member_id: int, code: str, message: str) -> None:
    """A row its batch could not do on its own (an unexpected error): failed, so the rest goes on."""
    conn, tid = uow.conn, uow.tenant_id
    issues = _problem(code, "The exit of {userid} could not be done ({detail}); the other lines went on. Plan it on its own to see why.", userid=_userid_of(conn, tid, member_id), detail=message)
    conn.execute(
        update(R).where(R.c.tenant_id == tid, R.c.job_id == job_id, R.c.batch_no == batch_no, R.c.member_id == member_id, R.c.status == RowStatus.READY).values(status=RowStatus.FAILED, issues=issues)
    )
    uow.audit("bulk_exit.line_failed", [f"job:{job_id}", f"member:{member_id}"], {"error": code})


def _userid_of(conn: Connection, tenant_id: int, member_id: int) -> str:
    userid: str = conn.execute(select(members.c.userid).where(members.c.tenant_id == tenant_id, members.c.id == member_id)).scalar_one()
    return userid


def ready_members(conn: Connection, tenant_id: int, job_id: int, batch_no: int) -> list[int]:
    return list(conn.execute(select(R.c.member_id).where(R.c.tenant_id == tenant_id, R.c.job_id == job_id, R.c.batch_no == batch_no, R.c.status == RowStatus.READY).order_by(R.c.member_id)).scalars())


def _execute(uow: UnitOfWork, job: Any, batch_no: int, rows: Sequence[Any]) -> None:
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    member_ids = [r.member_id for r in rows]
    leavers = {m.id: m for m in conn.execute(select(members.c.id, members.c.status).where(members.c.tenant_id == tid, among_ids(conn, members.c.id, member_ids)))}
    window = uow.policy.restore_window_hours
    exit_ids = ids.next_ids(conn, exits, tid, len(rows))
    immediate = [r for r in rows if r.effective_at is None or r.effective_at <= now]
    step_ids = dict(zip([r.member_id for r in immediate], ids.next_ids(conn, exit_steps, tid, len(immediate))))
    exit_of: dict[int, int] = {}
    exit_rows = []
    for row, exit_id in zip(rows, exit_ids):
        exit_of[row.member_id] = exit_id
        at_once = row.member_id in step_ids
        exit_rows.append(
            {
                "tenant_id": tid,
                "id": exit_id,
                "member_id": row.member_id,
                "state": ExitState.OPEN if at_once else ExitState.SCHEDULED,
                "type": row.type,
                "reason_category": row.reason_category,
                "reason": row.reason,
                "trigger": default_trigger(uow.actor, row.type).value,
                "requested_by": uow.actor.audit_id,
                "effective_at": now if at_once else row.effective_at,
                "successor_id": row.successor_id,
                "acceptors": {k: v for k, v in sorted(row.acceptors.items())},
                "plan_id": None,
                "plan_digest": None,
                "restore_until": restore_deadline(now, window) if at_once else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    insert_rows(conn, exits, exit_rows)
    insert_rows(
        conn, exit_steps, [{"tenant_id": tid, "id": s, "exit_id": exit_of[m], "kind": StepKind.EXIT.value, "actor": uow.actor.audit_id, "counts": {}, "created_at": now} for m, s in step_ids.items()]
    )
    _set_exits(conn, tid, job.id, rows, exit_of, step_ids)
    if not job.counts.get(RowStatus.EXITED) and not job.counts.get(RowStatus.SCHEDULED):  # the job's first batch
        statistics.analyze(conn, statistics.NAMED_BY_LEDGER_ROWS)
    for row in rows:
        member = leavers[row.member_id]
        details = {"type": row.type, "reason_category": row.reason_category, "reason": row.reason, "trigger": default_trigger(uow.actor, row.type).value, "job_id": job.id}
        if row.member_id in step_ids:
            uow.audit("exit.started", [f"member:{member.id}", f"exit:{exit_of[member.id]}"], {**details, "effective_at": now.isoformat(), "plan_id": None})
        else:
            uow.audit("exit.scheduled", [f"member:{member.id}", f"exit:{exit_of[member.id]}"], {**details, "effective_at": row.effective_at.isoformat(), "plan_id": None})
            uow.emit("exit.scheduled", exit_id=exit_of[member.id], member_id=member.id)
    if step_ids:
        _take_effect(uow, job, batch_no, [leavers[m] for m in step_ids], exit_of, step_ids, window)


def _set_exits(conn: Connection, tenant_id: int, job_id: int, rows: Sequence[Any], exit_of: Mapping[int, int], immediate: Collection[int]) -> None:
    """Each row names the exit just written for its member, and is exited or scheduled as that
    exit is: one UPDATE joined to the rows' new values."""
    exited, scheduled = RowStatus.EXITED.value, RowStatus.SCHEDULED.value
    changes = [{"tenant_id": tenant_id, "job_id": job_id, "row_no": r.row_no, "exit_id": exit_of[r.member_id], "status": exited if r.member_id in immediate else scheduled} for r in rows]
    update_rows(conn, R, ("tenant_id", "job_id", "row_no"), changes)


def _take_effect(uow: UnitOfWork, job: Any, batch_no: int, leavers: list[Any], exit_of: Mapping[int, int], step_ids: Mapping[int, int], window: int) -> None:
    """R-EXIT-1 for the batch's leavers at once: access cut, then every kind moves."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    ids_ = [m.id for m in leavers]
    conn.execute(
        update(members).where(members.c.tenant_id == tid, among_ids(conn, members.c.id, ids_)).values(status=MemberStatus.EXITED, exited_at=now, updated_at=now, version=members.c.version + 1)
    )
    cut = access_cut.cut_many(conn, tid, ids_, now)
    lost = _headcounts(conn, tid, [m for m in leavers if m.status in (MemberStatus.ACTIVE, MemberStatus.FROZEN)])
    for member in leavers:
        uow.audit("member.access_cut", [f"member:{member.id}"], {"departments": lost.get(member.id, []), "cut": cut[member.id]})
    webhooks.announce_reauthorization(uow, {m: exit_of[m] for m in ids_ if cut[m].get("app_grants")})
    exit_request_moves.after_exits(uow, ids_)  # R-POST-2: the batch's approval steps move on, one statement
    limit = uow.policy.customer_limit
    routes = {
        (r.member_id, r.kind): r
        for r in conn.execute(
            select(RT.c.member_id, RT.c.kind, RT.c.destination, RT.c.acceptor_id, RT.c.reason).where(
                RT.c.tenant_id == tid, RT.c.job_id == job.id, RT.c.batch_no == batch_no, among_ids(conn, RT.c.member_id, ids_)
            )
        ).all()
    }
    batch_steps = list(step_ids.values())
    moved_kinds = [kind for kind in ResourceKind if bulk_moves.record_batch_moves(conn, tid, job.id, batch_no, kind, ids_, limit, now)]
    present = bulk_moves.states_present(conn, tid, batch_steps) if moved_kinds else {}
    in_batch = among_ids(conn, transfer_ledger.c.step_id, batch_steps)
    for kind in moved_kinds:
        apply_moves(conn, tid, 0, kind, 0, now, steps=in_batch, states=present[kind])
    digests = bulk_moves.digests(conn, tid, batch_steps)
    _close_steps(conn, tid, {s: {k: n for k, (n, _) in digests.get(s, {}).items()} for s in step_ids.values()})
    restore_until = restore_deadline(now, window).isoformat()
    for member in leavers:
        exit_id, step_id = exit_of[member.id], step_ids[member.id]
        moved: dict[str, int] = {}
        for kind_key, (n, digest) in sorted(digests.get(step_id, {}).items()):
            route = routes[(member.id, kind_key)]
            moved[kind_key] = n
            uow.audit(
                "exit.resources_moved",
                [f"exit:{exit_id}", f"member:{member.id}"] + ([f"member:{route.acceptor_id}"] if route.acceptor_id else []),
                {"kind": kind_key, "count": n, "destination": route.destination, "reason": route.reason, "step_id": step_id, "ledger_digest": digest},
            )
        uow.audit("exit.took_effect", [f"member:{member.id}", f"exit:{exit_id}"], {"moved": moved, "restore_until": restore_until, "step_id": step_id, "job_id": job.id})
        uow.emit("member.exited", exit_id=exit_id, member_id=member.id)


def _close_steps(conn: Connection, tenant_id: int, counts: Mapping[int, Mapping[str, int]]) -> None:
    update_rows(conn, exit_steps, ("tenant_id", "id"), [{"tenant_id": tenant_id, "id": s, "counts": dict(sorted(c.items()))} for s, c in counts.items()])


def _headcounts(conn: Connection, tenant_id: int, leavers: list[Any]) -> dict[int, list[int]]:
    """R-ORG-1 for many leavers: each department loses as many as leave it, and those brought to
    zero are pending dissolution, all in one UPDATE joined to the new values. Returns each
    leaver's departments."""
    if not leavers:
        return {}
    paths: dict[int, list[str]] = {}
    for member_id, path in conn.execute(
        select(member_departments.c.member_id, departments.c.path)
        .join(departments, and_(departments.c.tenant_id == member_departments.c.tenant_id, departments.c.id == member_departments.c.department_id))
        .where(member_departments.c.tenant_id == tenant_id, among_ids(conn, member_departments.c.member_id, [m.id for m in leavers]))
    ):
        paths.setdefault(member_id, []).append(path)
    lose = {m: sorted(covered(p)) for m, p in paths.items()}
    losses: Counter[int] = Counter()
    for depts in lose.values():
        losses.update(depts)
    if not losses:
        return lose
    lost = sorted(losses)
    _lock_in_id_order(conn, tenant_id, among_ids(conn, departments.c.id, lost))
    changes = []
    for dept, headcount, status in conn.execute(
        select(departments.c.id, departments.c.headcount, departments.c.status).where(departments.c.tenant_id == tenant_id, among_ids(conn, departments.c.id, lost))
    ):
        left = headcount - losses[dept]
        dissolving = left == 0 and status == DepartmentStatus.ACTIVE
        changes.append({"tenant_id": tenant_id, "id": dept, "headcount": left, "status": DepartmentStatus.PENDING_DISSOLUTION.value if dissolving else status})
    update_rows(conn, departments, ("tenant_id", "id"), changes)
    return lose


def _finish_if_done(uow: UnitOfWork, job_id: int) -> None:
    conn, tid = uow.conn, uow.tenant_id
    counts = _recount(conn, tid, job_id, uow.now)
    pending = conn.execute(select(func.count()).where(job_batches.c.tenant_id == tid, job_batches.c.job_id == job_id, job_batches.c.state == "pending")).scalar_one()
    state, source = conn.execute(select(jobs.c.state, jobs.c.source).where(jobs.c.tenant_id == tid, jobs.c.id == job_id)).one()
    if pending == 0 and state == JobState.RUNNING:
        conn.execute(update(jobs).where(jobs.c.tenant_id == tid, jobs.c.id == job_id).values(state=JobState.DONE, finished_at=uow.now, updated_at=uow.now))
        done = counts.get(RowStatus.EXITED, 0) + counts.get(RowStatus.SCHEDULED, 0)
        uow.audit("bulk_exit.finished", [f"job:{job_id}"], {"name": source, "count": done, "counts": counts})
