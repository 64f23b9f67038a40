"""The data lifecycle under the law (R-LAW-1, R-LAW-2): legal holds, erasure requests and their
steps, and the salts that let erasure remove a member's personal values from audit side records
while the chain still verifies (offboard.audit.personal).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = sa.DateTime(timezone=True)


_SEQUENCED = ("legal_holds", "erasure_requests")


def _member_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f(f"fk_{table}_tenant_id_member_id_members"))


def upgrade() -> None:
    op.add_column("audit_side", sa.Column("salts", Json, nullable=True))
    op.create_table(
        "legal_holds",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("kinds", Json, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("placed_by", sa.String(length=32), nullable=False),
        sa.Column("placed_at", When, nullable=False),
        sa.Column("released_at", When, nullable=True),
        sa.Column("released_by", sa.String(length=32), nullable=True),
        sa.Column("release_reason", sa.String(length=500), nullable=True),
        _member_fk("legal_holds"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_legal_holds")),
    )
    op.create_index("ix_legal_holds_tenant_member", "legal_holds", ["tenant_id", "member_id"])
    op.create_table(
        "erasure_requests",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("scope", Json, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("verified", sa.String(length=500), nullable=True),
        sa.Column("requested_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done_at", When, nullable=True),
        _member_fk("erasure_requests"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_erasure_requests")),
    )
    op.create_index("ix_erasure_requests_tenant_member", "erasure_requests", ["tenant_id", "member_id"])
    op.create_index("ix_erasure_requests_tenant_state", "erasure_requests", ["tenant_id", "state"])
    op.create_table(
        "erasure_steps",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("request_id", Id, nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", When, nullable=True),
        sa.Column("waiting_for", sa.String(length=24), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("done_at", When, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "request_id"], ["erasure_requests.tenant_id", "erasure_requests.id"], name=op.f("fk_erasure_steps_tenant_id_request_id_erasure_requests")),
        sa.PrimaryKeyConstraint("tenant_id", "request_id", "step", name=op.f("pk_erasure_steps")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in _SEQUENCED:
            op.execute(f"CREATE SEQUENCE {table}_id_seq")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _SEQUENCED:
            op.execute(f"DROP SEQUENCE {table}_id_seq")
    op.drop_table("erasure_steps")
    op.drop_index("ix_erasure_requests_tenant_state", table_name="erasure_requests")
    op.drop_index("ix_erasure_requests_tenant_member", table_name="erasure_requests")
    op.drop_table("erasure_requests")
    op.drop_index("ix_legal_holds_tenant_member", table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_column("audit_side", "salts")
