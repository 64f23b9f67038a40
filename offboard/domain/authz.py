"""Who may do what (SPEC §3.2), in one place for every entry point.

An actor is the operator (CLI with database access, or a token bound to no tenant), the
system (timers, sweeps) or a member with their active roles. An admin's scope is a set of
department paths: a target is in scope when one of its departments lies in that subtree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from offboard.domain.errors import Forbidden, TenantFrozen, Term, Unauthorized, error
from offboard.domain.org import is_within
from offboard.domain.vocabulary import ExitType, Role, SuperAdminRank, Trigger


class Action(StrEnum):
    PLAN_EXIT = "plan"
    START_REMOVAL = "remove"
    VOLUNTARY_EXIT = "voluntary_exit"
    RESTORE = "restore"
    INHERIT = "inherit"
    ATTEST_HR = "attest_hr"
    ATTEST_IT = "attest_it"
    READ_DEPARTED_CHATS = "read_chats"
    LEGAL_HOLD = "legal_hold"  # place and release legal holds (R-LAW-2)
    DATA_REQUESTS = "data_requests"  # erasure and subject access requests (R-LAW-1), a member's own included
    MANAGE_ADMINS = "manage_admins"  # handover, backup admin, policy, role grants
    FREEZE = "freeze"
    MANAGE_DIRECTORY = "manage_directory"  # members and departments
    MANAGE_TOKENS = "manage_tokens"  # tenant service tokens
    READ_AUDIT = "read_audit"
    READ_DIRECTORY = "read_directory"
    SCIM = "scim"  # an identity provider provisions and deprovisions members (SCIM 2.0)
    TENANT_ADMIN = "tenant_admin"  # create / recover tenants: operator only
    # Approve or reject a step of a member's exit request (离职申请, SPEC §6 approval_flow): any
    # member, on the steps that name them (offboard.domain.exit_requests.may_decide), never a
    # service token or the operator: a person decides.
    DECIDE_EXIT_REQUESTS = "decide_exit_requests"


# What a console session does only within REVERIFY_AFTER of its last second-factor check: the
# changes that remove people, move what they own, sign for them, or change who holds power. A
# bearer token is itself the credential of an integration and the CLI runs with database
# access, so neither is prompted; a restore asks for a code of its own (R-EXIT-6).
SENSITIVE: frozenset[Action] = frozenset(
    {
        Action.START_REMOVAL,
        Action.VOLUNTARY_EXIT,
        Action.INHERIT,
        Action.ATTEST_HR,
        Action.ATTEST_IT,
        Action.READ_DEPARTED_CHATS,
        Action.LEGAL_HOLD,
        Action.DATA_REQUESTS,
        Action.MANAGE_ADMINS,
        Action.FREEZE,
        Action.MANAGE_TOKENS,
        Action.DECIDE_EXIT_REQUESTS,  # the last approval schedules a member's exit
    }
)
REVERIFY_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class RoleGrant:
    role: Role
    scope_paths: tuple[str, ...] = ()  # admin only; empty means no department
    permissions: frozenset[str] = frozenset()
    rank: str | None = None  # super_admin: primary | backup | custodian (escrow, R-ADM-1)


@dataclass(frozen=True)
class Actor:
    kind: str  # "operator" | "member" | "service" (a tenant service token) | "system"
    member_id: int | None = None
    userid: str | None = None
    roles: tuple[RoleGrant, ...] = field(default=())
    # A bearer token narrows what its holder may do to the token's scopes (action names).
    scopes: frozenset[str] | None = None
    token_id: int | None = None
    # A console session is prompted for its second factor again before a SENSITIVE action;
    # verified_at is when it last gave it (None: not yet in this session).
    prompted: bool = False
    verified_at: datetime | None = None
    # Powers held outside the role table: the old super admin's emergency window (R-ADM-2), a
    # custodian's escrow (R-ADM-1); offboard.domain.handover says which.
    powers: frozenset[Action] = frozenset()
    emergency_until: datetime | None = None
    # The enterprise has no active super admin (R-ADM-4): admin work answers 423 until recovery.
    tenant_frozen: bool = False
    # kind "webhook": a third-party app's signed callback, verified by its endpoint's secret;
    # it may do only what offboard.actions.webhooks.acknowledge_by_callback does, and holds no role.
    webhook_id: int | None = None

    @property
    def audit_id(self) -> str:
        if self.kind == "member":
            return f"member:{self.member_id}"
        if self.kind == "service":
            return f"token:{self.token_id}"
        if self.kind == "webhook":
            return f"webhook:{self.webhook_id}"
        return self.kind

    def has(self, role: Role) -> bool:
        return any(g.role == role for g in self.roles)


OPERATOR = Actor(kind="operator")
SYSTEM = Actor(kind="system")


@dataclass(frozen=True)
class Target:
    """What the authorization needs to know about the member acted upon."""

    member_id: int | None = None
    department_paths: tuple[str, ...] = ()
    is_admin: bool = False  # holds super_admin or admin


_SCOPED = {Action.PLAN_EXIT, Action.START_REMOVAL, Action.RESTORE, Action.INHERIT, Action.MANAGE_DIRECTORY, Action.READ_DIRECTORY}
_HR = {Action.PLAN_EXIT, Action.START_REMOVAL, Action.RESTORE, Action.INHERIT, Action.ATTEST_HR, Action.MANAGE_DIRECTORY, Action.READ_DIRECTORY, Action.DATA_REQUESTS}
# What an admin holding the audit_read permission (an auditing, compliance admin) may do in scope.
_AUDITING = {Action.READ_DEPARTED_CHATS, Action.LEGAL_HOLD, Action.DATA_REQUESTS}
_IT = {Action.PLAN_EXIT, Action.ATTEST_IT, Action.FREEZE, Action.READ_DIRECTORY}
_SUPER = set(Action) - {Action.VOLUNTARY_EXIT, Action.ATTEST_HR, Action.ATTEST_IT, Action.TENANT_ADMIN}


def _in_scope(grant: RoleGrant, target: Target | None) -> bool:
    if target is None:
        return bool(grant.scope_paths)
    return any(is_within(p, scope) for p in target.department_paths for scope in grant.scope_paths)


# What a member does for themself: still possible in a frozen enterprise (R-ADM-4).
def _own(actor: Actor, action: Action, target: Target | None) -> bool:
    return action in (Action.VOLUNTARY_EXIT, Action.PLAN_EXIT) and target is not None and target.member_id == actor.member_id


def _paused(actor: Actor, action: Action, target: Target | None) -> bool:
    """A frozen enterprise pauses what members and its tokens do there, but their own exit."""
    return actor.tenant_frozen and actor.kind in ("member", "service") and not _own(actor, action, target)


def allowed(actor: Actor, action: Action, target: Target | None = None) -> bool:
    if actor.scopes is not None and action.value not in actor.scopes:
        return False
    if _paused(actor, action, target) or actor.kind == "webhook":
        return False
    if actor.kind == "service":
        return action not in (Action.VOLUNTARY_EXIT, Action.READ_DEPARTED_CHATS, Action.TENANT_ADMIN, Action.DECIDE_EXIT_REQUESTS) and not action.startswith("attest")
    if actor.kind in ("operator", "system"):
        # SPEC §3.2: a departed member's chats are read by a super admin or an admin with
        # audit_read only (R-DATA-1), never by the operator; attestations need a person.
        return action not in (Action.VOLUNTARY_EXIT, Action.READ_DEPARTED_CHATS, Action.DECIDE_EXIT_REQUESTS) and not action.startswith("attest")
    is_self = target is not None and target.member_id == actor.member_id
    if action == Action.VOLUNTARY_EXIT:
        return is_self
    if action in (Action.PLAN_EXIT, Action.DATA_REQUESTS) and is_self:
        return True
    if action == Action.DECIDE_EXIT_REQUESTS:
        return True  # which steps: the request's, checked by offboard.domain.exit_requests.may_decide
    if action in actor.powers:
        return True
    for grant in actor.roles:
        if grant.role == Role.SUPER_ADMIN and grant.rank == SuperAdminRank.CUSTODIAN:
            continue  # a custodian's powers are in actor.powers, by the policy
        if grant.role == Role.SUPER_ADMIN and action in _SUPER:
            return True
        if grant.role == Role.ADMIN:
            if action in _SCOPED and _in_scope(grant, target):
                return True
            if action in _AUDITING and "audit_read" in grant.permissions and _in_scope(grant, target):
                return True
        if grant.role == Role.HR and action in _HR:
            if action in (Action.START_REMOVAL, Action.MANAGE_DIRECTORY) and target is not None and target.is_admin:
                continue  # HR may not remove admins (SPEC §3.2), nor change who they are (their name, mail, departments)
            return True
        if grant.role == Role.IT and action in _IT:
            return True
    return False


def require_scope(actor: Actor, action: Action) -> None:
    """A bearer token may do only what its scopes name, whatever its holder's roles allow."""
    if actor.scopes is not None and action.value not in actor.scopes:
        # The token, not the person, is what falls short: say which scope it lacks.
        raise error(
            Forbidden,
            "scope_missing",
            "This API token lacks the {scope} scope; create a token that has it (offboard token create --scope {scope}).",
            scope=action.value,
        )


