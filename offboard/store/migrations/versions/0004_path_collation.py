"""Department paths compare byte by byte on PostgreSQL (COLLATE "C"): a subtree is the range
path >= '/1/5/' AND path < '/1/50', which a linguistic collation may reorder.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE departments ALTER COLUMN path TYPE VARCHAR(400) COLLATE "C"')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE departments ALTER COLUMN path TYPE VARCHAR(400) COLLATE "default"')
