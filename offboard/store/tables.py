"""The schema. `tenant_id` leads every primary key, unique constraint, foreign key and index,
so the schema can be distributed by tenant (SPEC §3, §10).

Personal data lives only in profile columns (members, external_contacts) and message bodies.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.schema import SchemaItem

from offboard.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")


def _tid() -> Column:
    return Column("tenant_id", Id, nullable=False)


def _fk(cols: list[str], table: str, remote: list[str]) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", *cols], [f"{table}.tenant_id", *[f"{table}.{c}" for c in remote]])


def _member_fk(col: str) -> ForeignKeyConstraint:
    return _fk([col], "members", ["id"])


tenants = Table(
    "tenants",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(40), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("region", String(8), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("profile", String(16), nullable=False),
    Column("policy", Json, nullable=False),
    Column("status", String(16), nullable=False),
    # The audit chain head (SPEC §8): appending locks this row, and a deleted last event is caught.
    Column("audit_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("audit_head", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
)

members = Table(
    "members",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("userid", String(64), nullable=False),
    Column("external_id", String(255)),
    Column("name", String(128), nullable=False),
    # The name's pinyin, "cj chenjing" for 陈静 (offboard.i18n.pinyin), set with the name: the
    # people picker finds a member by it.
    Column("search_key", String(255)),
    Column("email", String(254)),
    Column("mobile", String(32)),
    Column("title", String(128)),
    Column("region", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("manager_id", Id),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("exited_at", UTCDateTime),
    # A finalized member's contact fields (email, mobile, title), sealed under their data key
    # (offboard.crypto.sealing; R-LAW-3): the plain columns are then empty.
    Column("sealed_profile", LargeBinary),
    Column("employee_number", String(64)),  # SCIM's enterprise extension (issue 13)
    # An identity provider deleted the member (SCIM DELETE): SCIM answers 404 for them from then on.
    Column("scim_deleted_at", UTCDateTime),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    _member_fk("manager_id"),
    Index("ix_members_tenant_manager", "tenant_id", "manager_id"),
    Index("ix_members_tenant_status", "tenant_id", "status"),
    # A userid is unique among members not yet finalized, so a rehire can reuse it.
    Index(
        "uq_members_tenant_userid_live",
        "tenant_id",
        "userid",
        unique=True,
        sqlite_where=text("status IN ('active','frozen','exited')"),
        postgresql_where=text("status IN ('active','frozen','exited')"),
    ),
    Index(
        "uq_members_tenant_external_id_live",
        "tenant_id",
        "external_id",
        unique=True,
        sqlite_where=text("external_id IS NOT NULL AND status IN ('active','frozen','exited')"),
        postgresql_where=text("external_id IS NOT NULL AND status IN ('active','frozen','exited')"),
    ),
)

departments = Table(
    "departments",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("parent_id", Id),
    Column("name", String(128), nullable=False),
    # Byte order ("C" collation on PostgreSQL) so a subtree is the range [path, path[:-1] + "0").
    Column("path", String(400).with_variant(String(400, collation="C"), "postgresql"), nullable=False),
    Column("depth", Integer, nullable=False),
    Column("leader_id", Id),
    Column("status", String(24), nullable=False),
    Column("headcount", Integer, nullable=False, server_default=text("0")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime, nullable=False),
    # When the version last moved: its name, place, leader, status or direct members changed (the
    # SCIM Group's meta.lastModified). NULL on rows older than migration 0020: read as created_at.
    Column("updated_at", UTCDateTime),
    Column("external_id", String(255)),  # the identity provider's id of the SCIM Group (issue 13)
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    _fk(["parent_id"], "departments", ["id"]),
    _member_fk("leader_id"),
    UniqueConstraint("tenant_id", "path"),
    Index("ix_departments_tenant_leader", "tenant_id", "leader_id"),
)

member_departments = Table(
    "member_departments",
    metadata,
    _tid(),
    Column("member_id", Id, nullable=False),
    Column("department_id", Id, nullable=False),
    Column("is_primary", Boolean, nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "member_id", "department_id"),
    _member_fk("member_id"),
    _fk(["department_id"], "departments", ["id"]),
    Index("ix_member_departments_tenant_department", "tenant_id", "department_id"),
)

credentials = Table(
    "credentials",
    metadata,
    _tid(),
    Column("member_id", Id, nullable=False),
    Column("password_hash", String(255)),
    Column("totp_secret", String(64)),
    Column("totp_last_step", BigInteger),
    Column("locked_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "member_id"),
    _member_fk("member_id"),
)

roles = Table(
    "roles",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("role", String(16), nullable=False),
    Column("rank", String(16)),  # super_admin: primary | backup (R-ADM-3)
    Column("scope", Json, nullable=False),  # admin: department ids
    Column("permissions", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("granted_by", String(32), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    UniqueConstraint("tenant_id", "member_id", "role"),
    Index("ix_roles_tenant_role_status", "tenant_id", "role", "status"),
)

sessions = Table(
    "sessions",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    # "password": the second factor is still owed; "full": signed in.
    Column("stage", String(16), nullable=False, server_default=text("'full'")),
    Column("verified_at", UTCDateTime),  # last second-factor check, for re-verification
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    Index("ix_sessions_tenant_member", "tenant_id", "member_id"),
    # The token names its tenant, so the lookup leads with tenant_id like every index.
    Index("uq_sessions_tenant_token_hash", "tenant_id", "token_hash", unique=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id),  # NULL: a tenant service token, which survives exits
    Column("name", String(128), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("scopes", Json, nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    Index("ix_api_tokens_tenant_member", "tenant_id", "member_id"),
    Index("uq_api_tokens_tenant_token_hash", "tenant_id", "token_hash", unique=True),
)

devices = Table(
    "devices",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("name", String(128), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    Index("ix_devices_tenant_member", "tenant_id", "member_id"),
)


def _resource(name: str, *extra: SchemaItem) -> Table:
    """A transferable resource: an owner (NULL when unassigned) and a version bumped on every change."""
    return Table(
        name,
        metadata,
        _tid(),
        Column("id", Id, nullable=False),
        Column("owner_id", Id),
        Column("version", Integer, nullable=False, server_default=text("1")),
        Column("created_at", UTCDateTime, nullable=False),
        *extra,
        PrimaryKeyConstraint("tenant_id", "id"),
        _member_fk("owner_id"),
        Index(f"ix_{name}_tenant_owner", "tenant_id", "owner_id"),
    )


external_contacts = _resource(
    "external_contacts",
    Column("name", String(128), nullable=False),
    Column("company", String(128)),
    Column("mobile", String(32)),
)
customer_groups = _resource(
    "customer_groups",
    Column("name", String(128), nullable=False),
    Column("member_count", Integer, nullable=False),
    Column("restricted", Boolean, nullable=False, server_default=text("false")),
    Column("restricted_reason", String(64)),
)
internal_groups = _resource(
    "internal_groups",
    Column("name", String(128), nullable=False),
)
internal_group_members = Table(
    "internal_group_members",
    metadata,
    _tid(),
    Column("group_id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "group_id", "member_id"),
    _fk(["group_id"], "internal_groups", ["id"]),
    _member_fk("member_id"),
    Index("ix_internal_group_members_tenant_member", "tenant_id", "member_id"),
)
documents = _resource(
    "documents",
    Column("title", String(255), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    Column("deleted_at", UTCDateTime),
)
calendars = _resource(
    "calendars",
    Column("name", String(128), nullable=False),
    Column("deleted_at", UTCDateTime),
)
approval_templates = _resource(
    "approval_templates",
    Column("name", String(128), nullable=False),
)
approval_tasks = _resource(  # owner: the approver the task waits on
    "approval_tasks",
    Column("template_id", Id),
    Column("title", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    _fk(["template_id"], "approval_templates", ["id"]),
)
self_built_apps = _resource(  # owner: the app admin
    "self_built_apps",
    Column("name", String(128), nullable=False),
    Column("agent_id", String(64), nullable=False),
)

messages = Table(
    "messages",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("author_id", Id, nullable=False),
    Column("conversation", String(64), nullable=False),
    Column("body", Text),
    Column("region", String(8), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("retained_until", UTCDateTime),
    Column("sealed_at", UTCDateTime),
    Column("sealed_body", LargeBinary),  # nonce || AES-256-GCM of the body under the author's data key; body is then NULL
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("author_id"),
    Index("ix_messages_tenant_author", "tenant_id", "author_id", "id"),  # sealing walks a member's messages in id order
)
attendance_records = Table(
    "attendance_records",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("day", Date, nullable=False),
    Column("check_in", UTCDateTime),
    Column("check_out", UTCDateTime),
    Column("archived_at", UTCDateTime),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    Index("ix_attendance_records_tenant_member", "tenant_id", "member_id"),
)
reimbursements = Table(
    "reimbursements",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("title", String(255), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # open | closed
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    Index("ix_reimbursements_tenant_member", "tenant_id", "member_id"),
)
app_grants = Table(
    "app_grants",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("app_name", String(128), nullable=False),
    Column("scopes", String(255), nullable=False),
    Column("status", String(24), nullable=False),  # active | reauth_required | acknowledged
    Column("granted_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(32)),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    Index("ix_app_grants_tenant_member", "tenant_id", "member_id"),
)

exit_plans = Table(
    "exit_plans",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("body", Json, nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
)

exits = Table(
    "exits",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("state", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("reason_category", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("requested_by", String(32), nullable=False),
    Column("effective_at", UTCDateTime, nullable=False),
    Column("successor_id", Id),
    Column("acceptors", Json, nullable=False),
    Column("plan_id", Id),
    Column("plan_digest", String(64)),
    Column("restore_until", UTCDateTime),
    Column("finalized_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    _member_fk("successor_id"),
    _fk(["plan_id"], "exit_plans", ["id"]),
    Index("ix_exits_tenant_state_effective", "tenant_id", "state", "effective_at"),
    # One open exit per member (SPEC §10), together with the member's row lock.
    Index(
        "uq_exits_tenant_member_open",
        "tenant_id",
        "member_id",
        unique=True,
        sqlite_where=text("state IN ('scheduled','open')"),
        postgresql_where=text("state IN ('scheduled','open')"),
    ),
)

# One row per step of an exit (offboard.domain.vocabulary.StepKind): every ledger row names the
# step that wrote it, and the step that last changed it; a step's batch is found by its id.
exit_steps = Table(
    "exit_steps",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("exit_id", Id, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("actor", String(32), nullable=False),  # audit id
    Column("counts", Json, nullable=False),  # ledger rows written or changed, per resource kind
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    _fk(["exit_id"], "exits", ["id"]),
    Index("ix_exit_steps_tenant_exit", "tenant_id", "exit_id"),
)

transfer_ledger = Table(
    "transfer_ledger",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("exit_id", Id, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("resource_id", Id, nullable=False),
    Column("from_member_id", Id),
    Column("to_member_id", Id),
    Column("state", String(16), nullable=False),
    Column("correlation_id", String(36), nullable=False),
    Column("version_after", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("step_id", Id, nullable=False),  # the step that wrote the row
    Column("changed_step_id", Id),  # the step that last changed it (a result, takeover or restore)
    PrimaryKeyConstraint("tenant_id", "id"),
    _fk(["exit_id"], "exits", ["id"]),
    _fk(["step_id"], "exit_steps", ["id"]),
    _fk(["changed_step_id"], "exit_steps", ["id"]),
    Index("ix_transfer_ledger_tenant_exit_kind", "tenant_id", "exit_id", "kind", "state"),
    Index("uq_transfer_ledger_tenant_correlation", "tenant_id", "correlation_id", unique=True),
    Index("ix_transfer_ledger_tenant_to", "tenant_id", "to_member_id"),
    Index("ix_transfer_ledger_tenant_step_kind", "tenant_id", "step_id", "kind"),
    Index("ix_transfer_ledger_tenant_changed_step_kind", "tenant_id", "changed_step_id", "kind"),
)

# A bulk job (R-EXIT-7): a file of departures planned together, then executed a batch at a
# time. Its progress lives in these rows, so a restarted worker resumes where one stopped.
jobs = Table(
    "jobs",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("kind", String(16), nullable=False),  # bulk_exit
    Column("state", String(16), nullable=False),  # offboard.domain.bulk.JobState
    Column("source", String(255), nullable=False),  # the file's name, or "api"
    Column("actor", String(32), nullable=False),  # audit id of who created it
    Column("actor_member_id", Id),  # who it acts as when it runs (NULL: the operator)
    Column("total", Integer, nullable=False),
    Column("counts", Json, nullable=False),  # rows per status
    Column("batch_size", Integer, nullable=False),
    # The tenant's audit seq after the job's last transaction, kept while no other event came
    # between its plan check and it (offboard.actions.bulk_exits); NULL: plan the lines again.
    Column("audit_mark", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    _member_fk("actor_member_id"),
    Index("ix_jobs_tenant_state", "tenant_id", "state"),
)

# A super admin's handover of power (R-ADM-1, R-ADM-2): who hands over to whom, in which mode
# (offboard.domain.policy.AdminHandover), through which custodian (escrow), its one-time
# acceptance link, and the old super admin's emergency window once it completed.
admin_handovers = Table(
    "admin_handovers",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("mode", String(24), nullable=False),
    Column("state", String(16), nullable=False),  # offboard.domain.handover.HandoverState
    Column("from_member_id", Id, nullable=False),
    Column("to_member_id", Id, nullable=False),
    Column("custodian_id", Id),
    Column("from_rank", String(16), nullable=False),  # what the old super admin held, for a revert
    Column("to_rank_before", String(16)),  # the nominee's super-admin rank before, if any
    Column("link_hash", String(64)),  # SHA-256 of the acceptance link's secret
    Column("link_expires_at", UTCDateTime),
    Column("started_at", UTCDateTime, nullable=False),
    Column("started_by", String(32), nullable=False),
    Column("completed_at", UTCDateTime),
    Column("window_until", UTCDateTime),  # the old super admin's emergency window ends
    Column("window_closed_at", UTCDateTime),  # the reconciler closed it (or a revert did)
    Column("ended_at", UTCDateTime),  # cancelled, reverted or expired
    Column("version", Integer, nullable=False, server_default=text("1")),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    _member_fk("from_member_id"),
    _member_fk("to_member_id"),
    _member_fk("custodian_id"),
    Index("ix_admin_handovers_tenant_from_member", "tenant_id", "from_member_id"),
    # One handover at a time: a second one while one is pending is refused by the database too.
    Index(
        "uq_admin_handovers_tenant_pending",
        "tenant_id",
        unique=True,
        sqlite_where=text("state = 'pending'"),
        postgresql_where=text("state = 'pending'"),
    ),
)

# One row per line of the file: what it asked for, what the plan found, what happened.
bulk_exit_rows = Table(
    "bulk_exit_rows",
    metadata,
    _tid(),
    Column("job_id", Id, nullable=False),
    Column("row_no", Integer, nullable=False),  # the line's number in the file (the header is 1)
    Column("userid", String(64), nullable=False),
    Column("member_id", Id),  # NULL: no such member
    Column("type", String(16)),
    Column("reason_category", String(16)),
    Column("reason", Text),
    Column("successor_id", Id),
    Column("acceptors", Json, nullable=False),  # {kind: member id}
    Column("effective_at", UTCDateTime),  # NULL: at once
    Column("batch_no", Integer),  # NULL: nothing to run (invalid or blocked)
    Column("status", String(16), nullable=False),  # offboard.domain.bulk.RowStatus
    Column("issues", Json, nullable=False),  # blockers or the error: [{code, template, params}]
    Column("warnings", Json, nullable=False),
    Column("exit_id", Id),
    PrimaryKeyConstraint("tenant_id", "job_id", "row_no"),
    _fk(["job_id"], "jobs", ["id"]),
    _member_fk("member_id"),
    _member_fk("successor_id"),
    _fk(["exit_id"], "exits", ["id"]),
    Index("ix_bulk_exit_rows_tenant_job_batch", "tenant_id", "job_id", "batch_no", "status"),
    Index("ix_bulk_exit_rows_tenant_member", "tenant_id", "member_id"),
)

# Where each kind of a leaver's resources goes (R-ORG-4), resolved for the whole file at once;
# a batch's ledger rows are one INSERT ... SELECT per kind joining these to the resources.
bulk_exit_routes = Table(
    "bulk_exit_routes",
    metadata,
    _tid(),
    Column("job_id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("batch_no", Integer, nullable=False),
    Column("destination", String(16), nullable=False),
    Column("acceptor_id", Id),
    Column("state", String(16), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("count", Integer, nullable=False),  # owned when planned
    Column("self_fallback", Id),  # a direct report who is the acceptor goes to the leaver's manager
    PrimaryKeyConstraint("tenant_id", "job_id", "member_id", "kind"),
    _fk(["job_id"], "jobs", ["id"]),
    _member_fk("member_id"),
    _member_fk("acceptor_id"),
    Index("ix_bulk_exit_routes_tenant_job_batch_kind", "tenant_id", "job_id", "batch_no", "kind"),
)

# A job's batches: each runs in one transaction that claims it (SKIP LOCKED) and marks it done,
# so a batch is done entirely or not at all, and any number of workers share a job.
job_batches = Table(
    "job_batches",
    metadata,
    _tid(),
    Column("job_id", Id, nullable=False),
    Column("batch_no", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # pending | done
    Column("rows", Integer, nullable=False),
    Column("done_at", UTCDateTime),
    PrimaryKeyConstraint("tenant_id", "job_id", "batch_no"),
    _fk(["job_id"], "jobs", ["id"]),
    Index("ix_job_batches_tenant_state", "tenant_id", "state"),
)

# A leave date the HR feed sent (R-EXIT-8, SPEC §6 `hr_sync`): one row per member and date, with
# the scheduled exit it made or moved. The key is the idempotency of the feed: the same line sent
# again finds its row and changes nothing, even once the exit was cancelled or took effect.
departures = Table(
    "departures",
    metadata,
    _tid(),
    Column("member_id", Id, nullable=False),
    Column("leave_date", Date, nullable=False),  # the day in the enterprise's time zone, as HR wrote it
    Column("exit_id", Id, nullable=False),
    # The date HR sent last for its exit: a line sent again that is not the current one moves the
    # exit back to its date (HR changed its mind twice); the current one changes nothing.
    Column("current", Boolean, nullable=False),
    Column("source", String(255), nullable=False),  # the file's name, or "api"
    Column("imported_by", String(32), nullable=False),  # audit id
    Column("imported_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "member_id", "leave_date"),
    _member_fk("member_id"),
    _fk(["exit_id"], "exits", ["id"]),
    Index("ix_departures_tenant_exit", "tenant_id", "exit_id"),
)

# Exit requests approved through a flow (离职申请审批, SPEC §6 `approval_flow`). The tenant's flow,
# a row per step in order; no row means the default [manager, hr]
# (offboard.domain.exit_requests.DEFAULT_FLOW). `member_id`: the approver a `member` step names.
exit_request_flows = Table(
    "exit_request_flows",
    metadata,
    _tid(),
    Column("position", Integer, nullable=False),  # 1, 2, ...
    Column("kind", String(24), nullable=False),
    Column("member_id", Id),
    Column("updated_by", String(32), nullable=False),  # audit id
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "position"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    _member_fk("member_id"),
)

# A member's request to leave on a date, until approved (then `exit_id` names the scheduled
# exit), rejected, withdrawn or cancelled. One pending request per member: a partial unique index
# together with the member's row lock, as for exits.
exit_requests = Table(
    "exit_requests",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("state", String(16), nullable=False),
    Column("leave_date", Date, nullable=False),  # the day in the enterprise's time zone
    Column("reason_category", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("successor_id", Id),
    Column("step", Integer),  # the position of the step waiting; NULL once closed
    Column("exit_id", Id),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("version", Integer, nullable=False, server_default=text("1")),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    _member_fk("successor_id"),
    _fk(["exit_id"], "exits", ["id"]),
    Index("ix_exit_requests_tenant_member", "tenant_id", "member_id"),
    Index("ix_exit_requests_tenant_state", "tenant_id", "state"),
    Index(
        "uq_exit_requests_tenant_member_pending",
        "tenant_id",
        "member_id",
        unique=True,
        sqlite_where=text("state = 'pending'"),
        postgresql_where=text("state = 'pending'"),
    ),
)

# The steps of a request, resolved to approvers when it was filed (offboard.domain.exit_requests):
# `approver_id` NULL on an HR step (any HR member decides). `moved_from_id`: the approver who left
# before deciding, whose step moved here (R-POST-2).
exit_request_steps = Table(
    "exit_request_steps",
    metadata,
    _tid(),
    Column("request_id", Id, nullable=False),
    Column("position", Integer, nullable=False),  # 1, 2, ... in the flow's order
    Column("kind", String(24), nullable=False),
    Column("approver_id", Id),
    Column("state", String(16), nullable=False),
    Column("note", String(32)),  # why skipped, or fallback (offboard.domain.vocabulary.StepNote)
    Column("moved_from_id", Id),
    Column("since", UTCDateTime),  # when it began to wait
    Column("decided_by", String(32)),  # audit id: the approver, an HR member or a super admin
    Column("decided_at", UTCDateTime),
    Column("comment", Text),
    PrimaryKeyConstraint("tenant_id", "request_id", "position"),
    _fk(["request_id"], "exit_requests", ["id"]),
    _member_fk("approver_id"),
    _member_fk("moved_from_id"),
    Index("ix_exit_request_steps_tenant_approver_state", "tenant_id", "approver_id", "state"),
)

# SPEC §7: items a tenant adds to the 12 (attested with evidence), attestations, sign-offs.
checklist_items = Table(
    "checklist_items",
    metadata,
    _tid(),
    Column("key", String(40), nullable=False),
    Column("title", String(128), nullable=False),
    Column("owner_role", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
)

checklist_attestations = Table(
    "checklist_attestations",
    metadata,
    _tid(),
    Column("exit_id", Id, nullable=False),
    Column("item_key", String(40), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("attested_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "exit_id", "item_key"),
    _fk(["exit_id"], "exits", ["id"]),
    _member_fk("member_id"),
)

exit_signoffs = Table(
    "exit_signoffs",
    metadata,
    _tid(),
    Column("exit_id", Id, nullable=False),
    Column("role", String(8), nullable=False),
    Column("member_id", Id, nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "exit_id", "role"),
    _fk(["exit_id"], "exits", ["id"]),
    _member_fk("member_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    _tid(),
    Column("seq", BigInteger, nullable=False),
    Column("at", String(32), nullable=False),  # the exact text hashed in the core
    Column("actor", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("targets", Json, nullable=False),
    Column("side_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id", "seq"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    Index("ix_audit_events_tenant_at", "tenant_id", "at"),  # a rollback plan's "since", the audit page's days
)

# The unhashed side record: details and any personal data, sealed or erased with the member.
audit_side = Table(
    "audit_side",
    metadata,
    _tid(),
    Column("seq", BigInteger, nullable=False),
    Column("details", Json, nullable=False),
    # The salts of the member's personal values in details (offboard.audit.personal); NULL when none.
    Column("salts", Json),
    PrimaryKeyConstraint("tenant_id", "seq"),
    _fk(["seq"], "audit_events", ["seq"]),
)

# A departed member's data key (R-LAW-3): made when their exit is finalized, wrapped by the
# key-encryption key of their data region (envelope encryption); destroying it (erasure) makes
# every sealed copy unreadable.
member_data_keys = Table(
    "member_data_keys",
    metadata,
    _tid(),
    Column("member_id", Id, nullable=False),
    Column("region", String(8), nullable=False),
    Column("kek_id", String(80), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "member_id"),
    _member_fk("member_id"),
)

# A legal hold (R-LAW-2): a departed member's records, all of them or some kinds, kept past
# every retention and erasure until it is released; placed and released with a reason.
legal_holds = Table(
    "legal_holds",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("kinds", Json, nullable=False),  # record kinds (offboard.domain.data_lifecycle.RecordKind); empty: every kind
    Column("reason", String(500), nullable=False),
    Column("placed_by", String(32), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("released_at", UTCDateTime),
    Column("released_by", String(32)),
    Column("release_reason", String(500)),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    Index("ix_legal_holds_tenant_member", "tenant_id", "member_id"),
)

# An erasure request (R-LAW-1) and its steps, each done now or when its retention or hold ends
# (INV-6): the request's schedule. Steps are named by offboard.domain.data_lifecycle.Step.
erasure_requests = Table(
    "erasure_requests",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("member_id", Id, nullable=False),
    Column("mode", String(16), nullable=False),  # the tenant's data clearing when filed
    Column("scope", Json, nullable=False),  # the modules (selective) or the level (levels) asked for
    Column("reason", String(500), nullable=False),
    Column("verified", String(500)),  # how the member's identity was checked, when filed on their behalf
    Column("requested_by", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # open | done
    Column("done_at", UTCDateTime),
    PrimaryKeyConstraint("tenant_id", "id"),
    _member_fk("member_id"),
    Index("ix_erasure_requests_tenant_member", "tenant_id", "member_id"),
    Index("ix_erasure_requests_tenant_state", "tenant_id", "state"),
)
erasure_steps = Table(
    "erasure_steps",
    metadata,
    _tid(),
    Column("request_id", Id, nullable=False),
    Column("step", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # pending | done | kept
    Column("due_at", UTCDateTime),  # when it runs; NULL while a hold or the exit's finalization holds it back
    Column("waiting_for", String(24)),  # retention | hold | finalization | compliant_deletion; NULL when due
    Column("rows", BigInteger),  # what it erased, once done
    Column("done_at", UTCDateTime),
    PrimaryKeyConstraint("tenant_id", "request_id", "step"),
    _fk(["request_id"], "erasure_requests", ["id"]),
)

# The tenant's Merkle tree over its audit events (SPEC §8, offboard.audit.merkle): the perfect
# subtrees of level 1 and up, node (level, idx) covering leaves [idx * 2**level, (idx + 1) *
# 2**level); level 0 is audit_events.hash. Grown by each checkpoint, never changed.
audit_tree_nodes = Table(
    "audit_tree_nodes",
    metadata,
    _tid(),
    Column("level", Integer, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id", "level", "idx"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
)

# The tree's signed heads: a C2SP checkpoint of the first `size` events, signed with the
# tenant's audit key (`note`, the whole signed note, as an auditor receives it).
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    _tid(),
    Column("size", BigInteger, nullable=False),
    Column("root", String(64), nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("note", Text, nullable=False),
    Column("reason", String(16), nullable=False),  # hourly | privileged | requested | report
    Column("signed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "size"),
    _fk(["key_id"], "audit_signing_keys", ["key_id"]),
)

# The tenant's Ed25519 audit keys: the public key in the open, the private one wrapped by the
# key vault under the tenant's region (offboard.crypto.vault). The newest signs.
audit_signing_keys = Table(
    "audit_signing_keys",
    metadata,
    _tid(),
    Column("key_id", String(8), nullable=False),  # the C2SP key id, hex
    Column("name", String(200), nullable=False),  # the key name, also the checkpoints' origin
    Column("public_key", String(64), nullable=False),  # hex
    Column("region", String(8), nullable=False),
    Column("kek_id", String(80), nullable=False),
    Column("wrapped", Text, nullable=False),  # base64 of the vault's blob
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "key_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
)

# Failed sign-ins per account ("member:<id>") and per client address ("ip:<addr>").
login_throttle = Table(
    "login_throttle",
    metadata,
    _tid(),
    Column("key", String(80), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
)

# Operator tokens are bound to no tenant (SPEC §3.2): the one table without tenant_id.
operator_tokens = Table(
    "operator_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(128), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

# Work after commit (SPEC §10): one row per event, written in the transaction of the change it
# reports; ids and codes only, never personal data. offboard.jobs.outbox delivers it to every
# subscriber of its topic, each at least once, idempotent by `key`.
outbox = Table(
    "outbox",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("topic", String(64), nullable=False),
    Column("key", String(160), nullable=False),
    Column("payload", Json, nullable=False),
    Column("state", String(16), nullable=False),
    Column("delivered_to", Json, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("last_error", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "key"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    Index("ix_outbox_tenant_state_next", "tenant_id", "state", "next_attempt_at"),
)

# Webhooks out (SPEC §9): an endpoint a tenant subscribed, for some events or all ("*"). The
# signing secret is 32 random bytes wrapped by the tenant region's key-encryption key, like a
# data key (R-LAW-3): a copy of the database alone cannot sign. `app_name` ties the endpoint to
# a third-party app, whose signed callback then acknowledges that app's grants (R-POST-1).
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("description", String(255), nullable=False),
    Column("events", Json, nullable=False),
    Column("app_name", String(128)),
    Column("region", String(8), nullable=False),
    Column("kek_id", String(64), nullable=False),
    Column("secret_wrapped", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
)

# One event for one subscription: retried with exponential back-off until `give_up_at` (24 h
# after it was first due), each attempt's answer kept; re-sending makes it due again.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _tid(),
    Column("id", Id, nullable=False),
    Column("subscription_id", Id, nullable=False),
    Column("event_key", String(160), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("ids", Json, nullable=False),
    Column("event_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("give_up_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", String(255)),
    Column("last_attempt_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "subscription_id", "event_key"),
    _fk(["subscription_id"], "webhook_subscriptions", ["id"]),
    Index("ix_webhook_deliveries_tenant_state_next", "tenant_id", "state", "next_attempt_at"),
)

# Installation-wide settings, e.g. the key that signs console cookies.
instance_settings = Table(
    "instance_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

RESOURCE_TABLES = {
    "external_contact": external_contacts,
    "customer_group": customer_groups,
    "internal_group": internal_groups,
    "document": documents,
    "calendar": calendars,
    "approval_template": approval_templates,
    "approval_task": approval_tasks,
    "self_built_app": self_built_apps,
}

# Tables whose ids are drawn per tenant (see offboard.store.ids).
ID_TABLES = [t for t in metadata.sorted_tables if "id" in t.c and t.name != "tenants"]
