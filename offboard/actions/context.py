"""The unit of work every action runs in: one transaction, its audit events, after-commit hooks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import Connection, false, select

from offboard.domain.authz import OPERATOR, Action, Actor, RoleGrant, Target, require, require_fresh, require_scope
from offboard.domain.errors import Forbidden, OffboardError, Term, error
from offboard.domain.policy import Policy
from offboard.clock import SystemClock
from offboard.interfaces import Clock, KeyVault, OutboxSubscriber, PlatformConnector, WebhookSender
from offboard.domain.handover import CUSTODIAN_POWERS, EMERGENCY_POWERS
from offboard.domain.vocabulary import MemberStatus, Role, RoleStatus, SuperAdminRank, TenantStatus
from offboard.store import audit_log, outbox, repo, super_admins
from offboard.store.db import Database
from offboard.store.locks import lock_tenant
from offboard.store.rows import AnyRow
from offboard.store.tables import departments, roles
from offboard.webhooks.sender import HttpWebhookSender


_TOPIC = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass
class Services:
    """What actions need from the outside world; built once in offboard.bootstrap."""

    db: Database
    clock: Clock = field(default_factory=SystemClock)
    subscribers: tuple[OutboxSubscriber, ...] = ()  # of the outbox, see offboard.jobs.outbox
    vault: KeyVault | None = None  # None: nothing can be sealed (R-LAW-3) by these services
    webhooks: WebhookSender = field(default_factory=HttpWebhookSender)
    connectors: tuple[PlatformConnector, ...] = ()


@dataclass
class UnitOfWork:
    conn: Connection
    tenant: AnyRow
    actor: Actor
    now: datetime
    _events: list[audit_log.PendingEvent] = field(default_factory=list)
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _refusal: OffboardError | None = None
    _outbox: list[outbox.PendingItem] = field(default_factory=list)
    _policy: Policy | None = None
    _appended: list[Callable[[Connection, int, int], None]] = field(default_factory=list)
    vault: KeyVault | None = None  # the services' key vault: sealing (R-LAW-3), the audit key

    @property
    def tenant_id(self) -> int:
        tenant_id: int = self.tenant.id
        return tenant_id

    def lock_tenant(self) -> None:
        """Take the tenant lock before changing who holds power (INV-1), and re-read the acting
        member under it: one frozen or exited a moment ago by another transaction no longer acts
        (an old super admin who has left, only inside their emergency window)."""
        lock_tenant(self.conn, self.tenant_id)
        if self.actor.kind != "member" or self.actor.member_id is None:
            return
        status = repo.member_by_id(self.conn, self.tenant_id, self.actor.member_id).status
        if status != MemberStatus.ACTIVE and not (status == MemberStatus.EXITED and self.actor.emergency_until is not None):
            raise error(Forbidden, "actor_inactive", "{userid} is {status} and cannot act.", userid=self.actor.userid, status=Term("member_status", status))

    @property
    def policy(self) -> Policy:
        """The tenant's typed policy (SPEC §6), read once per unit of work."""
        if self._policy is None:
            self._policy = Policy.of(self.tenant.profile, self.tenant.policy)
        return self._policy

    def require(self, action: Action, target: Target | None = None) -> None:
        """The permission check of a change (SPEC §3.2): the actor's roles and token scopes,
        and, for a SENSITIVE action from a console session, a recent second factor."""
        require(self.actor, action, target)
        require_fresh(self.actor, action, self.now)

    def require_own_code(self, action: Action, target: Target | None = None) -> None:
        """The permission check of a change that asks for a code of its own (a handover, an
        unfreeze, a rollback), or of a read: roles and scopes only, the code being the change's
        second factor, so no earlier one is asked for."""
        require(self.actor, action, target)

    def require_fresh_scope(self, action: Action) -> None:
        """For a change whose permission rests on something other than the role table (a
        sign-off by the role it names): the token's scope and the recent second factor."""
        require_scope(self.actor, action)
        require_fresh(self.actor, action, self.now)

    def audit(self, action: str, targets: list[str] | tuple[str, ...], details: dict[str, Any] | None = None) -> None:
        self._events.append(audit_log.PendingEvent(self.actor.audit_id, action, tuple(targets), details or {}))

    def emit(self, topic: str, **ids: int | str) -> None:
        """Work after commit (webhooks, connectors, checkpoint pushes): an outbox row written in
        this transaction, delivered by offboard.jobs.outbox once it commits. Ids and codes only:
        personal data stays in profile columns, where sealing and erasure reach it."""
        if not _TOPIC.fullmatch(topic):
            raise ValueError(f"outbox topic {topic!r} is not a dotted lowercase name")
        for name, value in ids.items():
            if not (isinstance(value, int) or (isinstance(value, str) and _CODE.fullmatch(value))):
                raise ValueError(f"outbox value {name}={value!r} is not an id or a code")
        self._outbox.append(outbox.PendingItem(topic, dict(ids)))

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)

    def when_appended(self, fn: Callable[[Connection, int, int], None]) -> None:
        """`fn(conn, first_seq, last_seq)` once this transaction's audit events are appended,
        still inside it (the chain head is locked until commit): the sequence numbers its own
        events took. Not called when it wrote none."""
        self._appended.append(fn)

    def refuse(self, refusal: OffboardError) -> NoReturn:
        """Refuse the request but keep what was recorded about it (a failed sign-in, a replayed
        code, the attempt counters): the action stops here, the transaction commits, then
        `refusal` is raised."""
        self._refusal = refusal
        raise _Refused


