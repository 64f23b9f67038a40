"""Words the exports use for the vocabulary: English msgids of the zh-CN catalogue, the same ones
the console's exit page shows, so each is translated once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from offboard.i18n import translate


def _(text: str) -> str:
    """Marks a template for the zh-CN catalogue (scripts/sync_catalog.py); translated when shown."""
    return text


TYPES = {"removal": _("Removal (被动退出)"), "voluntary": _("Voluntary exit (主动退出)")}
REASONS = {
    "resignation": _("Resignation"),
    "dismissal": _("Dismissal"),
    "contract_end": _("Contract ended"),
    "retirement": _("Retirement"),
    "transfer": _("Transfer"),
    "other": _("Other"),
}
TRIGGERS = {
    "self": _("The member themselves"),
    "admin": _("An admin"),
    "hr": _("HR"),
    "scim": _("HR system (SCIM)"),
    "feed": _("HR feed"),
    "approval": _("Approval flow"),
    "platform": _("Platform"),
}
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


def term(value: str | None, locale: str, labels: dict[str, str] | None = None) -> str:
    """A vocabulary value in words: its label when it has one, else the value as the catalogue has it."""
    if not value:
        return NOBODY
    return translate(labels.get(value, value) if labels else value, locale)


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
    """What an open item still waits for, e.g. "外部联系人 72, 会话 1"."""
    return ", ".join(f"{term(key, locale, DETAILS)} {n}" for key, n in detail.items() if n and key != "sealed")
