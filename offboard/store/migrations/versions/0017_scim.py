"""SCIM provisioning (issue 13): a member's employee number (the enterprise user extension's
employeeNumber) and when an identity provider deleted them (SCIM DELETE: the member answers 404
to SCIM from then on, RFC 7644 §3.6, and their exit finalizes when its checklist allows).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("employee_number", sa.String(64)))
    op.add_column("members", sa.Column("scim_deleted_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("members", "scim_deleted_at")
    op.drop_column("members", "employee_number")
