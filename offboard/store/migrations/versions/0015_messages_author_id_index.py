"""The messages' author index ends with the message id: sealing walks a departed member's
messages in id order a chunk at a time, which the index now serves without sorting them all for
every chunk (R-LAW-3).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_tenant_author", table_name="messages")
    op.create_index("ix_messages_tenant_author", "messages", ["tenant_id", "author_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_tenant_author", table_name="messages")
    op.create_index("ix_messages_tenant_author", "messages", ["tenant_id", "author_id"], unique=False)
