"""Templates with per-request translation and locale choice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from offboard.http.locale import locale_of
from offboard.i18n import LANG_COOKIE, translate

__all__ = ["HERE", "LANG_COOKIE", "render"]

HERE = Path(__file__).parent

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = locale_of(request)

    def _(text: str, **params: Any) -> str:
        return translate(text, locale, **params)

    html = env.get_template(template).render(request=request, _=_, locale=locale, demo=request.app.state.demo, **context)
    return HTMLResponse(html, status_code=status_code)
