"""Authentication and tenant selection for API requests."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request

from offboard.actions.auth import Authenticated, authenticate_bearer, authenticate_session
from offboard.actions.context import Services
from offboard.domain.errors import Unauthorized, ValidationError, error
from offboard.http.cookies import session_token
from offboard.http.csrf import CSRF_HEADER, SAFE_METHODS, check_csrf

TENANT_HEADER = "x-offboard-tenant"


def services(request: Request) -> Services:
    return request.app.state.services


def authenticated(request: Request) -> Authenticated:
    """A bearer token, or the console session cookie (then CSRF-checked for state changes)."""
    svc = services(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise error(Unauthorized, "invalid_token", "The API token is invalid, expired or revoked.")
        return authenticate_bearer(svc, credential.strip())
    token = session_token(request)
    if token is None:
        raise error(Unauthorized, "unauthorized", "Sign in or send a valid API token.")
    auth = authenticate_session(svc, token)
    if auth.stage != "full":
        raise error(Unauthorized, "second_factor_required", "Finish signing in with your 6-digit code first.")
    if request.method not in SAFE_METHODS:
        check_csrf(request, token, request.headers.get(CSRF_HEADER))
    return auth


@dataclass(frozen=True)
class TenantScope:
    slug: str
    auth: Authenticated


def tenant_scope(request: Request, auth: Authenticated = Depends(authenticated)) -> TenantScope:
    """The tenant of the credential; the operator names one with the X-Offboard-Tenant header."""
    if auth.tenant_slug is not None:
        return TenantScope(auth.tenant_slug, auth)
    slug = request.headers.get(TENANT_HEADER)
    if not slug:
        raise error(ValidationError, "tenant_required", "An operator token acts on a tenant named in the X-Offboard-Tenant header.")
    return TenantScope(slug, auth)
