"""Personal API tokens (die with their owner's access, R-EXIT-1) and tenant service tokens
(belong to the tenant, so integrations survive exits). Stored as SHA-256 digests only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.crypto.secrets import new_token
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, Forbidden, NotFound, ValidationError, error
from offboard.store import ids
from offboard.store.tables import api_tokens

SCOPES = tuple(a.value for a in Action if a != Action.TENANT_ADMIN)


def _check_scopes(scopes: list[str]) -> list[str]:
    if not scopes:
        # A token that may do nothing is a mistake, and one that may do everything is a risk:
        # the scopes are always chosen, never implied (SPEC §3.2).
        raise error(
            ValidationError,
            "scopes_required",
            "Name what the token may do, one scope or more (--scope, repeatable): {choices}.",
            choices=", ".join(SCOPES),
        )
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise error(ValidationError, "unknown_scope", "Unknown token scope {scope}; choose from: {choices}.", scope=unknown[0], choices=", ".join(SCOPES))
    return sorted(set(scopes))


@dataclass(frozen=True)
class TokenCreated:
    id: int
    name: str
    service: bool
    scopes: list[str]
    prefix: str
    token: str  # the plaintext: in this answer only, never stored
    expires_at: str | None


def create_token(uow: UnitOfWork, *, name: str, service: bool, scopes: list[str], expires_days: int | None = None) -> TokenCreated:
    """Create a token and return its plaintext, which is shown once and never stored."""
    name = v.name(name, "token name")
    scopes = _check_scopes(scopes)
    if not service and uow.actor.kind != "member":
        raise error(ValidationError, "token_owner_required", "A personal token needs its owner: pass --by USERID, or --service for a tenant token.")
    if uow.actor.scopes is not None:
        # A token narrows its holder (SPEC §3.2): it must not mint a token wider than itself.
        wider = sorted(set(scopes) - uow.actor.scopes)
        if wider:
            raise error(Forbidden, "scope_escalation", "This token may not create a token with scope {scope}, which it does not hold itself.", scope=wider[0])
    if service:
        uow.require(Action.MANAGE_TOKENS)
        owner = None
    else:
        owner = uow.actor.member_id
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise error(ValidationError, "invalid_expiry", "Expiry must be 1-3650 days.")
    plaintext, prefix, digest = new_token(uow.tenant_id)
    token_id = ids.next_id(uow.conn, api_tokens, uow.tenant_id)
    expires_at = uow.now + timedelta(days=expires_days) if expires_days else None
    uow.conn.execute(
        insert(api_tokens).values(
            tenant_id=uow.tenant_id,
            id=token_id,
            member_id=owner,
            name=name,
            prefix=prefix,
            token_hash=digest,
            scopes=scopes,
            created_by=uow.actor.audit_id,
            created_at=uow.now,
            expires_at=expires_at,
        )
    )
    uow.audit("token.created", [f"token:{token_id}", *([f"member:{owner}"] if owner else [])], {"name": name, "service": service, "scopes": scopes, "prefix": prefix})
    return TokenCreated(token_id, name, service, scopes, prefix, plaintext, expires_at.isoformat() if expires_at else None)


def revoke_token(uow: UnitOfWork, token_id: int) -> None:
    row = uow.conn.execute(select(api_tokens).where(api_tokens.c.tenant_id == uow.tenant_id, api_tokens.c.id == token_id)).first()
    if row is None:
        raise error(NotFound, "token_not_found", "No token with id {id} in this enterprise.", id=token_id)
    if row.member_id is None or row.member_id != uow.actor.member_id:
        uow.require(Action.MANAGE_TOKENS)
    if row.revoked_at is not None:
        raise error(Conflict, "token_revoked", "Token {id} was already revoked.", id=token_id)
    uow.conn.execute(update(api_tokens).where(api_tokens.c.tenant_id == uow.tenant_id, api_tokens.c.id == token_id).values(revoked_at=uow.now))
    uow.audit("token.revoked", [f"token:{token_id}"], {"prefix": row.prefix})
