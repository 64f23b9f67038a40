"""The audit log's Merkle tree and its signed checkpoints (SPEC §8): `audit_tree_nodes`,
`audit_checkpoints`, `audit_signing_keys`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"))


def upgrade() -> None:
    op.create_table(
        "audit_tree_nodes",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        _tenant_fk("audit_tree_nodes"),
        sa.PrimaryKeyConstraint("tenant_id", "level", "idx", name=op.f("pk_audit_tree_nodes")),
    )
    op.create_table(
        "audit_signing_keys",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("kek_id", sa.String(length=80), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        _tenant_fk("audit_signing_keys"),
        sa.PrimaryKeyConstraint("tenant_id", "key_id", name=op.f("pk_audit_signing_keys")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("signed_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "key_id"],
            ["audit_signing_keys.tenant_id", "audit_signing_keys.key_id"],
            name=op.f("fk_audit_checkpoints_tenant_id_key_id_audit_signing_keys"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "size", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_signing_keys")
    op.drop_table("audit_tree_nodes")
