"""Ledger steps: an `exit_steps` row per step of an exit; every ledger row names the step that
wrote it (`step_id`, required) and the step that last changed it (`changed_step_id`).

An existing database is backfilled from what its rows show, a step per batch:
- exit and inherit: the rows an exit wrote at one time (inherit's rows name no "from");
- restore: a restored exit, at its last change (its reverted rows changed then too);
- takeover: rows changed at one time 24 h or more after they were written; result: any other
  changed row, a step each (a result changes one row);
- finalize: a finalized exit, at its finalization.
The actor is the one of the step's audit event where one is found, else who requested the exit.
A row shows only its last change, so a change a later one overwrote (a takeover reverted by a
restore) leaves no batch to find: the row names the later step, as it would have since.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)
TAKEOVER = timedelta(hours=24)
EVENT_OF_STEP = {
    "exit": "exit.took_effect",
    "inherit": "exit.inherited",
    "takeover": "transfer.taken_over",
    "result": "transfer.result",
    "restore": "exit.restored",
    "finalize": "exit.finalized",
}


def upgrade() -> None:
    op.create_table(
        "exit_steps",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("exit_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("counts", Json, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "exit_id"], ["exits.tenant_id", "exits.id"], name=op.f("fk_exit_steps_tenant_id_exit_id_exits")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exit_steps")),
    )
    op.create_index("ix_exit_steps_tenant_exit", "exit_steps", ["tenant_id", "exit_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE exit_steps_id_seq")
    with op.batch_alter_table("transfer_ledger") as batch:
        batch.add_column(sa.Column("step_id", Id, nullable=True))
        batch.add_column(sa.Column("changed_step_id", Id, nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table("transfer_ledger") as batch:
        batch.alter_column("step_id", existing_type=Id, nullable=False)
        batch.create_foreign_key(op.f("fk_transfer_ledger_tenant_id_step_id_exit_steps"), "exit_steps", ["tenant_id", "step_id"], ["tenant_id", "id"])
        batch.create_foreign_key(op.f("fk_transfer_ledger_tenant_id_changed_step_id_exit_steps"), "exit_steps", ["tenant_id", "changed_step_id"], ["tenant_id", "id"])
    op.create_index("ix_transfer_ledger_tenant_step_kind", "transfer_ledger", ["tenant_id", "step_id", "kind"], unique=False)
    op.create_index("ix_transfer_ledger_tenant_changed_step_kind", "transfer_ledger", ["tenant_id", "changed_step_id", "kind"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_transfer_ledger_tenant_changed_step_kind", table_name="transfer_ledger")
    op.drop_index("ix_transfer_ledger_tenant_step_kind", table_name="transfer_ledger")
    with op.batch_alter_table("transfer_ledger") as batch:
        batch.drop_constraint(op.f("fk_transfer_ledger_tenant_id_changed_step_id_exit_steps"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_transfer_ledger_tenant_id_step_id_exit_steps"), type_="foreignkey")
        batch.drop_column("changed_step_id")
        batch.drop_column("step_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS exit_steps_id_seq")
    op.drop_index("ix_exit_steps_tenant_exit", table_name="exit_steps")
    op.drop_table("exit_steps")


# --- the backfill: tables as they are at this revision ------------------------------------------

_ledger = sa.table(
    "transfer_ledger",
    sa.column("tenant_id", Id),
    sa.column("id", Id),
    sa.column("exit_id", Id),
    sa.column("kind", sa.String),
    sa.column("from_member_id", Id),
    sa.column("state", sa.String),
    sa.column("created_at", When),
    sa.column("updated_at", When),
    sa.column("step_id", Id),
    sa.column("changed_step_id", Id),
)
_exits = sa.table(
    "exits",
    sa.column("tenant_id", Id),
    sa.column("id", Id),
    sa.column("state", sa.String),
    sa.column("requested_by", sa.String),
    sa.column("effective_at", When),
    sa.column("updated_at", When),
    sa.column("finalized_at", When),
)
_steps = sa.table(
    "exit_steps",
    sa.column("tenant_id", Id),
    sa.column("id", Id),
    sa.column("exit_id", Id),
    sa.column("kind", sa.String),
    sa.column("actor", sa.String),
    sa.column("counts", Json),
    sa.column("created_at", When),
)
_events = sa.table("audit_events", sa.column("tenant_id", Id), sa.column("at", sa.String), sa.column("actor", sa.String), sa.column("action", sa.String), sa.column("targets", Json))


def _utc(value) -> datetime:
    """SQLite hands back naive UTC text or datetimes, PostgreSQL aware ones."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the audit core's time text


