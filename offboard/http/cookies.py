"""The cookies the console sets and the API accepts, signed with the installation's cookie key."""

from __future__ import annotations

from fastapi import Request

from offboard.crypto import signing

SESSION_COOKIE = "ob_session"
DEVICE_COOKIE = "ob_device"


def cookie_key(request: Request) -> bytes:
    return request.app.state.cookie_key


def session_token(request: Request) -> str | None:
    return signing.unsign(cookie_key(request), "session", request.cookies.get(SESSION_COOKIE))
