"""The compliance report of a member's exit (offboard.queries.compliance) as a page, a PDF and a
JSON document: one Jinja template for the console's page and the PDF (WeasyPrint, as the
handover sheet), and the report's own dataclasses for the JSON."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from offboard.domain.policy import Policy
from offboard.exports import data_words, words
from offboard.exports.sheet import STYLESHEET as SHEET_STYLESHEET
from offboard.i18n import glossary, translate
from offboard.queries.compliance import MAX_EVENTS, ComplianceReport

HERE = Path(__file__).parent / "templates"
STYLESHEET = SHEET_STYLESHEET + (HERE / "compliance_report.css").read_text(encoding="utf-8")

PAGE_EVENTS = 200  # the page and the PDF show the latest events; the JSON up to MAX_EVENTS

_env = Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def report_html(
    report: ComplianceReport,
    policy: Policy,
    locale: str,
    *,
    stylesheet_href: str | None = None,
    links: dict[str, str] | None = None,
    forms: dict[str, str] | None = None,
    csrf: str | None = None,
) -> str:
    """The report as a page; the console links its stylesheet and shows `links` and the download
    `forms` (posted with `csrf`); the PDF has the stylesheet inline."""

    def _(text: str, **params: Any) -> str:
        return translate(text, locale, **params)

    tz = report.timezone
    return _env.get_template("compliance_report.html").render(
        r=report,
        d=report.data,
        _=_,
        locale=locale,
        term=lambda kind, value: words.term(kind, value, locale),
        when=lambda value: words.local_time(value.isoformat() if isinstance(value, datetime) else value, tz),
        day=lambda value: data_words.day(value, tz),
        name=lambda ref: report.names.get(ref, ref),
        kinds=lambda values: glossary.join((glossary.term("record_kind", k, locale) for k in values), locale),
        kept=data_words.kept_rows(report.data, policy, tz, locale),
        events=report.events[-PAGE_EVENTS:],
        hidden=max(0, len(report.events) - PAGE_EVENTS),
        max_events=MAX_EVENTS,
        seal=data_words.seal_words(report.data, locale),
        stylesheet=None if stylesheet_href else STYLESHEET,
        stylesheet_href=stylesheet_href,
        links=links or {},
        forms=forms or {},
        csrf=csrf,
    )


def report_pdf(report: ComplianceReport, policy: Policy, locale: str) -> bytes:
    from weasyprint import HTML  # loads pango: only a PDF needs it (see offboard.exports.sheet)

    pdf: bytes = HTML(string=report_html(report, policy, locale)).write_pdf()
    return pdf


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON")


def report_json(report: ComplianceReport) -> bytes:
    document = dataclasses.asdict(report)
    return (json.dumps(document, ensure_ascii=False, indent=2, default=_plain) + "\n").encode()
