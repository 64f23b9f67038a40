"""Super-admin handovers (R-ADM-1, R-ADM-2): `admin_handovers`, one pending per tenant.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _member_fk(col: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["members.tenant_id", "members.id"], name=op.f(f"fk_admin_handovers_tenant_id_{col}_members"))


def upgrade() -> None:
    op.create_table(
        "admin_handovers",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("mode", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("from_member_id", Id, nullable=False),
        sa.Column("to_member_id", Id, nullable=False),
        sa.Column("custodian_id", Id, nullable=True),
        sa.Column("from_rank", sa.String(length=16), nullable=False),
        sa.Column("to_rank_before", sa.String(length=16), nullable=True),
        sa.Column("link_hash", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", When, nullable=True),
        sa.Column("started_at", When, nullable=False),
        sa.Column("started_by", sa.String(length=32), nullable=False),
        sa.Column("completed_at", When, nullable=True),
        sa.Column("window_until", When, nullable=True),
        sa.Column("window_closed_at", When, nullable=True),
        sa.Column("ended_at", When, nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_admin_handovers_tenant_id_tenants")),
        _member_fk("from_member_id"),
        _member_fk("to_member_id"),
        _member_fk("custodian_id"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_admin_handovers")),
    )
    op.create_index("ix_admin_handovers_tenant_from_member", "admin_handovers", ["tenant_id", "from_member_id"], unique=False)
    op.create_index(
        "uq_admin_handovers_tenant_pending",
        "admin_handovers",
        ["tenant_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE admin_handovers_id_seq")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE admin_handovers_id_seq")
    op.drop_index("uq_admin_handovers_tenant_pending", table_name="admin_handovers")
    op.drop_index("ix_admin_handovers_tenant_from_member", table_name="admin_handovers")
    op.drop_table("admin_handovers")
