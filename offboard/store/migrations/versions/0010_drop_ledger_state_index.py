"""Drop the ledger's (tenant, state, created_at) index: the only queries that could use it, the
24 h customer takeovers, are those of one exit, which its exit index answers; SQLite's planner,
without statistics for a ledger that was empty when the tenant was analyzed, took the range
index instead and read every waiting row of the tenant once for each exit. Every ledger insert
and state change also kept it up to date for nothing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_transfer_ledger_tenant_state_created", table_name="transfer_ledger")


def downgrade() -> None:
    op.create_index("ix_transfer_ledger_tenant_state_created", "transfer_ledger", ["tenant_id", "state", "created_at"], unique=False)
