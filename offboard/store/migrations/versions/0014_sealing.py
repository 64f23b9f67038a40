"""Sealing a finalized member's data (R-LAW-3): `member_data_keys`, `messages.sealed_body`,
`members.sealed_profile`.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "member_data_keys",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("kek_id", sa.String(length=80), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_member_data_keys_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", name=op.f("pk_member_data_keys")),
    )
    # Nullable columns: ALTER TABLE ADD COLUMN on both databases, no table rebuilt (members is
    # referenced by every table, which SQLite's rebuild would trip over).
    op.add_column("messages", sa.Column("sealed_body", sa.LargeBinary(), nullable=True))
    op.add_column("members", sa.Column("sealed_profile", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("members", "sealed_profile")
    op.drop_column("messages", "sealed_body")
    op.drop_table("member_data_keys")
