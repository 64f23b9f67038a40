"""Bulk jobs for a reader (R-EXIT-7): a tenant's jobs, newest first; one job's progress, the
combined plan (how many resources of each kind go where), and each line's outcome, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from offboard.actions.bulk_exits import KIND as BULK_EXIT
from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import NotFound, error
from offboard.domain.vocabulary import JobState, RowStatus
from offboard.i18n import translate
from offboard.i18n.glossary import restored
from offboard.store.tables import bulk_exit_routes, bulk_exit_rows, job_batches, jobs, members

R = bulk_exit_rows
RT = bulk_exit_routes
DONE_STATUSES = (RowStatus.EXITED, RowStatus.SCHEDULED, RowStatus.FAILED)


@dataclass(frozen=True)
class LineIssue:
    code: str
    template: str
    params: dict[str, Any]
    message: str | None = None


@dataclass(frozen=True)
class JobLine:
    row_no: int
    userid: str
    member_id: int | None
    name: str | None
    status: str
    effective_at: str | None
    exit_id: int | None
    issues: list[LineIssue]
    warnings: list[LineIssue]


@dataclass(frozen=True)
class KindTotal:
    kind: str
    route: str  # the glossary's "route": who or what receives them
    count: int


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    state: str
    source: str
    total: int
    counts: dict[str, int]
    to_do: int  # lines that run (ready when planned)
    done: int  # of those, lines finished (exited, scheduled or failed)
    batches: int
    batches_done: int
    created_at: str
    confirmed_at: str | None
    finished_at: str | None
    plan: list[KindTotal] = field(default_factory=list)
    lines: list[JobLine] = field(default_factory=list)
    lines_total: int = 0
    dry_run: bool = False  # a plan shown and not kept: the id names nothing afterwards

    @property
    def percent(self) -> int:
        return 100 if not self.to_do else int(100 * self.done / self.to_do)

    def in_language(self, locale: str) -> JobView:
        def told(issues: list[LineIssue]) -> list[LineIssue]:
            return [replace(i, message=translate(i.template, locale, **restored(i.params))) for i in issues]

        return replace(self, lines=[replace(line, issues=told(line.issues), warnings=told(line.warnings)) for line in self.lines])


@dataclass(frozen=True)
class JobListItem:
    id: int
    state: str
    source: str
    total: int
    counts: dict[str, int]
    created_at: str
    finished_at: str | None
    by: str | None  # the name of the member who created it (None: a token or the operator)


@dataclass(frozen=True)
class JobPage:
    total: int
    limit: int
    offset: int
    items: list[JobListItem]


def list_jobs(conn: Connection, tenant_id: int, actor: Actor, *, limit: int = 25, offset: int = 0) -> JobPage:
    """The tenant's bulk exits, newest first, for someone who may remove members."""
    require(actor, Action.START_REMOVAL)
    where = [jobs.c.tenant_id == tenant_id, jobs.c.kind == BULK_EXIT]
    total = conn.execute(select(func.count()).select_from(jobs).where(*where)).scalar_one()
    rows = conn.execute(
        select(jobs, members.c.name.label("by"))
        .select_from(jobs.outerjoin(members, and_(members.c.tenant_id == jobs.c.tenant_id, members.c.id == jobs.c.actor_member_id)))
        .where(*where)
        .order_by(jobs.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [JobListItem(r.id, r.state, r.source, r.total, dict(r.counts or {}), r.created_at.isoformat(), r.finished_at.isoformat() if r.finished_at else None, r.by) for r in rows]
    return JobPage(total, limit, offset, items)


def _issues(items: list[dict[str, Any]]) -> list[LineIssue]:
    return [LineIssue(i["code"], i["template"], dict(i.get("params") or {})) for i in items or []]


def show_job(conn: Connection, tenant_id: int, actor: Actor, job_id: int, *, status: str | None = None, limit: int = 100, offset: int = 0) -> JobView:
    """A job for someone who may remove members (or who created it); `status` filters the lines."""
    job = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id)).first()
    if job is None:
        raise error(NotFound, "job_not_found", "No bulk job {id} in this enterprise.", id=job_id)
    if job.actor != actor.audit_id:
        require(actor, Action.START_REMOVAL)
    counts = dict(job.counts or {})
    batches, batches_done = conn.execute(select(func.count(), func.count().filter(job_batches.c.state == "done")).where(job_batches.c.tenant_id == tenant_id, job_batches.c.job_id == job_id)).one()
    planned = job.state == JobState.PLANNED
    to_do = counts.get(RowStatus.READY, 0) + sum(counts.get(s, 0) for s in DONE_STATUSES if not planned)
    done = 0 if planned else sum(counts.get(s, 0) for s in DONE_STATUSES)
    route = case((RT.c.destination == "member", RT.c.reason), else_=RT.c.destination)
    plan = [
        KindTotal(kind, by, int(n))
        for kind, by, n in conn.execute(
            select(RT.c.kind, route, func.sum(RT.c.count))
            .join(R, and_(R.c.tenant_id == RT.c.tenant_id, R.c.job_id == RT.c.job_id, R.c.member_id == RT.c.member_id))
            .where(RT.c.tenant_id == tenant_id, RT.c.job_id == job_id, RT.c.count > 0, R.c.status.in_([RowStatus.READY, RowStatus.EXITED, RowStatus.SCHEDULED]))
            .group_by(RT.c.kind, route)
            .order_by(RT.c.kind, route)
        )
    ]
    where = [R.c.tenant_id == tenant_id, R.c.job_id == job_id]
    if status:
        where.append(R.c.status == v.choice(status, RowStatus, "status"))
    lines_total = conn.execute(select(func.count()).where(*where)).scalar_one()
    rows = conn.execute(
        select(R, members.c.name)
        .select_from(R.outerjoin(members, and_(members.c.tenant_id == R.c.tenant_id, members.c.id == R.c.member_id)))
        .where(*where)
        .order_by(R.c.row_no)
        .limit(limit)
        .offset(offset)
    )
    lines = [
        JobLine(
            r.row_no,
            r.userid,
            r.member_id,
            r.name,
            r.status,
            r.effective_at.isoformat() if r.effective_at else None,
            r.exit_id,
            _issues(r.issues),
            _issues(r.warnings),
        )
        for r in rows
    ]
    return JobView(
        id=job.id,
        kind=job.kind,
        state=job.state,
        source=job.source,
        total=job.total,
        counts=counts,
        to_do=to_do,
        done=done,
        batches=batches,
        batches_done=batches_done,
        created_at=job.created_at.isoformat(),
        confirmed_at=job.confirmed_at.isoformat() if job.confirmed_at else None,
        finished_at=job.finished_at.isoformat() if job.finished_at else None,
        plan=plan,
        lines=lines,
        lines_total=lines_total,
    )
