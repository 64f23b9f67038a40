"""Input validation shared by every entry point; each failure names the field and what is allowed."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from offboard.domain.errors import ValidationError, error
from offboard.domain.vocabulary import REGIONS

_USERID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
# Pragmatic address check (RFC 5321 lengths, one @, a dotted domain); the mail server is the real judge.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_MOBILE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")


# Characters that make stored text lie about itself: bidirectional overrides and isolates (an
# RTL override turns "gpj.exe" around on screen), byte-order marks, and non-characters.
_BIDI_AND_INVISIBLE = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufffe\uffff")


def _bad_character(value: str, multiline: bool) -> str | None:
    for ch in value:
        if ch in ("\n", "\t") and multiline:
            continue
        if ch in _BIDI_AND_INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs", "Co"):
            return f"U+{ord(ch):04X}"
    return None


def clean(value: str | None, field: str, *, multiline: bool = False) -> str:
    """Text as a person typed it, in NFC, without control, bidi-override or unpaired surrogate
    characters: a NUL or U+202E stored once would be shown to every later reader."""
    value = unicodedata.normalize("NFC", (value or "").replace("\r\n", "\n")).strip() if value else ""
    bad = _bad_character(value, multiline)
    if bad is not None:
        raise error(
            ValidationError,
            "invalid_character",
            "{field} contains a control or invisible character ({char}); remove it and try again.",
            field=field,
            char=bad,
        )
    return value


def text(value: str | None, field: str, *, max_length: int, required: bool = True, multiline: bool = True) -> str:
    """Free text (a reason, evidence, a title): cleaned, and 1..max_length characters if required."""
    value = clean(value, field, multiline=multiline)
    if (required and not value) or len(value) > max_length:
        raise error(ValidationError, "invalid_text", "{field} must be 1-{max} characters.", field=field, max=max_length)
    return value


def userid(value: str) -> str:
    value = (value or "").strip()
    if not _USERID.fullmatch(value):
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
    value = clean(value, field)
    if not value or len(value) > 128:
        raise error(ValidationError, "invalid_name", "{field} must be 1-128 characters.", field=field)
    return value


def email(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = clean(value, "email")
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise error(ValidationError, "invalid_email", "{value!r} is not a valid email address.", value=value)
    return value


def mobile(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.strip()
    if not _MOBILE.fullmatch(value):
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


def choice(value: str, enum: type[StrEnum], field: str) -> str:
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
