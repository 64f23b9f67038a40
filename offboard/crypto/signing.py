"""HMAC-SHA256 signed values for cookies (session, device, CSRF)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from offboard.crypto.secrets import equal
from offboard.store.tables import instance_settings


def load_or_create_key(conn: Connection) -> bytes:
    """OFFBOARD_SECRET_KEY, else a random key kept in the database on first use."""
    env = os.environ.get("OFFBOARD_SECRET_KEY")
    if env:
        return hashlib.sha256(env.encode()).digest()
    value = conn.execute(select(instance_settings.c.value).where(instance_settings.c.name == "cookie_key")).scalar()
    if value is None:
        value = secrets.token_urlsafe(32)
        try:
            with conn.begin_nested():
                conn.execute(insert(instance_settings).values(name="cookie_key", value=value))
        except IntegrityError:  # another process created it first
            value = conn.execute(select(instance_settings.c.value).where(instance_settings.c.name == "cookie_key")).scalar_one()
    return hashlib.sha256(value.encode()).digest()


def _mac(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, purpose: str, value: str) -> str:
    return f"{value}.{_mac(key, purpose, value)}"


def unsign(key: bytes, purpose: str, signed: str | None) -> str | None:
    """The value if the signature is good, else None."""
    if not signed or "." not in signed:
        return None
    value, mac = signed.rsplit(".", 1)
    return value if equal(mac, _mac(key, purpose, value)) else None


def derive(key: bytes, purpose: str, value: str) -> str:
    """A value bound to another (e.g. the CSRF token of a session)."""
    return _mac(key, purpose, value)
