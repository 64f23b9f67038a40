"""Exit engine: checklist items, attestations and sign-offs; ledger indexes for the sweep and
the inbox; who acknowledged a third-party grant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("app_grants") as batch:
        batch.add_column(sa.Column("acknowledged_by", sa.String(length=32), nullable=True))
    op.create_index("ix_transfer_ledger_tenant_to", "transfer_ledger", ["tenant_id", "to_member_id"], unique=False)
    op.create_index("ix_transfer_ledger_tenant_state_created", "transfer_ledger", ["tenant_id", "state", "created_at"], unique=False)
    op.create_table(
        "checklist_items",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("owner_role", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_checklist_items_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_checklist_items")),
    )
    op.create_table(
        "checklist_attestations",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("exit_id", Id, nullable=False),
        sa.Column("item_key", sa.String(length=40), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("attested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "exit_id"], ["exits.tenant_id", "exits.id"], name=op.f("fk_checklist_attestations_tenant_id_exit_id_exits")),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_checklist_attestations_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "exit_id", "item_key", name=op.f("pk_checklist_attestations")),
    )
    op.create_table(
        "exit_signoffs",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("exit_id", Id, nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "exit_id"], ["exits.tenant_id", "exits.id"], name=op.f("fk_exit_signoffs_tenant_id_exit_id_exits")),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_exit_signoffs_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "exit_id", "role", name=op.f("pk_exit_signoffs")),
    )


def downgrade() -> None:
    op.drop_table("exit_signoffs")
    op.drop_table("checklist_attestations")
    op.drop_table("checklist_items")
    op.drop_index("ix_transfer_ledger_tenant_state_created", table_name="transfer_ledger")
    op.drop_index("ix_transfer_ledger_tenant_to", table_name="transfer_ledger")
    with op.batch_alter_table("app_grants") as batch:
        batch.drop_column("acknowledged_by")
