"""Sign-in, second factor, sessions and bearer tokens (INV-7, ASVS 4.0.3 §2.2).

Failed attempts are counted in three places, each slowing further attempts down
exponentially after a few free ones:
- per userid typed (known or not, so the answers do not tell which userids exist); after 100
  consecutive failures it stops accepting passwords, except from a browser holding a device
  cookie from an earlier successful sign-in, so an attacker cannot lock its owner out;
- per member for the second factor, never reset by a correct password (someone holding a
  stolen password must not get fresh guesses at the code); after 10 wrong codes in a row the
  second factor locks until an admin unlocks it, and the lock is audited and listed for the
  super admins and IT;
- per client address; a known device or a correct second factor passes a blocked address,
  so one address shared behind a proxy does not lock out everyone behind it.
Failures are committed before the error is raised, so a rolled-back request never forgets
an attempt.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

import pyotp
from sqlalchemy import ColumnElement, Connection, Table, delete, func, insert, or_, select, update

from offboard.actions.context import Services, UnitOfWork, resolve_actor, tenant_transaction
from offboard.crypto.secrets import equal, is_digits, new_session_token, new_token, session_tenant, token_digest, token_tenant, verify_password, hash_password
from offboard.domain import validation as v
from offboard.domain.authz import OPERATOR, REVERIFY_AFTER, Actor
from offboard.domain.errors import OffboardError, TenantFrozen, Unauthorized, error
from offboard.domain.vocabulary import MemberStatus, RoleStatus, TenantStatus
from offboard.store import ids, repo, super_admins
from offboard.store.rows import AnyRow
from offboard.store.tables import api_tokens, credentials, login_throttle, members, operator_tokens, roles, sessions, tenants

SESSION_TTL = timedelta(hours=12)
TOTP_STEP = 30
FREE_FAILURES = 5
MAX_DELAY = timedelta(minutes=15)
HARD_STOP = 100
TOTP_LOCK = 10
IP_WINDOW = timedelta(minutes=15)
IP_LIMIT = 50
TOUCH_EVERY = timedelta(minutes=1)


class TooManyAttempts(OffboardError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed sign-ins; try again in {seconds} seconds.", seconds=retry_after)
        self.retry_after = retry_after


class AccountLocked(OffboardError):
    code = "account_locked"
    status = 423
    template = "This account is locked after too many failed sign-ins; sign in from a browser you used before, or ask an admin to unlock it."


class SecondFactorLocked(OffboardError):
    code = "second_factor_locked"
    status = 423
    template = "Too many wrong codes in a row: signing in to this account is locked. Your admins have been told; ask a super admin or IT to unlock it."


def _bad_credentials() -> Unauthorized:
    return error(Unauthorized, "bad_credentials", "Wrong enterprise, userid or password.")


@dataclass(frozen=True)
class SignIn:
    session_token: str
    stage: str  # "password" (second factor owed) or "full"
    member_id: int
    userid: str
    tenant_slug: str


def needs_second_factor(conn: Connection, tenant_id: int, member: AnyRow, now: datetime) -> bool:
    """Every member holding an admin, hr or it role (or super admin) signs in with TOTP, and so
    does an old super admin inside their emergency window (R-ADM-2)."""
    if super_admins.open_window(conn, tenant_id, member.id, now) is not None:
        return True
    return member.status == MemberStatus.ACTIVE and bool(
        conn.execute(select(func.count()).where(roles.c.tenant_id == tenant_id, roles.c.member_id == member.id, roles.c.status == RoleStatus.ACTIVE)).scalar_one()
    )


def _may_sign_in(conn: Connection, tenant_id: int, member: AnyRow, now: datetime) -> bool:
    """An active member; or an old super admin who has left, inside their emergency window and
    enrolled for TOTP: that session can do only the emergency actions (R-ADM-2)."""
    if member.status == MemberStatus.ACTIVE:
        return True
    if member.status != MemberStatus.EXITED or super_admins.open_window(conn, tenant_id, member.id, now) is None:
        return False
    secret = conn.execute(select(credentials.c.totp_secret).where(credentials.c.tenant_id == tenant_id, credentials.c.member_id == member.id)).scalar()
    return bool(secret)


def _failures(conn: Connection, tenant_id: int, key: str) -> AnyRow | None:
    return conn.execute(select(login_throttle).where(login_throttle.c.tenant_id == tenant_id, login_throttle.c.key == key)).first()


def _failure_count(conn: Connection, tenant_id: int, key: str) -> int:
    row = _failures(conn, tenant_id, key)
    count: int = 0 if row is None else row.failures
    return count


def _wait_seconds(row: AnyRow | None, now: datetime) -> int:
    if row is None or row.failures < FREE_FAILURES:
        return 0
    # Cap the exponent: 2**20 s is far past MAX_DELAY, and from 2**47 s timedelta overflows.
    delay = min(timedelta(seconds=2 ** min(row.failures - FREE_FAILURES, 20)), MAX_DELAY)
    remaining = (row.last_failure_at + delay - now).total_seconds()
    return max(0, int(remaining + 0.999))


def _record_failure(conn: Connection, tenant_id: int, key: str, now: datetime) -> None:
    row = _failures(conn, tenant_id, key)
    if row is None:
        conn.execute(insert(login_throttle).values(tenant_id=tenant_id, key=key, failures=1, last_failure_at=now))
    else:
        failures = 1 if key.startswith("ip:") and now - row.last_failure_at > IP_WINDOW else row.failures + 1
        conn.execute(update(login_throttle).where(login_throttle.c.tenant_id == tenant_id, login_throttle.c.key == key).values(failures=failures, last_failure_at=now))


def _clear_failures(conn: Connection, tenant_id: int, key: str) -> None:
    conn.execute(delete(login_throttle).where(login_throttle.c.tenant_id == tenant_id, login_throttle.c.key == key))


def user_key(userid: str) -> str:
    return f"user:{userid}"[:80]


def totp_key(member_id: int) -> str:
    return f"totp:{member_id}"


def _check_address(conn: Connection, tenant_id: int, ip_key: str, now: datetime) -> None:
    ip_row = _failures(conn, tenant_id, ip_key)
    if ip_row is not None and ip_row.failures >= IP_LIMIT and now - ip_row.last_failure_at <= IP_WINDOW:
        raise TooManyAttempts(int((ip_row.last_failure_at + IP_WINDOW - now).total_seconds()) + 1)


def _check_password_throttle(conn: Connection, tenant_id: int, key: str, ip_key: str, now: datetime, known_device: bool) -> None:
    if known_device:
        return  # a browser that signed in before passes both the address and the account block
    _check_address(conn, tenant_id, ip_key, now)
    row = _failures(conn, tenant_id, key)
    if row is not None and row.failures >= HARD_STOP:
        raise AccountLocked()
    wait = _wait_seconds(row, now)
    if wait:
        raise TooManyAttempts(wait)


def _check_second_factor_throttle(conn: Connection, tenant_id: int, member_id: int, now: datetime) -> None:
    row = _failures(conn, tenant_id, totp_key(member_id))
    if row is not None and row.failures >= TOTP_LOCK:
        raise SecondFactorLocked()
    wait = _wait_seconds(row, now)
    if wait:
        raise TooManyAttempts(wait)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """Verified against when the userid is unknown, so both answers take one Argon2 check."""
    return hash_password(secrets.token_urlsafe(16))


def sign_in(services: Services, tenant_slug: str, userid: str, password: str, *, client: str, device_member_id: int | None = None) -> SignIn:
    """Check a password; open a session (stage "password" when a second factor is owed)."""
    now = services.clock.now()
    failure: OffboardError | None = None
    with services.db.read() as conn:
        tenant = conn.execute(select(tenants).where(tenants.c.slug == tenant_slug)).first()
        if tenant is None:
            # An unknown enterprise answers like a wrong password, in the same time.
            verify_password(_decoy_hash(), password)
            failure = _bad_credentials()
    if failure is not None:
        raise failure
    with tenant_transaction(services, tenant_slug) as uow:
        conn, tenant = uow.conn, uow.tenant
        member = conn.execute(
            select(members)
            .where(members.c.tenant_id == tenant.id, members.c.userid == userid, members.c.status.in_([MemberStatus.ACTIVE, MemberStatus.EXITED]))
            .order_by(members.c.status != MemberStatus.ACTIVE, members.c.id.desc())
            .limit(1)
        ).first()
        if member is not None and not _may_sign_in(conn, tenant.id, member, now):
            member = None
        if member is not None:
            uow.actor = resolve_actor(conn, tenant.id, member.userid, now=now, tenant=tenant)
        account_key = user_key(userid)
        ip_key = f"ip:{client}"
        _check_password_throttle(conn, tenant.id, account_key, ip_key, now, known_device=member is not None and device_member_id == member.id)
        # A frozen account's credentials are locked (R-EXC-1): its password checks like no password.
        unlocked = credentials.c.locked_at.is_(None)
        stored = conn.execute(select(credentials.c.password_hash).where(credentials.c.tenant_id == tenant.id, credentials.c.member_id == member.id, unlocked)).scalar() if member else None
        # An unknown userid, or a member without a password, costs the same Argon2 check.
        password_ok = verify_password(stored or _decoy_hash(), password) and member is not None and stored is not None
        if not password_ok or member is None:  # password_ok implies a member; named for the type checker
            _record_failure(conn, tenant.id, ip_key, now)
            _record_failure(conn, tenant.id, account_key, now)
            uow.audit("auth.sign_in_failed", [f"member:{member.id}"] if member else [], {"userid": userid, "client": client})
            uow.refuse(_bad_credentials())  # the failure and its counters are kept
        else:
            _clear_failures(conn, tenant.id, account_key)  # the password throttle only: never the second factor's
            stage = "password" if needs_second_factor(conn, tenant.id, member, now) else "full"
            token = _open_session(conn, tenant.id, member.id, stage, now)
            uow.audit("auth.signed_in", [f"member:{member.id}"], {"stage": stage, "client": client})
            signed_in = SignIn(token, stage, member.id, member.userid, tenant.slug)
    return signed_in  # a refused sign-in raised its refusal when the transaction ended


def _open_session(conn: Connection, tenant_id: int, member_id: int, stage: str, now: datetime, verified_at: datetime | None = None) -> str:
    token = new_session_token(tenant_id)
    conn.execute(
        insert(sessions).values(
            tenant_id=tenant_id,
            id=ids.next_id(conn, sessions, tenant_id),
            member_id=member_id,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + SESSION_TTL,
            last_seen_at=now,
            stage=stage,
            verified_at=verified_at,
        )
    )
    return token


def _totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30 s step (current ±1) the code belongs to, or None."""
    # NFKC folds full-width digits (１２３４５６, as a Chinese input method types them) to ASCII.
    code = unicodedata.normalize("NFKC", code or "").strip().replace(" ", "")
    if not is_digits(code) or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP
    for step in (current, current - 1, current + 1):
        if equal(totp.at(step * TOTP_STEP), code):
            return step
    return None