def needs_reverification(actor: Actor, action: Action, now: datetime) -> bool:
    """A console session must have given its second factor within REVERIFY_AFTER before a
    SENSITIVE action. A member holding no role signs in without one and has none to give."""
    if action not in SENSITIVE or not actor.prompted or not actor.roles:
        return False
    return actor.verified_at is None or now - actor.verified_at > REVERIFY_AFTER


def require_fresh(actor: Actor, action: Action, now: datetime) -> None:
    if needs_reverification(actor, action, now):
        raise error(Unauthorized, "reverification_required", "This change needs your 6-digit code again (the last check was over 5 minutes ago).")


def require(actor: Actor, action: Action, target: Target | None = None) -> None:
    require_scope(actor, action)
    if _paused(actor, action, target):
        raise TenantFrozen()
    if not allowed(actor, action, target):
        raise error(
            Forbidden,
            "forbidden",
            "You may not {action} here; ask a super admin or an admin whose scope covers this member.",
            action=Term("action", action.value),
        )


def default_trigger(actor: Actor, exit_type: str) -> Trigger:
    """Who an exit is recorded as started by when the caller names nothing: the member for
    their own exit; HR when the actor holds HR and no admin role; otherwise an admin."""
    if exit_type == ExitType.VOLUNTARY:
        return Trigger.SELF
    roles = {g.role for g in actor.roles}
    if actor.kind == "member" and Role.HR in roles and not roles & {Role.SUPER_ADMIN, Role.ADMIN}:
        return Trigger.HR
    return Trigger.ADMIN
