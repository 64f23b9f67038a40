"""Messages in zh-CN and en (SPEC §9). English templates are the msgids of the zh-CN catalogue.

The catalogue is a gettext .po file read with Babel at first use, so no compile step is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from offboard.i18n.glossary import Term, Terms, term

__all__ = ["LANG_COOKIE", "SUPPORTED", "Term", "Terms", "catalogue", "env_locale", "mark", "normalize", "request_locale", "term", "translate"]

SUPPORTED = ("zh-CN", "en")
_DIR = Path(__file__).parent


def mark(text: str) -> str:
    """Marks a message template for the zh-CN catalogue (scripts/sync_catalog.py finds calls of
    `_`, the name modules import this as); it is translated where it is shown."""
    return text


@lru_cache(maxsize=None)
def catalogue(locale: str) -> dict[str, str]:
    if locale != "zh-CN":
        return {}
    with open(_DIR / "zh_CN.po", "rb") as fh:
        cat = read_po(fh, locale="zh_CN")
    # A plural entry's id and string are tuples; no message here has a plural form.
    return {m.id: m.string for m in cat if isinstance(m.id, str) and isinstance(m.string, str) and m.id and m.string and not m.fuzzy}


def normalize(tag: str | None) -> str:
    """Map an Accept-Language value or a LANG setting to a supported locale."""
    if not tag:
        return "en"
    for part in tag.replace("_", "-").split(","):
        lang = part.split(";")[0].strip().split(".")[0].lower()
        if lang.startswith("zh"):
            return "zh-CN"
        if lang.startswith("en"):
            return "en"
    return "en"


LANG_COOKIE = "ob_lang"


def request_locale(cookies: Mapping[str, str], accept_language: str | None) -> str:
    """The locale of an HTTP request, the same for the API and the console: the member's choice
    (the console's language cookie), else Accept-Language."""
    chosen = cookies.get(LANG_COOKIE)
    if chosen in SUPPORTED:
        return chosen
    return normalize(accept_language)


def env_locale() -> str:
    return normalize(os.environ.get("OFFBOARD_LANG") or os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG"))


def translate(template: str, locale: str = "en", **params: object) -> str:
    """The template in `locale` with its parameters filled in; a vocabulary parameter (a
    glossary Term or Terms) is filled in with its word in that language, never its key."""
    text = catalogue(locale).get(template, template)
    params = {k: v.render(locale) if isinstance(v, Term | Terms) else v for k, v in params.items()}
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        return template.format(**params)
