"""Authentication and tenant selection for API requests."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Depends, Request

from offboard.actions.auth import Authenticated, authenticate_bearer, authenticate_session
from offboard.actions.context import Services
from offboard.crypto import signing
from offboard.crypto.secrets import equal
from offboard.domain.errors import Forbidden, Unauthorized, ValidationError, error

SESSION_COOKIE = "ob_session"
DEVICE_COOKIE = "ob_device"
CSRF_HEADER = "x-csrf-token"
TENANT_HEADER = "x-offboard-tenant"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def services(request: Request) -> Services:
    return request.app.state.services


def cookie_key(request: Request) -> bytes:
    return request.app.state.cookie_key


def session_token(request: Request) -> str | None:
    return signing.unsign(cookie_key(request), "session", request.cookies.get(SESSION_COOKIE))


def csrf_token_for(request: Request, token: str) -> str:
    return signing.derive(cookie_key(request), "csrf", token)


def check_same_origin(request: Request) -> None:
    """Refuse a state change whose Origin (or Referer) names another site."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # "http://[" and the like: no site at all, so not this one
        netloc = None
    if netloc != request.headers.get("host", ""):
        raise error(Forbidden, "cross_site_request", "Cross-site request refused.")


def check_csrf(request: Request, token: str, submitted: str | None) -> None:
    check_same_origin(request)
    if not equal(submitted, csrf_token_for(request, token)):
        raise error(Forbidden, "csrf_failed", "The form has expired or did not come from this site; reload the page and try again.")


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
