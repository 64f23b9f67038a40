"""Exit requests approved through a flow (issue 13 item 3, SPEC §6 `approval_flow`): the tenant's
flow, the requests (one pending per member) and their steps, resolved to approvers when filed.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)
PENDING = sa.text("state = 'pending'")


def _member_fk(table: str, col: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["members.tenant_id", "members.id"], name=op.f(f"fk_{table}_tenant_id_{col}_members"))


def upgrade() -> None:
    op.create_table(
        "exit_request_flows",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("member_id", Id, nullable=True),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_exit_request_flows_tenant_id_tenants")),
        _member_fk("exit_request_flows", "member_id"),
        sa.PrimaryKeyConstraint("tenant_id", "position", name=op.f("pk_exit_request_flows")),
    )
    op.create_table(
        "exit_requests",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("leave_date", sa.Date(), nullable=False),
        sa.Column("reason_category", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("successor_id", Id, nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("exit_id", Id, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("closed_at", When, nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        _member_fk("exit_requests", "member_id"),
        _member_fk("exit_requests", "successor_id"),
        sa.ForeignKeyConstraint(["tenant_id", "exit_id"], ["exits.tenant_id", "exits.id"], name=op.f("fk_exit_requests_tenant_id_exit_id_exits")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exit_requests")),
    )
    op.create_index("ix_exit_requests_tenant_member", "exit_requests", ["tenant_id", "member_id"])
    op.create_index("ix_exit_requests_tenant_state", "exit_requests", ["tenant_id", "state"])
    op.create_index("uq_exit_requests_tenant_member_pending", "exit_requests", ["tenant_id", "member_id"], unique=True, sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_table(
        "exit_request_steps",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("request_id", Id, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("approver_id", Id, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=32), nullable=True),
        sa.Column("moved_from_id", Id, nullable=True),
        sa.Column("since", When, nullable=True),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decided_at", When, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "request_id"], ["exit_requests.tenant_id", "exit_requests.id"], name=op.f("fk_exit_request_steps_tenant_id_request_id_exit_requests")),
        _member_fk("exit_request_steps", "approver_id"),
        _member_fk("exit_request_steps", "moved_from_id"),
        sa.PrimaryKeyConstraint("tenant_id", "request_id", "position", name=op.f("pk_exit_request_steps")),
    )
    op.create_index("ix_exit_request_steps_tenant_approver_state", "exit_request_steps", ["tenant_id", "approver_id", "state"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE exit_requests_id_seq")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE exit_requests_id_seq")
    op.drop_index("ix_exit_request_steps_tenant_approver_state", table_name="exit_request_steps")
    op.drop_table("exit_request_steps")
    op.drop_index("uq_exit_requests_tenant_member_pending", table_name="exit_requests", sqlite_where=PENDING, postgresql_where=PENDING)
    op.drop_index("ix_exit_requests_tenant_state", table_name="exit_requests")
    op.drop_index("ix_exit_requests_tenant_member", table_name="exit_requests")
    op.drop_table("exit_requests")
    op.drop_table("exit_request_flows")