def _backfill(conn) -> None:
    """Steps in time order (ids follow it), each with the update that makes its rows name it."""
    L = _ledger
    exits = {(r.tenant_id, r.id): r for r in conn.execute(sa.select(_exits))}
    plan: list[tuple] = []  # (tenant, time, exit, kind, ledger column, rows or None)
    inherited = L.c.from_member_id.is_(None)
    for r in conn.execute(sa.select(L.c.tenant_id, L.c.exit_id, L.c.created_at, inherited.label("inherited")).group_by(L.c.tenant_id, L.c.exit_id, L.c.created_at, inherited)):
        rows = sa.and_(L.c.tenant_id == r.tenant_id, L.c.exit_id == r.exit_id, L.c.created_at == r.created_at, inherited if r.inherited else ~inherited)
        plan.append((r.tenant_id, _utc(r.created_at), r.exit_id, "inherit" if r.inherited else "exit", "step_id", rows))
    took_effect = {(t, e) for t, _, e, kind, _, _ in plan if kind == "exit"}
    changed = sa.and_(L.c.updated_at != L.c.created_at, L.c.state != "reverted")
    for r in conn.execute(sa.select(L.c.tenant_id, L.c.exit_id, L.c.updated_at, sa.func.min(L.c.created_at).label("first")).where(changed).group_by(L.c.tenant_id, L.c.exit_id, L.c.updated_at)):
        rows = sa.and_(L.c.tenant_id == r.tenant_id, L.c.exit_id == r.exit_id, L.c.updated_at == r.updated_at, changed)
        if _utc(r.updated_at) - _utc(r.first) >= TAKEOVER:
            plan.append((r.tenant_id, _utc(r.updated_at), r.exit_id, "takeover", "changed_step_id", rows))
            continue
        for row_id in conn.execute(sa.select(L.c.id).where(rows).order_by(L.c.id)).scalars():
            plan.append((r.tenant_id, _utc(r.updated_at), r.exit_id, "result", "changed_step_id", sa.and_(L.c.tenant_id == r.tenant_id, L.c.id == row_id)))
    for (tenant_id, exit_id), e in exits.items():
        if e.state in ("open", "finalized", "restored") and (tenant_id, exit_id) not in took_effect:  # an exit that moved nothing
            plan.append((tenant_id, _utc(e.effective_at), exit_id, "exit", None, None))
        if e.state == "restored":
            rows = sa.and_(L.c.tenant_id == tenant_id, L.c.exit_id == exit_id, L.c.state == "reverted")
            plan.append((tenant_id, _utc(e.updated_at), exit_id, "restore", "changed_step_id", rows))
        if e.finalized_at is not None:
            plan.append((tenant_id, _utc(e.finalized_at), exit_id, "finalize", None, None))
    if not plan:
        return
    actors = _actors(conn)
    order = list(EVENT_OF_STEP)
    next_id: dict[int, int] = defaultdict(int)
    for tenant_id, at, exit_id, kind, column, rows in sorted(plan, key=lambda p: (p[0], p[1], p[2], order.index(p[3]))):
        if conn.dialect.name == "postgresql":
            step_id = conn.execute(sa.text("SELECT nextval('exit_steps_id_seq')")).scalar_one()
        else:
            next_id[tenant_id] += 1
            step_id = next_id[tenant_id]
        actor = actors.get((tenant_id, EVENT_OF_STEP[kind], _stamp(at), exit_id)) or exits[(tenant_id, exit_id)].requested_by
        conn.execute(sa.insert(_steps).values(tenant_id=tenant_id, id=step_id, exit_id=exit_id, kind=kind, actor=actor, counts={}, created_at=at))
        if column is not None:
            conn.execute(sa.update(L).where(rows).values({column: step_id}))
    _count(conn)


def _actors(conn) -> dict[tuple, str]:
    """(tenant, action, time text, exit id) -> actor of the audit events that name an exit."""
    found = {}
    for e in conn.execute(sa.select(_events).where(_events.c.action.in_(list(EVENT_OF_STEP.values())))):
        for target in e.targets:
            if target.startswith("exit:"):
                found[(e.tenant_id, e.action, e.at, int(target[5:]))] = e.actor
    return found


def _count(conn) -> None:
    """Each step's counts: the ledger rows of each kind it wrote or changed."""
    L = _ledger
    counts: dict[tuple, dict] = defaultdict(dict)
    for column in (L.c.step_id, L.c.changed_step_id):
        for tenant_id, step_id, kind, n in conn.execute(sa.select(L.c.tenant_id, column, L.c.kind, sa.func.count()).where(column.is_not(None)).group_by(L.c.tenant_id, column, L.c.kind)):
            counts[(tenant_id, step_id)][kind] = n
    for (tenant_id, step_id), per_kind in counts.items():
        conn.execute(sa.update(_steps).where(_steps.c.tenant_id == tenant_id, _steps.c.id == step_id).values(counts=dict(sorted(per_kind.items()))))
