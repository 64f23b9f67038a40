"""The ledger rows of a bulk exit's batch (R-EXIT-7, SPEC §10): for each resource kind, one
INSERT ... SELECT joining the resources to the routes the plan resolved for every leaver of the
batch, then the resource updates of offboard.store.transfers.apply_moves over every exit step
of the batch at once. The rules are those of a single exit (record_moves): first-member
fallback, a direct report who is the acceptor going to the leaver's manager, the acceptor's
customer limit (R-ORG-2), a waiting customer left untouched until the takeover."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, FromClause, and_, case, func, insert, literal, literal_column, null, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from offboard.domain.vocabulary import LedgerState, ResourceKind, StepKind
from offboard.store import ids
from offboard.store.steps import line as ledger_line
from offboard.store.tables import bulk_exit_routes, bulk_exit_rows, exit_steps, external_contacts, transfer_ledger
from offboard.store.transfers import NO_OWNER_STATES, SPECS, first_member, random_id

K = ResourceKind
L = transfer_ledger
RT = bulk_exit_routes
R = bulk_exit_rows
S = exit_steps


def record_batch_moves(conn: Connection, tenant_id: int, job_id: int, batch_no: int, kind: ResourceKind, member_ids: Collection[int], customer_limit: int, now: datetime) -> int:
    """One ledger row per resource of `kind` owned by the batch's leavers `member_ids`, each
    naming its exit's step; returns how many."""
    spec = SPECS[kind]
    t = spec.table
    owner = t.c[spec.owner]
    joined = t.join(RT, and_(RT.c.tenant_id == t.c.tenant_id, RT.c.member_id == owner, RT.c.job_id == job_id, RT.c.batch_no == batch_no, RT.c.kind == kind.value)).join(
        R, and_(R.c.tenant_id == RT.c.tenant_id, R.c.job_id == RT.c.job_id, R.c.batch_no == batch_no, R.c.member_id == RT.c.member_id)
    )
    # The exit's step, looked up by its exit through the step index: a subquery, so that no
    # join order drawn from the statistics of tables the job has only just filled scans the
    # batch's steps once per leaver.
    step = select(S.c.id).where(S.c.tenant_id == R.c.tenant_id, S.c.exit_id == R.c.exit_id, S.c.kind == StepKind.EXIT.value).scalar_subquery()
    to_expr = case((RT.c.destination == "first_member", first_member(RT.c.member_id, t)), else_=RT.c.acceptor_id)
    if kind == K.DIRECT_REPORT:
        to_expr = case((t.c.id == RT.c.acceptor_id, RT.c.self_fallback), else_=to_expr)
    inner = (
        select(
            t.c.id.label("rid"),
            t.c.version.label("ver"),
            RT.c.member_id.label("leaver"),
            R.c.exit_id.label("exit_id"),
            step.label("step_id"),
            RT.c.destination.label("destination"),
            RT.c.state.label("planned"),
            to_expr.label("to_member"),
        )
        .select_from(joined)
        .where(t.c.tenant_id == tenant_id, RT.c.member_id.in_(list(member_ids)), *spec.live(t))
        .subquery()
    )
    state_expr = case(
        (and_(inner.c.to_member.is_(None), inner.c.planned.notin_([s.value for s in NO_OWNER_STATES])), LedgerState.UNASSIGNED.value),
        else_=inner.c.planned,
    )
    source_rows: FromClause = inner
    if kind == K.EXTERNAL_CONTACT:
        # R-ORG-2: the acceptor's customers now (counted once per acceptor of the batch), plus
        # those this batch gives them, within the limit.
        acceptors = select(RT.c.acceptor_id).where(RT.c.tenant_id == tenant_id, RT.c.job_id == job_id, RT.c.batch_no == batch_no, RT.c.kind == kind.value, RT.c.acceptor_id.is_not(None))
        held = (
            select(external_contacts.c.owner_id.label("holder"), func.count().label("n"))
            .where(external_contacts.c.tenant_id == tenant_id, external_contacts.c.owner_id.in_(acceptors))
            .group_by(external_contacts.c.owner_id)
            .subquery()
        )
        rank = func.row_number().over(partition_by=inner.c.to_member, order_by=(inner.c.leaver, inner.c.rid))
        over = rank + func.coalesce(held.c.n, 0) > customer_limit
        state_expr = case((and_(inner.c.destination == "member", inner.c.to_member.is_not(None), over), LedgerState.ACCEPTOR_FULL.value), else_=state_expr)
        source_rows = inner.outerjoin(held, held.c.holder == inner.c.to_member)
    staged = select(inner, state_expr.label("st")).select_from(source_rows).subquery()
    unchanged = and_(staged.c.st == LedgerState.WAITING.value, literal(kind.value) == K.EXTERNAL_CONTACT.value)
    source = select(
        literal(tenant_id),
        ids.id_column(conn, L, tenant_id, staged.c.rid),
        staged.c.exit_id,
        literal(kind.value),
        staged.c.rid,
        staged.c.leaver,
        case((staged.c.st.in_([s.value for s in NO_OWNER_STATES]), null()), else_=staged.c.to_member),
        staged.c.st,
        random_id(conn),
        staged.c.ver + case((unchanged, 0), else_=1),
        literal(now, L.c.created_at.type),
        literal(now, L.c.updated_at.type),
        staged.c.step_id,
    )
    result = conn.execute(
        insert(L).from_select(
            ["tenant_id", "id", "exit_id", "kind", "resource_id", "from_member_id", "to_member_id", "state", "correlation_id", "version_after", "created_at", "updated_at", "step_id"],
            source,
        ),
        execution_options={"preserve_rowcount": True},
    )
    return result.rowcount


