"""Words the exports use: the glossary's for the vocabulary (offboard.i18n.glossary), and the
console's msgids for the rest, so each is translated once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from offboard.i18n import glossary, translate
from offboard.i18n import mark as _


DETAILS = {
    "open": _("open reimbursements"),
    "unacknowledged": _("grants not acknowledged"),
    "unarchived": _("records not archived"),
    "admin_roles": _("admin roles"),
    "sessions": _("live sessions"),
    "tokens": _("live tokens"),
    "devices": _("devices not wiped"),
}
ACTORS = {"system": _("The system"), "operator": _("The operator")}
TOKEN = _("API token #{id}")
NOBODY = "—"


def term(kind: str, value: str | None, locale: str) -> str:
    """A vocabulary value of `kind` in words (offboard.i18n.glossary)."""
    return glossary.term(kind, value, locale) if value else NOBODY


def local_time(value: str | None, tz: str) -> str:
    """A stored UTC time in the enterprise's time zone, as the console shows times."""
    if not value:
        return NOBODY
    try:
        return datetime.fromisoformat(value).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError, KeyError):
        return value


def actor_words(ref: str, name: str | None, locale: str) -> str:
    """Who an audit id is: a member's name, the system or the operator, an API token."""
    if name:
        return name
    kind, _sep, raw = ref.partition(":")
    if kind == "token":
        return translate(TOKEN, locale, id=raw)
    return translate(ACTORS.get(ref, ref), locale)


def detail_text(detail: dict[str, int], locale: str) -> str:
    """What an open item still waits for, e.g. "外部联系人 72、会话 1"."""
    words = [f"{translate(DETAILS[key], locale) if key in DETAILS else term('resource_kind', key, locale)} {n}" for key, n in detail.items() if n and key != "sealed"]
    return glossary.join(words, locale)
