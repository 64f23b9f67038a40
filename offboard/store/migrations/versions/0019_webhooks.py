"""Webhooks out (SPEC §9, R-POST-1): the endpoints a tenant subscribes, with their wrapped signing
secrets, and one delivery row per event and subscription, retried for 24 hours.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = sa.DateTime(timezone=True)

_SEQUENCED = ("webhook_subscriptions", "webhook_deliveries")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("events", Json, nullable=False),
        sa.Column("app_name", sa.String(length=128), nullable=True),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("secret_wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_subscriptions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("subscription_id", Id, nullable=False),
        sa.Column("event_key", sa.String(length=160), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("ids", Json, nullable=False),
        sa.Column("event_at", When, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", When, nullable=False),
        sa.Column("give_up_at", When, nullable=False),
        sa.Column("claimed_until", When, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("last_attempt_at", When, nullable=True),
        sa.Column("delivered_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["webhook_subscriptions.tenant_id", "webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_tenant_id_subscription_id_webhook_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("tenant_id", "subscription_id", "event_key", name=op.f("uq_webhook_deliveries_tenant_id_subscription_id_event_key")),
    )
    op.create_index("ix_webhook_deliveries_tenant_state_next", "webhook_deliveries", ["tenant_id", "state", "next_attempt_at"])
    if op.get_bind().dialect.name == "postgresql":
        for table in _SEQUENCED:
            op.execute(f"CREATE SEQUENCE {table}_id_seq")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _SEQUENCED:
            op.execute(f"DROP SEQUENCE {table}_id_seq")
    op.drop_index("ix_webhook_deliveries_tenant_state_next", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
