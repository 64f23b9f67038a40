"""SCIM Groups (issue 13): departments are Groups, so a department keeps when it last changed
(meta.lastModified; NULL on the rows before this migration, read as created_at, so no row is
rewritten) and the identity provider's id of it (externalId).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("departments", sa.Column("updated_at", sa.DateTime(timezone=True)))
    op.add_column("departments", sa.Column("external_id", sa.String(255)))


def downgrade() -> None:
    op.drop_column("departments", "external_id")
    op.drop_column("departments", "updated_at")
