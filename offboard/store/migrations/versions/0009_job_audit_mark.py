"""A bulk job remembers the tenant's audit sequence after its own last transaction
(`jobs.audit_mark`), when nothing else was recorded in the tenant since its plan was checked:
a batch that finds the sequence still there knows no change happened meanwhile (every change
writes an audit event in its transaction, INV-5) and need not plan its lines again. NULL: plan
again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("audit_mark", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "audit_mark")
