"""Input validation shared by every entry point; each failure names the field and what is allowed."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from offboard.domain.errors import ValidationError, error
from offboard.domain.vocabulary import REGIONS

_USERID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
# Pragmatic address check (RFC 5321 lengths, one @, a dotted domain); the mail server is the real judge.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_MOBILE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")


def userid(value: str) -> str:
    value = (value or "").strip()
    if not _USERID.match(value):
        raise error(
            ValidationError,
            "invalid_userid",
            "Userid {value!r} is not valid: use 1-64 letters, digits or . _ @ -, starting with a letter or digit.",
            value=value,
        )
    return value


def slug(value: str) -> str:
    if not _SLUG.fullmatch(value or ""):  # fullmatch: `$` would let a trailing newline through
        raise error(
            ValidationError,
            "invalid_slug",
            "Slug {value!r} is not valid: use 2-40 lowercase letters, digits or -, starting with a letter or digit.",
            value=value,
        )
    return value


def name(value: str, field: str = "name") -> str:
    value = (value or "").strip()
    if not value or len(value) > 128:
        raise error(ValidationError, "invalid_name", "{field} must be 1-128 characters.", field=field)
    return value


def email(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise error(ValidationError, "invalid_email", "{value!r} is not a valid email address.", value=value)
    return value


def mobile(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.strip()
    if not _MOBILE.match(value):
        raise error(
            ValidationError,
            "invalid_mobile",
            "{value!r} is not a valid mobile number: use digits, spaces or -, optionally after +.",
            value=value,
        )
    return value


def region(value: str) -> str:
    if value not in REGIONS:
        raise error(
            ValidationError,
            "invalid_region",
            "Unknown data region {value!r}; choose one of: {choices}.",
            value=value,
            choices=", ".join(REGIONS),
        )
    return value


def timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise error(
            ValidationError,
            "invalid_timezone",
            "Unknown time zone {value!r}; use an IANA name such as Asia/Shanghai.",
            value=value,
        ) from None
    return value


def choice(value: str, enum: type, field: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        raise error(
            ValidationError,
            "invalid_choice",
            "{field} must be one of: {choices}.",
            field=field,
            choices=", ".join(e.value for e in enum),
        ) from None