class _Refused(Exception):
    """Stops an action that called `uow.refuse`; tenant_transaction commits, then raises the refusal."""


@contextmanager
def tenant_transaction(
    services: Services,
    tenant_slug: str | None = None,
    by: str | None = None,
    *,
    actor: Actor | None = None,
    tenant_id: int | None = None,
    create: Callable[[Connection], None] | None = None,
) -> Iterator[UnitOfWork]:
    """The one way a state change commits. Opens a write transaction on a tenant, named by slug
    or id (or first inserted by `create`, for a new tenant), acting as `by` (a userid), as an
    authenticated `actor` (re-resolved inside the transaction, so a role removed a moment ago
    no longer counts), or, with neither, as the operator.

    The audit events are appended last, under the chain-head lock, in the same transaction:
    if anything fails, neither the change nor its events are kept (INV-5). A request refused
    with `uow.refuse(...)` commits what it recorded and then raises the refusal.
    """
    with services.db.write() as conn:
        if create is not None:
            create(conn)
        tenant = repo.tenant_by_id(conn, tenant_id) if tenant_id is not None else repo.tenant_by_slug(conn, tenant_slug or "")
        now = services.clock.now()
        uow = UnitOfWork(conn, tenant, _current(conn, tenant, by, actor, now), now, vault=services.vault)
        try:
            yield uow
        except _Refused:
            pass
        outbox.insert_items(conn, tenant.id, uow._outbox, uow.now)
        last = audit_log.append(conn, tenant.id, uow._events, uow.now)
        for hook in uow._appended if uow._events else ():
            hook(conn, last - len(uow._events) + 1, last)
    if uow._refusal is not None:
        raise uow._refusal
    for fn in uow._after_commit:
        fn()


@contextmanager
def tenant_read(services: Services, tenant_slug: str, by: str | None = None, *, actor: Actor | None = None) -> Iterator[tuple[Connection, AnyRow, Actor]]:
    with services.db.read() as conn:
        tenant = repo.tenant_by_slug(conn, tenant_slug)
        yield conn, tenant, _current(conn, tenant, by, actor, services.clock.now())


def _current(conn: Connection, tenant: AnyRow, by: str | None, actor: Actor | None, now: datetime) -> Actor:
    if actor is None:
        return resolve_actor(conn, tenant.id, by, now=now, tenant=tenant)
    if actor.kind != "member":
        return actor
    fresh = resolve_actor(conn, tenant.id, actor.userid, now=now, tenant=tenant)
    return replace(fresh, scopes=actor.scopes, token_id=actor.token_id, prompted=actor.prompted, verified_at=actor.verified_at)


def resolve_actor(conn: Connection, tenant_id: int, by: str | None, *, now: datetime, tenant: AnyRow | None = None) -> Actor:
    """The member `by` with their active roles and the powers they hold outside them (an
    emergency window, a custodian's escrow), as of `now`; the operator when `by` is None. An
    old super admin who has left acts only inside their emergency window (R-ADM-2)."""
    if by is None:
        return OPERATOR
    member = repo.member_by_userid(conn, tenant_id, by)
    tenant = tenant if tenant is not None else repo.tenant_by_id(conn, tenant_id)
    window = super_admins.open_window(conn, tenant_id, member.id, now)
    if member.status != MemberStatus.ACTIVE and not (member.status == MemberStatus.EXITED and window is not None):
        raise error(Forbidden, "actor_inactive", "{userid} is {status} and cannot act.", userid=by, status=Term("member_status", member.status))
    grants = []
    active = roles.c.status == RoleStatus.ACTIVE if member.status == MemberStatus.ACTIVE else false()
    for r in conn.execute(select(roles).where(roles.c.tenant_id == tenant_id, roles.c.member_id == member.id, active)):
        scope_paths: tuple[str, ...] = ()
        if r.role == Role.ADMIN and r.scope:
            scope_paths = tuple(conn.execute(select(departments.c.path).where(departments.c.tenant_id == tenant_id, departments.c.id.in_(r.scope))).scalars())
        grants.append(RoleGrant(Role(r.role), scope_paths, frozenset(r.permissions or ()), r.rank))
    powers: set[Action] = set(EMERGENCY_POWERS) if window is not None else set()
    if any(g.role == Role.SUPER_ADMIN and g.rank == SuperAdminRank.CUSTODIAN for g in grants):
        powers |= CUSTODIAN_POWERS[Policy.of(tenant.profile, tenant.policy).custodian_powers]
    return Actor(
        kind="member",
        member_id=member.id,
        userid=member.userid,
        roles=tuple(grants),
        powers=frozenset(powers),
        emergency_until=window.window_until if window is not None else None,
        tenant_frozen=tenant.status == TenantStatus.FROZEN,
    )
