"""The names of SPEC §3.1, used verbatim in the database, the API, the CLI and the console."""

from __future__ import annotations

from enum import StrEnum


class MemberStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    EXITED = "exited"
    FINALIZED = "finalized"
    ERASED = "erased"


# A member still belongs to the company (counted in headcounts, holds a unique userid)
# while active or frozen; userids are reusable once the member is finalized (rehire).
PRESENT_STATUSES = (MemberStatus.ACTIVE, MemberStatus.FROZEN)
USERID_HOLDING_STATUSES = (MemberStatus.ACTIVE, MemberStatus.FROZEN, MemberStatus.EXITED)


class TenantStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"


class DepartmentStatus(StrEnum):
    ACTIVE = "active"
    PENDING_DISSOLUTION = "pending_dissolution"
    DISSOLVED = "dissolved"


class ExitState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    FINALIZED = "finalized"
    RESTORED = "restored"
    CANCELLED = "cancelled"


OPEN_EXIT_STATES = (ExitState.SCHEDULED, ExitState.OPEN)


class ExitType(StrEnum):
    VOLUNTARY = "voluntary"
    REMOVAL = "removal"


class ReasonCategory(StrEnum):
    RESIGNATION = "resignation"
    DISMISSAL = "dismissal"
    CONTRACT_END = "contract_end"
    RETIREMENT = "retirement"
    TRANSFER = "transfer"
    OTHER = "other"


class Trigger(StrEnum):
    SELF = "self"
    ADMIN = "admin"
    HR = "hr"
    SCIM = "scim"
    FEED = "feed"
    APPROVAL = "approval"
    PLATFORM = "platform"


class ResourceKind(StrEnum):
    EXTERNAL_CONTACT = "external_contact"
    CUSTOMER_GROUP = "customer_group"
    INTERNAL_GROUP = "internal_group"
    DOCUMENT = "document"
    CALENDAR = "calendar"
    APPROVAL_TEMPLATE = "approval_template"
    APPROVAL_TASK = "approval_task"
    SELF_BUILT_APP = "self_built_app"
    DIRECT_REPORT = "direct_report"
    DEPARTMENT_LEADER = "department_leader"


class LedgerState(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"
    DONE = "done"
    REFUSED = "refused"
    ACCEPTOR_FULL = "acceptor_full"
    UNASSIGNED = "unassigned"
    KEPT = "kept"
    DELETED = "deleted"
    FAILED = "failed"
    REVERTED = "reverted"


class StepKind(StrEnum):
    """A step of an exit that writes or changes ledger rows (or, for finalize, closes it)."""

    EXIT = "exit"  # the exit takes effect: a ledger row per moved resource
    INHERIT = "inherit"  # unassigned resources given to an acceptor: new rows
    TAKEOVER = "takeover"  # waiting transfers whose 24 h are over: rows changed
    RESULT = "result"  # a platform's outcome of one waiting transfer: a row changed
    RESTORE = "restore"  # untouched transfers reverted: rows changed
    FINALIZE = "finalize"  # the exit is closed: no ledger rows


class JobState(StrEnum):
    """A bulk job (R-EXIT-7): planned, then confirmed and run a batch at a time."""

    PLANNED = "planned"  # the combined plan is shown; nothing has changed yet
    RUNNING = "running"  # confirmed: workers take its batches
    DONE = "done"  # every batch ran
    CANCELLED = "cancelled"  # dropped before it was confirmed


class RowStatus(StrEnum):
    """One line of a bulk exit file."""

    INVALID = "invalid"  # the line cannot be read: an unknown member, a bad date, a duplicate
    BLOCKED = "blocked"  # the plan has a blocker (the last super admin, a bad acceptor)
    READY = "ready"  # planned, waiting for its batch
    EXITED = "exited"  # the exit took effect
    SCHEDULED = "scheduled"  # the exit waits for its leave date (R-EXIT-8)
    FAILED = "failed"  # its batch found it changed, or refused it; the others went on


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"
    HR = "hr"
    IT = "it"


class SuperAdminRank(StrEnum):
    """AB roles (R-ADM-3): a tenant has a primary and ideally a backup super admin."""

    PRIMARY = "primary"
    BACKUP = "backup"
    CUSTODIAN = "custodian"  # holds power in escrow until the nominee accepts (feishu, R-ADM-1)


GRANTABLE_RANKS = (SuperAdminRank.PRIMARY, SuperAdminRank.BACKUP)


class RoleStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    WIPE_PENDING = "wipe_pending"
    WIPED = "wiped"
    RETURNED = "returned"


class GrantStatus(StrEnum):
    """A third-party app's grant of a member (R-POST-1)."""

    ACTIVE = "active"
    REAUTH_REQUIRED = "reauth_required"  # revoked at the exit; the app must be told
    ACKNOWLEDGED = "acknowledged"  # the app confirmed, or IT attested it with evidence


class ReimbursementStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class OutboxState(StrEnum):
    PENDING = "pending"  # not yet delivered to every subscriber; due at next_attempt_at
    FAILING = "failing"  # a subscriber failed; retried with exponential back-off
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the last attempt; listed until someone looks


class WebhookStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # kept, sent nothing; deliveries wait until it is active again
    REMOVED = "removed"  # kept with its deliveries for the record, never sent again


class ExitRequestState(StrEnum):
    """A member's exit request (离职申请) in an approval flow (SPEC §6 `approval_flow`)."""

    PENDING = "pending"  # waiting at one of its steps
    APPROVED = "approved"  # every step approved: the exit is scheduled for the leave date
    REJECTED = "rejected"  # a step rejected it
    WITHDRAWN = "withdrawn"  # the member took it back before a decision
    CANCELLED = "cancelled"  # the member left another way (a removal) before a decision


class ApproverKind(StrEnum):
    """Who decides a step of an exit request, as a tenant's flow names it."""

    MANAGER = "manager"  # the requester's direct manager
    DEPARTMENT_LEADER = "department_leader"  # the leader of the requester's primary department
    HR = "hr"  # any member holding the HR role
    MEMBER = "member"  # a member named in the flow (member:<userid>)


class ApprovalState(StrEnum):
    """A step of an exit request."""

    UPCOMING = "upcoming"  # a later step, not reached yet
    WAITING = "waiting"  # the current step: waits for its approver
    APPROVED = "approved"
    REJECTED = "rejected"
    SKIPPED = "skipped"  # no usable approver when the request was filed (the note says why)
    CLOSED = "closed"  # never decided: the request ended before (withdrawn, rejected, cancelled)


class StepNote(StrEnum):
    """Why a step of an exit request was skipped when filed, or why HR decides it."""

    NO_MANAGER = "no_manager"
    NO_LEADER = "no_leader"  # no primary department, or it has no leader
    APPROVER_INACTIVE = "approver_inactive"
    APPROVER_IS_REQUESTER = "approver_is_requester"  # one does not approve one's own exit
    SAME_APPROVER = "same_approver"  # the same person decides an earlier step already
    FALLBACK = "fallback"  # every step of the flow was skipped: HR decides


class Profile(StrEnum):
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"


REGIONS = ("cn", "eu", "us", "sg")
