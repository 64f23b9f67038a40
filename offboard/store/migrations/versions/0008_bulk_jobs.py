"""Bulk jobs (R-EXIT-7): `jobs`, the rows of a bulk exit file, the routes its plan resolved for
every leaver and kind, and the job's batches, each done in one transaction.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


def _fk(table: str, cols: list[str], remote: str, remote_cols: list[str]) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", *cols],
        [f"{remote}.tenant_id", *[f"{remote}.{c}" for c in remote_cols]],
        name=op.f(f"fk_{table}_tenant_id_{'_'.join(cols)}_{remote}"),
    )


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("actor_member_id", Id, nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("counts", Json, nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("confirmed_at", When, nullable=True),
        sa.Column("finished_at", When, nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_jobs_tenant_id_tenants")),
        _fk("jobs", ["actor_member_id"], "members", ["id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_tenant_state", "jobs", ["tenant_id", "state"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE jobs_id_seq")
    op.create_table(
        "bulk_exit_rows",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("job_id", Id, nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("member_id", Id, nullable=True),
        sa.Column("type", sa.String(length=16), nullable=True),
        sa.Column("reason_category", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("successor_id", Id, nullable=True),
        sa.Column("acceptors", Json, nullable=False),
        sa.Column("effective_at", When, nullable=True),
        sa.Column("batch_no", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("issues", Json, nullable=False),
        sa.Column("warnings", Json, nullable=False),
        sa.Column("exit_id", Id, nullable=True),
        _fk("bulk_exit_rows", ["job_id"], "jobs", ["id"]),
        _fk("bulk_exit_rows", ["member_id"], "members", ["id"]),
        _fk("bulk_exit_rows", ["successor_id"], "members", ["id"]),
        _fk("bulk_exit_rows", ["exit_id"], "exits", ["id"]),
        sa.PrimaryKeyConstraint("tenant_id", "job_id", "row_no", name=op.f("pk_bulk_exit_rows")),
    )
    op.create_index("ix_bulk_exit_rows_tenant_job_batch", "bulk_exit_rows", ["tenant_id", "job_id", "batch_no", "status"], unique=False)
    op.create_index("ix_bulk_exit_rows_tenant_member", "bulk_exit_rows", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "bulk_exit_routes",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("job_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=16), nullable=False),
        sa.Column("acceptor_id", Id, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("self_fallback", Id, nullable=True),
        _fk("bulk_exit_routes", ["job_id"], "jobs", ["id"]),
        _fk("bulk_exit_routes", ["member_id"], "members", ["id"]),
        _fk("bulk_exit_routes", ["acceptor_id"], "members", ["id"]),
        sa.PrimaryKeyConstraint("tenant_id", "job_id", "member_id", "kind", name=op.f("pk_bulk_exit_routes")),
    )
    op.create_index("ix_bulk_exit_routes_tenant_job_batch_kind", "bulk_exit_routes", ["tenant_id", "job_id", "batch_no", "kind"], unique=False)
    op.create_table(
        "job_batches",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("job_id", Id, nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("done_at", When, nullable=True),
        _fk("job_batches", ["job_id"], "jobs", ["id"]),
        sa.PrimaryKeyConstraint("tenant_id", "job_id", "batch_no", name=op.f("pk_job_batches")),
    )
    op.create_index("ix_job_batches_tenant_state", "job_batches", ["tenant_id", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_job_batches_tenant_state", table_name="job_batches")
    op.drop_table("job_batches")
    op.drop_index("ix_bulk_exit_routes_tenant_job_batch_kind", table_name="bulk_exit_routes")
    op.drop_table("bulk_exit_routes")
    op.drop_index("ix_bulk_exit_rows_tenant_member", table_name="bulk_exit_rows")
    op.drop_index("ix_bulk_exit_rows_tenant_job_batch", table_name="bulk_exit_rows")
    op.drop_table("bulk_exit_rows")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE jobs_id_seq")
    op.drop_index("ix_jobs_tenant_state", table_name="jobs")
    op.drop_table("jobs")
