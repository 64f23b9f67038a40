"""CSRF for a cookie session: a token derived from the session, sent in a form field or the
X-CSRF-Token header, and the same-origin check of every state change."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from offboard.crypto import signing
from offboard.crypto.secrets import equal
from offboard.domain.errors import Forbidden, error
from offboard.http.cookies import cookie_key

CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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
