"""The HR leave-date feed (issue 13, R-EXIT-8): a row per member and leave date the feed sent,
naming the scheduled exit it made or moved, so the same line sent again changes nothing.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "departures",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("leave_date", sa.Date(), nullable=False),
        sa.Column("exit_id", Id, nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("imported_by", sa.String(length=32), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_departures_tenant_id_member_id_members")),
        sa.ForeignKeyConstraint(["tenant_id", "exit_id"], ["exits.tenant_id", "exits.id"], name=op.f("fk_departures_tenant_id_exit_id_exits")),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", "leave_date", name=op.f("pk_departures")),
    )
    op.create_index("ix_departures_tenant_exit", "departures", ["tenant_id", "exit_id"])


def downgrade() -> None:
    op.drop_index("ix_departures_tenant_exit", table_name="departures")
    op.drop_table("departures")