def digests(conn: Connection, tenant_id: int, step_ids: Collection[int], *, changed: bool = False) -> dict[int, dict[str, tuple[int, str]]]:
    """{step: {kind: (rows, digest)}} over the ledger rows the steps wrote (with `changed`: the
    rows they changed, for steps that write none, as a takeover), each digest as
    offboard.store.steps.ledger_digest computes it for one step and kind (the same lines, in the
    same order). PostgreSQL: one grouped statement, the digests computed by the server; SQLite
    (no ordered aggregate before 3.44): the lines the database builds, read in one ordered pass
    and hashed here."""
    result: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    step = L.c.changed_step_id if changed else L.c.step_id
    of_steps = and_(L.c.tenant_id == tenant_id, step.in_(list(step_ids)))
    if conn.dialect.name == "postgresql":
        text = func.string_agg(ledger_line(), aggregate_order_by(literal_column("''"), L.c.resource_id, L.c.id))
        digest = func.encode(func.sha256(func.convert_to(text, literal_column("'UTF8'"))), literal_column("'hex'"))
        for step_id, kind, n, hexdigest in conn.execute(select(step, L.c.kind, func.count(), digest).where(of_steps).group_by(step, L.c.kind)):
            result[step_id][kind] = (n, hexdigest)
        return result
    lines: dict[tuple[int, str], list[str]] = defaultdict(list)
    for step_id, kind, line in conn.execute(select(step, L.c.kind, ledger_line()).where(of_steps).order_by(step, L.c.kind, L.c.resource_id, L.c.id)):
        lines[(step_id, kind)].append(line)
    for (step_id, kind), of_kind in lines.items():
        result[step_id][kind] = (len(of_kind), hashlib.sha256("".join(of_kind).encode()).hexdigest())
    return result


def states_present(conn: Connection, tenant_id: int, step_ids: Collection[int]) -> dict[ResourceKind, set[LedgerState]]:
    """The states the steps' ledger rows are in, by kind: one grouped statement."""
    found: dict[ResourceKind, set[LedgerState]] = defaultdict(set)
    for kind, state in conn.execute(select(L.c.kind, L.c.state).where(L.c.tenant_id == tenant_id, L.c.step_id.in_(list(step_ids))).group_by(L.c.kind, L.c.state)):
        found[ResourceKind(kind)].add(LedgerState(state))
    return found
