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
from functools import cache
from itertools import groupby
from operator import itemgetter

from sqlalchemy import BigInteger, ColumnElement, Connection, FromClause, Insert, Integer, and_, bindparam, case, func, insert, literal_column, null, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from offboard.domain.vocabulary import LedgerState, ResourceKind, StepKind
from offboard.store.id_lists import among_ids, among_param, id_list
from offboard.store.steps import line as ledger_line
from offboard.store.tables import bulk_exit_routes, bulk_exit_rows, exit_steps, external_contacts, transfer_ledger
from offboard.store.transfers import NO_OWNER_STATES, SPECS, TENANT, _ledger_id, among, constant, first_member, random_id_of

K = ResourceKind
L = transfer_ledger
RT = bulk_exit_routes
R = bulk_exit_rows
S = exit_steps


def record_batch_moves(conn: Connection, tenant_id: int, job_id: int, batch_no: int, kind: ResourceKind, member_ids: Collection[int], customer_limit: int, now: datetime) -> int:
    """One ledger row per resource of `kind` owned by the batch's leavers `member_ids`, each
    naming its exit's step; returns how many."""
    dialect = conn.dialect.name
    params = {"tenant": tenant_id, "job": job_id, "batch": batch_no, "leavers": id_list(dialect, member_ids), "limit": customer_limit, "now": now}
    return conn.execute(_batch_moves(dialect, kind), params, execution_options={"preserve_rowcount": True}).rowcount


_JOB = bindparam("job", type_=BigInteger())
_BATCH = bindparam("batch", type_=Integer())
_LIMIT = bindparam("limit", type_=BigInteger())
_NOW = bindparam("now", type_=L.c.created_at.type)


@cache
def _batch_moves(dialect: str, kind: ResourceKind) -> Insert:
    """record_batch_moves's statement for `kind`, built once with bind parameters."""
    spec = SPECS[kind]
    t = spec.table
    owner = t.c[spec.owner]
    joined = t.join(RT, and_(RT.c.tenant_id == t.c.tenant_id, RT.c.member_id == owner, RT.c.job_id == _JOB, RT.c.batch_no == _BATCH, RT.c.kind == constant(kind))).join(
        R, and_(R.c.tenant_id == RT.c.tenant_id, R.c.job_id == RT.c.job_id, R.c.batch_no == _BATCH, R.c.member_id == RT.c.member_id)
    )
    # The exit's step, looked up by its exit through the step index: a subquery, so that no
    # join order drawn from the statistics of tables the job has only just filled scans the
    # batch's steps once per leaver.
    step = select(S.c.id).where(S.c.tenant_id == R.c.tenant_id, S.c.exit_id == R.c.exit_id, S.c.kind == constant(StepKind.EXIT)).scalar_subquery()
    to_expr = case((RT.c.destination == constant("first_member"), first_member(RT.c.member_id, t)), else_=RT.c.acceptor_id)
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
        .where(t.c.tenant_id == TENANT, among_param(dialect, RT.c.member_id, "leavers"), *spec.live(t))
        .subquery()
    )
    state_expr = case((and_(inner.c.to_member.is_(None), ~among(inner.c.planned, NO_OWNER_STATES)), constant(LedgerState.UNASSIGNED)), else_=inner.c.planned)
    source_rows: FromClause = inner
    bump: ColumnElement = constant(1)
    if kind == K.EXTERNAL_CONTACT:
        # R-ORG-2: the acceptor's customers now (counted once per acceptor of the batch, through
        # the owner index: joined, PostgreSQL scans every contact of the tenant), plus those this
        # batch gives them, within the limit.
        acceptors = (
            select(RT.c.acceptor_id.label("holder"))
            .where(RT.c.tenant_id == TENANT, RT.c.job_id == _JOB, RT.c.batch_no == _BATCH, RT.c.kind == constant(kind), RT.c.acceptor_id.is_not(None))
            .distinct()
            .subquery()
        )
        holding = select(func.count()).where(external_contacts.c.tenant_id == TENANT, external_contacts.c.owner_id == acceptors.c.holder).scalar_subquery()
        held = select(acceptors.c.holder, holding.label("n")).subquery()
        rank = func.row_number().over(partition_by=inner.c.to_member, order_by=(inner.c.leaver, inner.c.rid))
        over = rank + func.coalesce(held.c.n, constant(0)) > _LIMIT
        state_expr = case((and_(inner.c.destination == constant("member"), inner.c.to_member.is_not(None), over), constant(LedgerState.ACCEPTOR_FULL)), else_=state_expr)
        source_rows = inner.outerjoin(held, held.c.holder == inner.c.to_member)
    staged = select(inner, state_expr.label("st")).select_from(source_rows).subquery()
    if kind == K.EXTERNAL_CONTACT:  # a waiting customer is not touched until the takeover
        bump = case((staged.c.st == constant(LedgerState.WAITING), constant(0)), else_=constant(1))
    source = select(
        TENANT,
        _ledger_id(dialect, staged.c.rid),
        staged.c.exit_id,
        constant(kind),
        staged.c.rid,
        staged.c.leaver,
        case((among(staged.c.st, NO_OWNER_STATES), null()), else_=staged.c.to_member),
        staged.c.st,
        random_id_of(dialect),
        staged.c.ver + bump,
        _NOW,
        _NOW,
        staged.c.step_id,
    )
    return insert(L).from_select(
        ["tenant_id", "id", "exit_id", "kind", "resource_id", "from_member_id", "to_member_id", "state", "correlation_id", "version_after", "created_at", "updated_at", "step_id"],
        source,
    )


