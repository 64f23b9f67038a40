"""Initial schema: every table keyed by tenant_id, per-table id sequences on PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 22:35:24.841107
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Tables whose ids come from a sequence on PostgreSQL (offboard.store.ids); SQLite draws max + n.
ID_SEQUENCE_TABLES = [
    "members",
    "departments",
    "roles",
    "sessions",
    "api_tokens",
    "devices",
    "external_contacts",
    "customer_groups",
    "internal_groups",
    "documents",
    "calendars",
    "approval_templates",
    "approval_tasks",
    "self_built_apps",
    "messages",
    "attendance_records",
    "reimbursements",
    "app_grants",
    "exit_plans",
    "exits",
    "transfer_ledger",
]


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.String(length=16), nullable=False),
        sa.Column("policy", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("audit_head", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "audit_events",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("targets", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("side_digest", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_audit_events_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_audit_events")),
    )
    op.create_table(
        "members",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("mobile", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=128), nullable=True),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("manager_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exited_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "manager_id"], ["members.tenant_id", "members.id"], name=op.f("fk_members_tenant_id_manager_id_members")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_members_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_members")),
    )
    op.create_index("ix_members_tenant_manager", "members", ["tenant_id", "manager_id"], unique=False)
    op.create_index("ix_members_tenant_status", "members", ["tenant_id", "status"], unique=False)
    op.create_index(
        "uq_members_tenant_external_id_live",
        "members",
        ["tenant_id", "external_id"],
        unique=True,
        sqlite_where=sa.text("external_id IS NOT NULL AND status IN ('active','frozen','exited')"),
        postgresql_where=sa.text("external_id IS NOT NULL AND status IN ('active','frozen','exited')"),
    )
    op.create_index(
        "uq_members_tenant_userid_live",
        "members",
        ["tenant_id", "userid"],
        unique=True,
        sqlite_where=sa.text("status IN ('active','frozen','exited')"),
        postgresql_where=sa.text("status IN ('active','frozen','exited')"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_api_tokens_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_api_tokens")),
    )
    op.create_index("ix_api_tokens_tenant_member", "api_tokens", ["tenant_id", "member_id"], unique=False)
    op.create_index("uq_api_tokens_tenant_token_hash", "api_tokens", ["tenant_id", "token_hash"], unique=True)
    op.create_table(
        "app_grants",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("app_name", sa.String(length=128), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_app_grants_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_app_grants")),
    )
    op.create_index("ix_app_grants_tenant_member", "app_grants", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "approval_templates",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["members.tenant_id", "members.id"], name=op.f("fk_approval_templates_tenant_id_owner_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_approval_templates")),
    )
    op.create_index("ix_approval_templates_tenant_owner", "approval_templates", ["tenant_id", "owner_id"], unique=False)
    op.create_table(
        "attendance_records",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("check_in", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_out", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_attendance_records_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_attendance_records")),
    )
    op.create_index("ix_attendance_records_tenant_member", "attendance_records", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "audit_side",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("details", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "seq"], ["audit_events.tenant_id", "audit_events.seq"], name=op.f("fk_audit_side_tenant_id_seq_audit_events")),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_audit_side")),
    )
    op.create_table(
        "calendars",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["members.tenant_id", "members.id"], name=op.f("fk_calendars_tenant_id_owner_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_calendars")),
    )
    op.create_index("ix_calendars_tenant_owner", "calendars", ["tenant_id", "owner_id"], unique=False)
    op.create_table(
        "credentials",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_credentials_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", name=op.f("pk_credentials")),
    )
    op.create_table(
        "customer_groups",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("restricted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("restricted_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["members.tenant_id", "members.id"], name=op.f("fk_customer_groups_tenant_id_owner_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customer_groups")),
    )
    op.create_index("ix_customer_groups_tenant_owner", "customer_groups", ["tenant_id", "owner_id"], unique=False)
    op.create_table(
        "departments",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("headcount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "leader_id"], ["members.tenant_id", "members.id"], name=op.f("fk_departments_tenant_id_leader_id_members")),
        sa.ForeignKeyConstraint(["tenant_id", "parent_id"], ["departments.tenant_id", "departments.id"], name=op.f("fk_departments_tenant_id_parent_id_departments")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_departments_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_departments")),
        sa.UniqueConstraint("tenant_id", "path", name=op.f("uq_departments_tenant_id_path")),
    )
    op.create_index("ix_departments_tenant_leader", "departments", ["tenant_id", "leader_id"], unique=False)
    op.create_table(
        "devices",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_devices_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_devices")),
    )
    op.create_index("ix_devices_tenant_member", "devices", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "documents",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["members.tenant_id", "members.id"], name=op.f("fk_documents_tenant_id_owner_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_documents")),
    )
    op.create_index("ix_documents_tenant_owner", "documents", ["tenant_id", "owner_id"], unique=False)
    op.create_table(
        "exit_plans",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_exit_plans_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exit_plans")),
    )
    op.create_table(
        "external_contacts",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("company", sa.String(length=128), nullable=True),
        sa.Column("mobile", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["members.tenant_id", "members.id"], name=op.f("fk_external_contacts_tenant_id_owner_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_external_contacts")),
    )
    op.create_index("ix_external_contacts_tenant_owner", "external_contacts", ["tenant_id", "owner_id"], unique=False)
    op.create_table(
        "internal_groups",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["members.tenant_id", "members.id"], name=op.f("fk_internal_groups_tenant_id_owner_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_internal_groups")),
    )
    op.create_index("ix_internal_groups_tenant_owner", "internal_groups", ["tenant_id", "owner_id"], unique=False)
    op.create_table(
        "messages",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retained_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "author_id"], ["members.tenant_id", "members.id"], name=op.f("fk_messages_tenant_id_author_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_messages")),
    )
    op.create_index("ix_messages_tenant_author", "messages", ["tenant_id", "author_id"], unique=False)
    op.create_table(
        "reimbursements",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_reimbursements_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_reimbursements")),
    )
    op.create_index("ix_reimbursements_tenant_member", "reimbursements", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "roles",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.String(length=16), nullable=True),
        sa.Column("scope", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("permissions", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_roles_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_roles")),
        sa.UniqueConstraint("tenant_id", "member_id", "role", name=op.f("uq_roles_tenant_id_member_id_role")),
    )
    op.create_index("ix_roles_tenant_role_status", "roles", ["tenant_id", "role", "status"], unique=False)
    op.create_table(
        "self_built_apps",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["members.tenant_id", "members.id"], name=op.f("fk_self_built_apps_tenant_id_owner_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_self_built_apps")),
    )
    op.create_index("ix_self_built_apps_tenant_owner", "self_built_apps", ["tenant_id", "owner_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_sessions_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sessions")),
    )
    op.create_index("ix_sessions_tenant_member", "sessions", ["tenant_id", "member_id"], unique=False)
    op.create_index("uq_sessions_tenant_token_hash", "sessions", ["tenant_id", "token_hash"], unique=True)
    op.create_table(
        "approval_tasks",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["members.tenant_id", "members.id"], name=op.f("fk_approval_tasks_tenant_id_owner_id_members")),
        sa.ForeignKeyConstraint(["tenant_id", "template_id"], ["approval_templates.tenant_id", "approval_templates.id"], name=op.f("fk_approval_tasks_tenant_id_template_id_approval_templates")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_approval_tasks")),
    )
    op.create_index("ix_approval_tasks_tenant_owner", "approval_tasks", ["tenant_id", "owner_id"], unique=False)
    op.create_table(
        "exits",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("reason_category", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("successor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("acceptors", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("plan_digest", sa.String(length=64), nullable=True),
        sa.Column("restore_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_exits_tenant_id_member_id_members")),
        sa.ForeignKeyConstraint(["tenant_id", "plan_id"], ["exit_plans.tenant_id", "exit_plans.id"], name=op.f("fk_exits_tenant_id_plan_id_exit_plans")),
        sa.ForeignKeyConstraint(["tenant_id", "successor_id"], ["members.tenant_id", "members.id"], name=op.f("fk_exits_tenant_id_successor_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exits")),
    )
    op.create_index("ix_exits_tenant_state_effective", "exits", ["tenant_id", "state", "effective_at"], unique=False)
    op.create_index(
        "uq_exits_tenant_member_open",
        "exits",
        ["tenant_id", "member_id"],
        unique=True,
        sqlite_where=sa.text("state IN ('scheduled','open')"),
        postgresql_where=sa.text("state IN ('scheduled','open')"),
    )
    op.create_table(
        "internal_group_members",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "group_id"], ["internal_groups.tenant_id", "internal_groups.id"], name=op.f("fk_internal_group_members_tenant_id_group_id_internal_groups")),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_internal_group_members_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "group_id", "member_id", name=op.f("pk_internal_group_members")),
    )
    op.create_index("ix_internal_group_members_tenant_member", "internal_group_members", ["tenant_id", "member_id"], unique=False)
    op.create_table(
        "member_departments",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("department_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "department_id"], ["departments.tenant_id", "departments.id"], name=op.f("fk_member_departments_tenant_id_department_id_departments")),
        sa.ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"], name=op.f("fk_member_departments_tenant_id_member_id_members")),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", "department_id", name=op.f("pk_member_departments")),
    )
    op.create_index("ix_member_departments_tenant_department", "member_departments", ["tenant_id", "department_id"], unique=False)
    op.create_table(
        "transfer_ledger",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("exit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("to_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("correlation_id", sa.String(length=36), nullable=False),
        sa.Column("version_after", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "exit_id"], ["exits.tenant_id", "exits.id"], name=op.f("fk_transfer_ledger_tenant_id_exit_id_exits")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_transfer_ledger")),
    )
    op.create_index("ix_transfer_ledger_tenant_exit_kind", "transfer_ledger", ["tenant_id", "exit_id", "kind", "state"], unique=False)
    op.create_index("uq_transfer_ledger_tenant_correlation", "transfer_ledger", ["tenant_id", "correlation_id"], unique=True)

    if op.get_bind().dialect.name == "postgresql":
        for table in ID_SEQUENCE_TABLES:
            op.execute(f"CREATE SEQUENCE {table}_id_seq")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ID_SEQUENCE_TABLES:
            op.execute(f"DROP SEQUENCE IF EXISTS {table}_id_seq")
    op.drop_index("uq_transfer_ledger_tenant_correlation", table_name="transfer_ledger")
    op.drop_index("ix_transfer_ledger_tenant_exit_kind", table_name="transfer_ledger")
    op.drop_table("transfer_ledger")
    op.drop_index("ix_member_departments_tenant_department", table_name="member_departments")
    op.drop_table("member_departments")
    op.drop_index("ix_internal_group_members_tenant_member", table_name="internal_group_members")
    op.drop_table("internal_group_members")
    op.drop_index("uq_exits_tenant_member_open", table_name="exits", sqlite_where=sa.text("state IN ('scheduled','open')"), postgresql_where=sa.text("state IN ('scheduled','open')"))
    op.drop_index("ix_exits_tenant_state_effective", table_name="exits")
    op.drop_table("exits")
    op.drop_index("ix_approval_tasks_tenant_owner", table_name="approval_tasks")
    op.drop_table("approval_tasks")
    op.drop_index("uq_sessions_tenant_token_hash", table_name="sessions")
    op.drop_index("ix_sessions_tenant_member", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index("ix_self_built_apps_tenant_owner", table_name="self_built_apps")
    op.drop_table("self_built_apps")
    op.drop_index("ix_roles_tenant_role_status", table_name="roles")
    op.drop_table("roles")
    op.drop_index("ix_reimbursements_tenant_member", table_name="reimbursements")
    op.drop_table("reimbursements")
    op.drop_index("ix_messages_tenant_author", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_internal_groups_tenant_owner", table_name="internal_groups")
    op.drop_table("internal_groups")
    op.drop_index("ix_external_contacts_tenant_owner", table_name="external_contacts")
    op.drop_table("external_contacts")
    op.drop_table("exit_plans")
    op.drop_index("ix_documents_tenant_owner", table_name="documents")
    op.drop_table("documents")
    op.drop_index("ix_devices_tenant_member", table_name="devices")
    op.drop_table("devices")
    op.drop_index("ix_departments_tenant_leader", table_name="departments")
    op.drop_table("departments")
    op.drop_index("ix_customer_groups_tenant_owner", table_name="customer_groups")
    op.drop_table("customer_groups")
    op.drop_table("credentials")
    op.drop_index("ix_calendars_tenant_owner", table_name="calendars")
    op.drop_table("calendars")
    op.drop_table("audit_side")
    op.drop_index("ix_attendance_records_tenant_member", table_name="attendance_records")
    op.drop_table("attendance_records")
    op.drop_index("ix_approval_templates_tenant_owner", table_name="approval_templates")
    op.drop_table("approval_templates")
    op.drop_index("ix_app_grants_tenant_member", table_name="app_grants")
    op.drop_table("app_grants")
    op.drop_index("uq_api_tokens_tenant_token_hash", table_name="api_tokens")
    op.drop_index("ix_api_tokens_tenant_member", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(
        "uq_members_tenant_userid_live", table_name="members", sqlite_where=sa.text("status IN ('active','frozen','exited')"), postgresql_where=sa.text("status IN ('active','frozen','exited')")
    )
    op.drop_index(
        "uq_members_tenant_external_id_live",
        table_name="members",
        sqlite_where=sa.text("external_id IS NOT NULL AND status IN ('active','frozen','exited')"),
        postgresql_where=sa.text("external_id IS NOT NULL AND status IN ('active','frozen','exited')"),
    )
    op.drop_index("ix_members_tenant_status", table_name="members")
    op.drop_index("ix_members_tenant_manager", table_name="members")
    op.drop_table("members")
    op.drop_table("audit_events")
    op.drop_table("tenants")
