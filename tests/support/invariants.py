"""The invariants of SPEC §10 checked from the database alone, as lists of problems
(empty means the invariant holds), so a failing test names every violation at once."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection, and_, func, select

from offboard.domain.vocabulary import (
    DepartmentStatus,
    LedgerState,
    MemberStatus,
    ResourceKind,
    StepKind,
    TenantStatus,
)
from offboard.store import repo
from offboard.store.org import actual_headcounts
from offboard.store.tables import (
    RESOURCE_TABLES,
    api_tokens,
    departments,
    exit_steps,
    members,
    sessions,
    tenants,
    transfer_ledger,
)
from offboard.store.transfers import NO_OWNER_STATES, SPECS

L = transfer_ledger
GONE = (MemberStatus.FINALIZED.value, MemberStatus.ERASED.value)
NOT_PRESENT = (MemberStatus.EXITED.value, MemberStatus.FINALIZED.value, MemberStatus.ERASED.value)
TABLE_KINDS = tuple(ResourceKind(k) for k in RESOURCE_TABLES)


def inv_1(conn: Connection, tenant_id: int) -> list[str]:
    """A tenant that is not frozen has at least one active super admin."""
    status = conn.execute(select(tenants.c.status).where(tenants.c.id == tenant_id)).scalar_one()
    if status != TenantStatus.FROZEN and repo.active_super_admin_count(conn, tenant_id) < 1:
        return [f"tenant {tenant_id} is {status} without an active super admin"]
    return []


def inv_2(conn: Connection, tenant_id: int) -> list[str]:
    """No transferable resource is owned by a finalized or erased member. "Transferable" as the
    planner counts it: a decided approval task keeps its approver as history, and a departed
    direct report is no longer one."""
    problems = []
    for kind, spec in SPECS.items():
        t = spec.table
        owner = t.c[spec.owner]
        who = members.alias("owner_member")
        rows = conn.execute(select(t.c.id, owner).join(who, and_(who.c.tenant_id == t.c.tenant_id, who.c.id == owner)).where(t.c.tenant_id == tenant_id, who.c.status.in_(GONE), *spec.live(t))).all()
        problems += [f"{kind.value} {r[0]} is owned by departed member {r[1]}" for r in rows]
    return problems


def inv_2_exited(conn: Connection, tenant_id: int) -> list[str]:
    """An exit moves everything (R-EXIT-1, R-ORG-4): a member who left owns only what is still
    waiting to leave them (the 24 h customer transfer), never anything given to them later."""
    problems = []
    for kind, spec in SPECS.items():
        t = spec.table
        owner = t.c[spec.owner]
        who = members.alias("owner_member")
        waiting_away = select(L.c.id).where(L.c.tenant_id == t.c.tenant_id, L.c.kind == kind.value, L.c.resource_id == t.c.id, L.c.state == LedgerState.WAITING, L.c.from_member_id == owner).exists()
        rows = conn.execute(
            select(t.c.id, who.c.userid)
            .join(who, and_(who.c.tenant_id == t.c.tenant_id, who.c.id == owner))
            .where(t.c.tenant_id == tenant_id, who.c.status.in_(NOT_PRESENT), ~waiting_away, *spec.live(t))
        ).all()
        problems += [f"{kind.value} {r[0]} is owned by {r[1]}, who left, and is not waiting to leave them" for r in rows]
    return problems


def inv_3(conn: Connection, tenant_id: int) -> list[str]:
    """The ledger agrees with the resources: correlation ids are unique; per exit a resource has
    one live row (earlier ones were unassigned and superseded by an inheritance); the newest row
    of each resource of the 8 table kinds states its owner and the version it has right after
    (reverted: one more, the restore's own change); every row names the steps that wrote and
    last changed it."""
    problems = []
    rows = list(conn.execute(select(L).where(L.c.tenant_id == tenant_id).order_by(L.c.id)))
    dupes = [c for c, n in Counter(r.correlation_id for r in rows).items() if n > 1]
    problems += [f"correlation id {c} used twice" for c in dupes]
    problems += _steps_agree(conn, tenant_id, rows)
    per_exit: dict[tuple, list] = {}
    for r in rows:
        per_exit.setdefault((r.exit_id, r.kind, r.resource_id), []).append(r)
    superseded_ok = {LedgerState.UNASSIGNED.value, LedgerState.REFUSED.value, LedgerState.ACCEPTOR_FULL.value}
    for key, group in per_exit.items():
        for earlier in group[:-1]:
            if earlier.state not in superseded_ok:
                problems.append(f"exit {key[0]} {key[1]} {key[2]}: row {earlier.id} is {earlier.state} but a later row moved it again")
    newest: dict[tuple, object] = {}
    for r in rows:
        newest[(r.kind, r.resource_id)] = r  # ordered by id: the last one wins
    for kind in TABLE_KINDS:
        spec = SPECS[kind]
        t = spec.table
        current = {r.id: r for r in conn.execute(select(t).where(t.c.tenant_id == tenant_id))}
        for (k, rid), r in newest.items():
            if k != kind.value:
                continue
            res = current.get(rid)
            if res is None:
                problems.append(f"{k} {rid}: ledger row {r.id} names a missing resource")
                continue
            owner = getattr(res, spec.owner)
            if r.state == LedgerState.REVERTED:
                want_version, want_owner = r.version_after + 1, r.from_member_id
            elif r.state == LedgerState.WAITING:
                want_version, want_owner = r.version_after, r.from_member_id
            elif r.state in [s.value for s in NO_OWNER_STATES]:
                want_version, want_owner = r.version_after, None
            else:
                want_version, want_owner = r.version_after, r.to_member_id
            if res.version != want_version:
                problems.append(f"{k} {rid}: version {res.version}, ledger row {r.id} ({r.state}) says {want_version}")
            # A reverted inheritance row names no "from": its resource went back to the leaver.
            checked = want_owner is not None or r.state != LedgerState.REVERTED
            if checked and owner != want_owner:
                problems.append(f"{k} {rid}: owner {owner}, ledger row {r.id} ({r.state}) says {want_owner}")
    return problems


def _steps_agree(conn: Connection, tenant_id: int, rows: list) -> list[str]:
    """Each row names the exit or inherit step of its own exit that wrote it, once per resource,
    and the takeover, result or restore step of that exit that last changed it; a writing
    step's counts are its rows."""
    problems = []
    found = {s.id: s for s in conn.execute(select(exit_steps).where(exit_steps.c.tenant_id == tenant_id))}
    roles = (("step_id", {StepKind.EXIT, StepKind.INHERIT}), ("changed_step_id", {StepKind.TAKEOVER, StepKind.RESULT, StepKind.RESTORE}))
    for r in rows:
        for column, kinds in roles:
            step_id = getattr(r, column)
            if step_id is None and column == "changed_step_id":
                continue
            step = found.get(step_id)
            if step is None or step.exit_id != r.exit_id or step.kind not in kinds:
                problems.append(f"ledger row {r.id}: {column} {step_id} is no {'/'.join(sorted(kinds))} step of exit {r.exit_id}")
    written = Counter((r.step_id, r.kind, r.resource_id) for r in rows)
    problems += [f"step {s} wrote {n} rows for {k} {rid}" for (s, k, rid), n in written.items() if n > 1]
    per_step: dict[int, Counter] = {}
    for r in rows:
        per_step.setdefault(r.step_id, Counter())[r.kind] += 1
    for step in found.values():
        if step.kind in (StepKind.EXIT, StepKind.INHERIT) and step.counts != dict(per_step.get(step.id, {})):
            problems.append(f"step {step.id} ({step.kind}) counts {step.counts}, its rows {dict(per_step.get(step.id, {}))}")
    return problems


def inv_4(conn: Connection, tenant_id: int) -> list[str]:
    """Stored headcounts equal a recount; pending_dissolution only where the headcount is 0."""
    problems = []
    actual = actual_headcounts(conn, tenant_id)
    for r in conn.execute(select(departments).where(departments.c.tenant_id == tenant_id)):
        if r.headcount != actual[r.id]:
            problems.append(f"department {r.id}: headcount {r.headcount}, recount {actual[r.id]}")
        if r.status == DepartmentStatus.PENDING_DISSOLUTION and actual[r.id] != 0:
            problems.append(f"department {r.id} is pending dissolution with {actual[r.id]} members")
    return problems


def inv_7(conn: Connection, tenant_id: int) -> list[str]:
    """Sessions and personal tokens of members who left are revoked."""
    problems = []
    for table, name in ((sessions, "session"), (api_tokens, "token")):
        rows = conn.execute(
            select(table.c.id, members.c.userid)
            .join(members, and_(members.c.tenant_id == table.c.tenant_id, members.c.id == table.c.member_id))
            .where(table.c.tenant_id == tenant_id, members.c.status.in_(NOT_PRESENT), table.c.revoked_at.is_(None))
        ).all()
        problems += [f"{name} {r.id} of departed {r.userid} is not revoked" for r in rows]
    return problems


def all_problems(conn: Connection, tenant_id: int) -> dict[str, list[str]]:
    found = {
        "INV-1": inv_1(conn, tenant_id),
        "INV-2": inv_2(conn, tenant_id) + inv_2_exited(conn, tenant_id),
        "INV-3": inv_3(conn, tenant_id),
        "INV-4": inv_4(conn, tenant_id),
        "INV-7": inv_7(conn, tenant_id),
    }
    return {k: v for k, v in found.items() if v}


def open_exits_per_member(conn: Connection, tenant_id: int) -> dict[int, int]:
    from offboard.store.tables import exits

    rows = conn.execute(select(exits.c.member_id, func.count()).where(exits.c.tenant_id == tenant_id, exits.c.state.in_(["scheduled", "open"])).group_by(exits.c.member_id)).all()
    return dict(rows)