def digests(conn: Connection, tenant_id: int, step_ids: Collection[int], *, changed: bool = False) -> dict[int, dict[str, tuple[int, str]]]:
    """{step: {kind: (rows, digest)}} over the ledger rows the steps wrote (with `changed`: the
    rows they changed, for steps that write none, as a takeover), each digest as
    offboard.store.steps.ledger_digest computes it for one step and kind (the same lines, in the
    same order). PostgreSQL: one grouped statement, the digests computed by the server; SQLite
    (no ordered aggregate before 3.44): the lines the database builds, read in one ordered pass
    and hashed here."""
    result: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    step = L.c.changed_step_id if changed else L.c.step_id
    of_steps = and_(L.c.tenant_id == tenant_id, among_ids(conn, step, step_ids))
    if conn.dialect.name == "postgresql":
        text = func.string_agg(ledger_line(), aggregate_order_by(literal_column("''"), L.c.resource_id, L.c.id))
        digest = func.encode(func.sha256(func.convert_to(text, literal_column("'UTF8'"))), literal_column("'hex'"))
        for step_id, kind, n, hexdigest in conn.execute(select(step, L.c.kind, func.count(), digest).where(of_steps).group_by(step, L.c.kind)):
            result[step_id][kind] = (n, hexdigest)
        return result
    rows = conn.execute(select(step, L.c.kind, ledger_line()).where(of_steps).order_by(step, L.c.kind, L.c.resource_id, L.c.id)).all()
    for (step_id, kind), of_kind in groupby(rows, key=itemgetter(0, 1)):
        lines = [line for _, _, line in of_kind]
        result[step_id][kind] = (len(lines), hashlib.sha256("".join(lines).encode()).hexdigest())
    return result


def states_present(conn: Connection, tenant_id: int, step_ids: Collection[int]) -> dict[ResourceKind, set[LedgerState]]:
    """The states the steps' ledger rows are in, by kind: one grouped statement."""
    found: dict[ResourceKind, set[LedgerState]] = defaultdict(set)
    for kind, state in conn.execute(select(L.c.kind, L.c.state).where(L.c.tenant_id == tenant_id, among_ids(conn, L.c.step_id, step_ids)).group_by(L.c.kind, L.c.state)):
        found[ResourceKind(kind)].add(LedgerState(state))
    return found