def check_totp(uow: UnitOfWork, member_id: int, code: str) -> bool:
    """Accept each code once: a code of a step already used is a replay, rejected and audited."""
    conn, tid = uow.conn, uow.tenant_id
    cred = conn.execute(select(credentials).where(credentials.c.tenant_id == tid, credentials.c.member_id == member_id)).first()
    if cred is None or not cred.totp_secret:
        uow.audit("auth.totp_failed", [f"member:{member_id}"], {"reason": "not_enrolled"})
        return False
    step = _totp_step(cred.totp_secret, code, uow.now)
    if step is None:
        uow.audit("auth.totp_failed", [f"member:{member_id}"], {"reason": "wrong_code"})
        return False
    if cred.totp_last_step is not None and step <= cred.totp_last_step:
        uow.audit("auth.totp_replayed", [f"member:{member_id}"], {"step": step})
        return False
    conn.execute(update(credentials).where(credentials.c.tenant_id == tid, credentials.c.member_id == member_id).values(totp_last_step=step))
    return True


def second_factor_ok(uow: UnitOfWork, member_id: int, code: str) -> bool:
    """A code typed into a form that asks for it again (a restore, R-EXIT-6): the second factor's
    own throttle applies here too, and a wrong code counts. The caller refuses with
    `uow.refuse(...)` on False, so the count and the audit event are kept."""
    _check_second_factor_throttle(uow.conn, uow.tenant_id, member_id, uow.now)
    key = totp_key(member_id)
    if check_totp(uow, member_id, code):
        _clear_failures(uow.conn, uow.tenant_id, key)
        return True
    _record_failure(uow.conn, uow.tenant_id, key, uow.now)
    failures = _failure_count(uow.conn, uow.tenant_id, key)
    if failures >= TOTP_LOCK:
        uow.audit("auth.second_factor_locked", [f"member:{member_id}"], {"failures": failures, "client": "form"})
    return False


