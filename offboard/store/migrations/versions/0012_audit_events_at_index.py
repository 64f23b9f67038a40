"""Index the audit trail by time within a tenant: a rollback plan (R-EXC-1) reads a member's
changes since a time, and the audit page filters by day; without it both read every event of
the tenant, which a layoff grows by tens of thousands.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_events_tenant_at", "audit_events", ["tenant_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_tenant_at", table_name="audit_events")
