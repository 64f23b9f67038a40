"""The planner's snapshots for every leaver of a bulk exit at once (R-EXIT-7), read with a
statement per fact for the whole job, joined to its rows: one pass per resource kind, one for
roles, departments, tokens and the people named, never one plan per member."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, or_, select

from offboard.domain.authz import Target
from offboard.domain.handover import HandoverState
from offboard.domain.org import covered
from offboard.domain.planning import Person, Snapshot
from offboard.domain.policy import Policy
from offboard.domain.vocabulary import OPEN_EXIT_STATES, USERID_HOLDING_STATUSES, MemberStatus, ResourceKind, Role, RoleStatus, RowStatus, SuperAdminRank
from offboard.store import repo
from offboard.store.planning import RECENT_TOKEN_USE, local_minute, people
from offboard.store.rows import AnyRow
from offboard.store.tables import admin_handovers, api_tokens, bulk_exit_rows, departments, exits, member_departments, members, roles
from offboard.store.transfers import SPECS, among

R = bulk_exit_rows
CHUNK = 5000


def members_by_userid(conn: Connection, tenant_id: int, userids: Iterable[str]) -> dict[str, AnyRow]:
    """The live member of each userid (as repo.member_by_userid), a chunk of userids per query."""
    wanted = sorted(set(userids))
    found: dict[str, AnyRow] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = conn.execute(
            select(members.c.id, members.c.userid, members.c.status, members.c.created_at).where(
                members.c.tenant_id == tenant_id, members.c.userid.in_(chunk), members.c.status.in_([s.value for s in USERID_HOLDING_STATUSES])
            )
        )
        for row in rows:
            found[row.userid] = row
    return found


@dataclass(frozen=True)
class Facts:
    """What a bulk plan reads about its leavers, each fact by member id."""

    leavers: dict[int, AnyRow]
    snapshots: dict[int, Snapshot]
    targets: dict[int, Target]
    open_exits: dict[int, AnyRow]


def read(conn: Connection, tenant: AnyRow, job_id: int, named: dict[int, Set[int]], now: datetime, leaving: Set[int], batch_no: int | None = None) -> Facts:
    """Snapshots of the members of the job's ready rows (of one batch, with `batch_no`), as
    offboard.store.planning.snapshot reads one: `named` gives the people each leaver's row
    names, `leaving` who leaves in the same job."""
    tid = tenant.id

    def _in_job(column) -> list:
        where = [R.c.tenant_id == tid, R.c.job_id == job_id, R.c.member_id == column, R.c.status == RowStatus.READY.value]
        return where if batch_no is None else [*where, R.c.batch_no == batch_no]

    on_rows = and_(*_in_job(members.c.id))
    leaver_columns = (members.c.id, members.c.userid, members.c.status, members.c.manager_id)
    leavers = {r.id: r for r in conn.execute(select(*leaver_columns).join(R, on_rows).where(members.c.tenant_id == tid))}
    owned: dict[int, dict[ResourceKind, int]] = defaultdict(dict)
    for kind, spec in SPECS.items():
        t = spec.table
        owner = t.c[spec.owner]
        rows = conn.execute(select(owner, func.count()).join(R, and_(*_in_job(owner))).where(t.c.tenant_id == tid, *spec.live(t)).group_by(owner))
        for member_id, n in rows:
            owned[member_id][kind] = n
    role_rows = conn.execute(select(roles.c.member_id, roles.c.role).join(R, and_(*_in_job(roles.c.member_id))).where(roles.c.tenant_id == tid, roles.c.status == RoleStatus.ACTIVE)).all()
    super_admins = {m for m, role in role_rows if role == Role.SUPER_ADMIN}
    admins = {m for m, role in role_rows if role in (Role.SUPER_ADMIN, Role.ADMIN)}
    backups = set(
        conn.execute(
            select(roles.c.member_id)
            .join(members, and_(members.c.tenant_id == roles.c.tenant_id, members.c.id == roles.c.member_id))
            .where(
                roles.c.tenant_id == tid,
                roles.c.role == Role.SUPER_ADMIN,
                roles.c.rank == SuperAdminRank.BACKUP,
                roles.c.status == RoleStatus.ACTIVE,
                members.c.status == MemberStatus.ACTIVE,
            )
        ).scalars()
    )
    super_count = repo.active_super_admin_count(conn, tid)
    paths: dict[int, list[str]] = defaultdict(list)
    dept_rows = conn.execute(
        select(member_departments.c.member_id, departments.c.path)
        .join(departments, and_(departments.c.tenant_id == member_departments.c.tenant_id, departments.c.id == member_departments.c.department_id))
        .join(R, and_(*_in_job(member_departments.c.member_id)))
        .where(member_departments.c.tenant_id == tid)
        .order_by(member_departments.c.member_id, member_departments.c.is_primary.desc(), departments.c.path)
    )
    for member_id, path in dept_rows:
        paths[member_id].append(path)
    emptied = _emptied(conn, tid, {m: paths[m] for m in leavers if m in leaving and leavers[m].status in (MemberStatus.ACTIVE, MemberStatus.FROZEN)})
    tokens: dict[int, int] = dict(
        conn.execute(
            select(api_tokens.c.member_id, func.count())
            .join(R, and_(*_in_job(api_tokens.c.member_id)))
            .where(api_tokens.c.tenant_id == tid, api_tokens.c.revoked_at.is_(None), api_tokens.c.last_used_at >= now - RECENT_TOKEN_USE)
            .group_by(api_tokens.c.member_id)
        ).all()
    )
    open_exits = {
        r.member_id: r
        for r in conn.execute(select(exits.c.member_id, exits.c.id, exits.c.state).join(R, and_(*_in_job(exits.c.member_id))).where(exits.c.tenant_id == tid, among(exits.c.state, OPEN_EXIT_STATES)))
    }
    wanted = set().union(*named.values()) if named else set()
    wanted |= {m.manager_id for m in leavers.values() if m.manager_id}
    found = _people(conn, tid, wanted, leaving)
    pending_to, window_until = _handovers(conn, tid, now)
    policy = Policy.of(tenant.profile, tenant.policy)
    snapshots = {}
    for member_id, m in leavers.items():
        snapshots[member_id] = Snapshot(
            member_id=member_id,
            userid=m.userid,
            status=m.status,
            holds_super_admin=member_id in super_admins,
            active_super_admins=super_count,
            has_backup_super_admin=bool(backups - {member_id}),
            manager=found.get(m.manager_id) if m.manager_id else None,
            owned=owned.get(member_id, {}),
            people={k: found[k] for k in named.get(member_id, ()) if k in found},
            emptied_departments=tuple(emptied.get(member_id, ())),
            recent_personal_tokens=tokens.get(member_id, 0),
            handover_pending_to=pending_to.get(member_id),
            emergency_until=local_minute(window_until.get(member_id), tenant.timezone),
            policy=policy,
        )
    targets = {m: Target(member_id=m, department_paths=tuple(paths[m]), is_admin=m in admins) for m in leavers}
    return Facts(leavers, snapshots, targets, open_exits)


def _handovers(conn: Connection, tenant_id: int, now: datetime) -> tuple[dict[int, str], dict[int, datetime]]:
    """The enterprise's live handovers, a handful at most (R-ADM-1, R-ADM-2), by old super admin:
    the successor a pending one waits for, and the end of an open emergency window."""
    H = admin_handovers
    rows = conn.execute(
        select(H.c.from_member_id, H.c.state, H.c.window_until, members.c.userid)
        .join(members, and_(members.c.tenant_id == H.c.tenant_id, members.c.id == H.c.to_member_id))
        .where(
            H.c.tenant_id == tenant_id,
            or_(H.c.state == HandoverState.PENDING, and_(H.c.state == HandoverState.COMPLETED, H.c.window_closed_at.is_(None), H.c.window_until > now)),
        )
    ).all()
    pending = {r.from_member_id: r.userid for r in rows if r.state == HandoverState.PENDING}
    windows = {r.from_member_id: r.window_until for r in rows if r.state == HandoverState.COMPLETED}
    return pending, windows


def _people(conn: Connection, tenant_id: int, ids: Set[int], leaving: Set[int]) -> dict[int, Person]:
    ordered: Sequence[int] = sorted(ids)
    found: dict[int, Person] = {}
    for start in range(0, len(ordered), CHUNK):
        found.update(people(conn, tenant_id, ordered[start : start + CHUNK], leaving))
    return found


def _emptied(conn: Connection, tenant_id: int, paths: dict[int, list[str]]) -> dict[int, list[str]]:
    """The departments the batch brings to zero, by each leaver who counts in them (R-ORG-1)."""
    losses: Counter[int] = Counter()
    covers = {m: covered(p) for m, p in paths.items()}
    for ids in covers.values():
        losses.update(ids)
    if not losses:
        return {}
    zero: dict[int, str] = {}
    ordered = sorted(losses)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        for dept_id, name, headcount in conn.execute(select(departments.c.id, departments.c.name, departments.c.headcount).where(departments.c.tenant_id == tenant_id, departments.c.id.in_(chunk))):
            if headcount - losses[dept_id] <= 0:
                zero[dept_id] = name
    return {m: sorted(zero[d] for d in ids if d in zero) for m, ids in covers.items() if ids & zero.keys()}