def _session_tenant_id(services: Services, token: str) -> int:
    """The tenant a session token names; a token naming no existing tenant is an ended session."""
    tenant_id = session_tenant(token)
    if tenant_id is not None:
        with services.db.read() as conn:
            if conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id)).first() is not None:
                return tenant_id
    raise error(Unauthorized, "session_expired", "Your session has ended; please sign in again.")


def _session_row(conn: Connection, token: str, now: datetime) -> AnyRow:
    tenant_id = session_tenant(token)
    row = None
    if tenant_id is not None:
        row = conn.execute(
            select(sessions, tenants.c.slug).join(tenants, tenants.c.id == sessions.c.tenant_id).where(sessions.c.tenant_id == tenant_id, sessions.c.token_hash == token_digest(token))
        ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise error(Unauthorized, "session_expired", "Your session has ended; please sign in again.")
    return row


def verify_second_factor(services: Services, session_token: str, code: str, *, client: str) -> str:
    """Finish a sign-in, or re-verify a signed-in session, with a TOTP code.

    Returns the session token to use from now on: finishing a sign-in rotates it (the token
    seen before the second factor, e.g. on a shared machine, is worthless afterwards); a
    re-verification keeps it. The per-address block does not apply here: the code is the
    proof, and its own per-member throttle limits the guesses.
    """
    current = session_token
    with tenant_transaction(services, tenant_id=_session_tenant_id(services, session_token)) as uow:
        conn, tenant, now = uow.conn, uow.tenant, uow.now
        row = _session_row(conn, session_token, now)
        _check_second_factor_throttle(conn, tenant.id, row.member_id, now)
        uow.actor = Actor(kind="member", member_id=row.member_id)
        key = totp_key(row.member_id)
        if check_totp(uow, row.member_id, code):
            _clear_failures(conn, tenant.id, key)
            if row.stage == "full":
                conn.execute(update(sessions).where(sessions.c.tenant_id == tenant.id, sessions.c.id == row.id).values(verified_at=now))
            else:
                conn.execute(update(sessions).where(sessions.c.tenant_id == tenant.id, sessions.c.id == row.id).values(revoked_at=now))
                current = _open_session(conn, tenant.id, row.member_id, "full", now, verified_at=now)
            uow.audit("auth.second_factor_verified", [f"member:{row.member_id}"], {"stage_before": row.stage})
        else:
            _record_failure(conn, tenant.id, key, now)
            _record_failure(conn, tenant.id, f"ip:{client}", now)
            failures = _failure_count(conn, tenant.id, key)
            if failures >= TOTP_LOCK:
                uow.audit("auth.second_factor_locked", [f"member:{row.member_id}"], {"failures": failures, "client": client})
                uow.refuse(SecondFactorLocked())
            else:
                uow.refuse(error(Unauthorized, "bad_totp", "That code is wrong, expired or already used; enter the current 6-digit code."))
    return current


@dataclass(frozen=True)
class Authenticated:
    tenant_slug: str | None  # None: the operator, bound to no tenant
    actor: Actor
    session_id: int | None = None
    stage: str = "full"
    verified_at: datetime | None = None

    def recently_verified(self, now: datetime) -> bool:
        return self.verified_at is not None and now - self.verified_at <= REVERIFY_AFTER


def authenticate_session(services: Services, session_token: str) -> Authenticated:
    """A console session; rejected once revoked, expired, or its member is no longer active (INV-7)."""
    now = services.clock.now()
    with services.db.read() as conn:
        row = _session_row(conn, session_token, now)
        member = repo.member_by_id(conn, row.tenant_id, row.member_id)
        if not _may_sign_in(conn, row.tenant_id, member, now):
            raise error(Unauthorized, "session_expired", "Your session has ended; please sign in again.")
        actor = replace(resolve_actor(conn, row.tenant_id, member.userid, now=now), prompted=True, verified_at=row.verified_at)
    return Authenticated(row.slug, actor, row.id, row.stage, row.verified_at)


def sign_out(services: Services, session_token: str) -> None:
    with tenant_transaction(services, tenant_id=_session_tenant_id(services, session_token)) as uow:
        row = _session_row(uow.conn, session_token, uow.now)
        uow.conn.execute(update(sessions).where(sessions.c.tenant_id == row.tenant_id, sessions.c.id == row.id).values(revoked_at=uow.now))
        uow.actor = Actor(kind="member", member_id=row.member_id)
        uow.audit("auth.signed_out", [f"member:{row.member_id}"], {})


def authenticate_bearer(services: Services, token: str) -> Authenticated:
    """A personal, service or operator token; revoked or expired tokens fail on their next use (INV-7)."""
    now = services.clock.now()
    digest = token_digest(token or "")
    invalid = error(Unauthorized, "invalid_token", "The API token is invalid, expired or revoked.")
    with services.db.write() as conn:
        op = conn.execute(select(operator_tokens).where(operator_tokens.c.token_hash == digest)).first()
        if op is not None:
            if op.revoked_at is not None:
                raise invalid
            _touch(conn, operator_tokens, operator_tokens.c.id == op.id, op.last_used_at, now)
            return Authenticated(None, OPERATOR)
        tenant_id = token_tenant(token or "")
        row = None
        if tenant_id is not None:
            row = conn.execute(
                select(api_tokens, tenants.c.slug).join(tenants, tenants.c.id == api_tokens.c.tenant_id).where(api_tokens.c.tenant_id == tenant_id, api_tokens.c.token_hash == digest)
            ).first()
        if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            raise invalid
        if conn.execute(select(tenants.c.status).where(tenants.c.id == row.tenant_id)).scalar_one() == TenantStatus.FROZEN:
            raise TenantFrozen()  # R-ADM-4: every token of a frozen enterprise, until recovery
        scopes = frozenset(row.scopes or ())
        if row.member_id is None:
            actor = Actor(kind="service", scopes=scopes, token_id=row.id)
        else:
            member = repo.member_by_id(conn, row.tenant_id, row.member_id)
            if member.status != MemberStatus.ACTIVE:
                raise invalid
            actor = replace(resolve_actor(conn, row.tenant_id, member.userid, now=now), scopes=scopes, token_id=row.id)
        _touch(conn, api_tokens, (api_tokens.c.tenant_id == row.tenant_id) & (api_tokens.c.id == row.id), row.last_used_at, now)
    return Authenticated(row.slug, actor)


def _touch(conn: Connection, table: Table, where: ColumnElement[bool], last_used_at: datetime | None, now: datetime) -> None:
    """Record use at most once a minute, so reads do not become a write per request."""
    if last_used_at is None or now - last_used_at >= TOUCH_EVERY:
        conn.execute(update(table).where(where).where(or_(table.c.last_used_at.is_(None), table.c.last_used_at < now - TOUCH_EVERY)).values(last_used_at=now))


@dataclass(frozen=True)
class OperatorTokenCreated:
    name: str
    prefix: str
    token: str  # the plaintext: shown once, never stored
    operator: bool = True


def create_operator_token(services: Services, name: str) -> OperatorTokenCreated:
    name = v.name(name, "token name")
    plaintext, prefix, digest = new_token(None)
    with services.db.write() as conn:
        conn.execute(insert(operator_tokens).values(name=name, prefix=prefix, token_hash=digest, created_at=services.clock.now()))
    return OperatorTokenCreated(name, prefix, plaintext)
