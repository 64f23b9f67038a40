"""The handover sheet (离职交接单) rendered from one Jinja template: as the console's printable
page, and as a PDF with its Chinese font embedded (WeasyPrint, over Debian's pango)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from offboard.exports import words
from offboard.i18n import translate
from offboard.queries.handover import HandoverSheet

HERE = Path(__file__).parent / "templates"
STYLESHEET = (HERE / "handover_sheet.css").read_text(encoding="utf-8")

_env = Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def sheet_html(sheet: HandoverSheet, locale: str, *, stylesheet_href: str | None = None, links: dict[str, str] | None = None) -> str:
    """The sheet as a page. The console links its stylesheet (its CSP allows no inline style)
    and shows `links` (the PDF, the exit page); the PDF has the stylesheet inline."""

    def _(text: str, **params: Any) -> str:
        return translate(text, locale, **params)

    return _env.get_template("handover_sheet.html").render(
        s=sheet,
        _=_,
        locale=locale,
        term=lambda kind, value: words.term(kind, value, locale),
        when=lambda value: words.local_time(value, sheet.timezone),
        who=lambda ref, person: words.actor_words(ref, person.name if person else None, locale),
        detail=lambda detail: words.detail_text(detail, locale),
        stylesheet=None if stylesheet_href else STYLESHEET,
        stylesheet_href=stylesheet_href,
        links=links or {},
    )


def sheet_pdf(sheet: HandoverSheet, locale: str) -> bytes:
    # Imported here: WeasyPrint loads pango when imported, which only a PDF needs; every other
    # command and page starts without it.
    from weasyprint import HTML

    pdf: bytes = HTML(string=sheet_html(sheet, locale)).write_pdf()
    return pdf
