"""Templates with per-request translation and locale choice. Pages name a vocabulary value
through `term(kind, value)` (offboard.i18n.glossary), never by printing the value itself."""

from __future__ import annotations

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

    html = env.get_template(template).render(request=request, _=_, term=term, terms=terms, role_label=role_label, locale=locale, demo=request.app.state.demo, **context)
    return HTMLResponse(html, status_code=status_code)
