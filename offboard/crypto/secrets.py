"""Password hashing (Argon2id), TOTP secrets and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP / ASVS minimum for Argon2id: t=2, m=19 MiB, p=1.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


TENANT_TOKEN = "obt"
OPERATOR_TOKEN = "obo"


def new_token(tenant_id: int | None) -> tuple[str, str, str]:
    """(plaintext shown once, display prefix, stored SHA-256 hex). 256 random bits need no slow hash.

    A tenant token carries its tenant id (obt_<tenant>_<prefix>_<secret>) so its lookup is
    tenant-keyed like every index; an operator token (obo_<prefix>_<secret>) has no tenant.
    """
    prefix = secrets.token_hex(4)
    head = f"{TENANT_TOKEN}_{tenant_id}" if tenant_id is not None else OPERATOR_TOKEN
    plaintext = f"{head}_{prefix}_{secrets.token_urlsafe(32)}"
    return plaintext, prefix, token_digest(plaintext)


def token_tenant(plaintext: str) -> int | None:
    """The tenant id a tenant token names, or None (operator token or garbage)."""
    parts = plaintext.split("_", 2)
    if len(parts) == 3 and parts[0] == TENANT_TOKEN and is_digits(parts[1]) and len(parts[1]) <= 18:
        return int(parts[1])
    return None


def new_session_token(tenant_id: int) -> str:
    return f"{tenant_id}.{secrets.token_urlsafe(32)}"


def session_tenant(token: str) -> int | None:
    head, _, rest = token.partition(".")
    return int(head) if is_digits(head) and len(head) <= 18 and rest else None


def is_digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts "１２" and "²", and int("²") raises."""
    return bool(text) and text.isascii() and text.isdigit()


def equal(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of any two texts. `hmac.compare_digest` refuses (raises on)
    non-ASCII str, so both sides are compared as UTF-8 bytes; a missing side never matches."""
    if a is None or b is None:
        return False
    return secrets.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()
