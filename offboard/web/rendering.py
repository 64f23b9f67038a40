"""Templates with per-request translation and locale choice. Pages name a vocabulary value
through `term(kind, value)` (offboard.i18n.glossary), never by printing the value itself."""

from __future__ import annotations

import itertools
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from offboard.http.locale import locale_of
from offboard.i18n import LANG_COOKIE, glossary, translate

__all__ = ["HERE", "LANG_COOKIE", "render"]

HERE = Path(__file__).parent

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


@dataclass
class _Page:
    """The page being rendered, for a macro imported without the page's context
    (`{% from "_people.html" import picker %}`), which sees only the environment's globals."""

    locale: str
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))


_PAGE: ContextVar[_Page | None] = ContextVar("offboard_page", default=None)


def _translate_for_page(text: str, **params: Any) -> str:
    page = _PAGE.get()
    return translate(text, page.locale if page else "en", **params)


def _element_id(prefix: str) -> str:
    """An id unique within the page being rendered: prefix-1, prefix-2, ..."""
    page = _PAGE.get()
    return f"{prefix}-{next(page.ids) if page else 0}"


env.globals.update({"_": _translate_for_page, "element_id": _element_id})


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = locale_of(request)

    def _(text: str, **params: Any) -> str:
        return translate(text, locale, **params)

    def term(kind: str, value: Any) -> str:
        """A vocabulary value as its word in the glossary: `term("member_status", m.status)`."""
        return glossary.term(kind, value, locale)

    def terms(kind: str, values: Any) -> str:
        return glossary.join((glossary.term(kind, v, locale) for v in values), locale)

    def role_label(held: str) -> str:
        """A role as the member lists write it ("super_admin:primary (suspended)") in words."""
        name, _sep, status = held.partition(" (")
        role_key, _sep, rank = name.partition(":")
        words = glossary.term("role", role_key, locale) + (" · " + glossary.term("super_admin_rank", rank, locale) if rank else "")
        return words + (f" ({glossary.term('role_status', status.rstrip(')'), locale)})" if status else "")

    token = _PAGE.set(_Page(locale))
    try:
        html = env.get_template(template).render(request=request, _=_, term=term, terms=terms, role_label=role_label, locale=locale, demo=request.app.state.demo, **context)
    finally:
        _PAGE.reset(token)
    return HTMLResponse(html, status_code=status_code)
