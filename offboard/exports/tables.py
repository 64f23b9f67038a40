"""The ledger and the checklist of an exit as tables, written as XLSX (openpyxl) or CSV.

Headers and values are in the reader's language; people are named by name, and an id column
stays beside them for support. A text cell is always written as text: a customer named
"=HYPERLINK(...)" must not become a formula in the spreadsheet HR opens (CSV injection).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from offboard.exports.words import NOBODY, _, actor_words, detail_text, local_time, term
from offboard.i18n import translate
from offboard.queries.handover import NamedLedgerRow, SheetItem

Value = str | int | None

LEDGER_HEADERS = (
    _("Ledger row"),
    _("Resource kind"),
    _("Resource"),
    _("Resource id"),
    _("From"),
    _("To"),
    _("Acceptor userid"),
    _("State"),
    _("Correlation id"),
    _("Step"),
    _("Updated"),
)
CHECKLIST_HEADERS = (
    "#",
    _("Item"),
    _("Owner"),
    _("Status"),
    _("Still open"),
    _("Evidence"),
    _("Recorded by"),
    _("Recorded at"),
    _("Item key"),
)
_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[Value]]


def ledger_table(leaver: str, rows: list[NamedLedgerRow], tz: str, locale: str) -> Table:
    return Table(
        translate("Transfer ledger", locale),
        [translate(h, locale) for h in LEDGER_HEADERS],
        [
            [
                r.id,
                term("resource_kind", r.kind, locale),
                r.resource or NOBODY,
                r.resource_id,
                leaver,
                r.to.name if r.to else NOBODY,
                r.to.userid if r.to else None,
                term("ledger_state", r.state, locale),
                r.correlation_id,
                r.step_id if r.changed_step_id is None else f"{r.step_id} → {r.changed_step_id}",
                local_time(r.updated_at, tz),
            ]
            for r in rows
        ],
    )


def item_status(item: SheetItem, locale: str) -> str:
    if item.done:
        return translate("Done", locale)
    return translate("At finalization" if item.check == "finalization" else "Open", locale)


def checklist_table(items: list[SheetItem], tz: str, locale: str) -> Table:
    return Table(
        translate("Exit checklist", locale),
        [translate(h, locale) for h in CHECKLIST_HEADERS],
        [
            [
                i.number,
                i.title_zh if locale == "zh-CN" else i.title_en,
                term("role", i.owner, locale),
                item_status(i, locale),
                detail_text(i.detail, locale) or None,
                "\n".join(e.text for e in i.evidence) or None,
                "\n".join(actor_words(e.by_ref, e.by.name if e.by else None, locale) for e in i.evidence) or None,
                "\n".join(local_time(e.at, tz) for e in i.evidence) or None,
                i.key,
            ]
            for i in items
        ],
    )


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def to_xlsx(table: Table) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_SHEET_TITLE.sub(" ", table.title)[:31] or "Sheet")
    sheet.freeze_panes = "A2"
    for n, header in enumerate(table.headers):
        longest = max([len(header), *(len(str(row[n])) for row in table.rows if row[n] is not None)])
        sheet.column_dimensions[get_column_letter(n + 1)].width = min(MAX_WIDTH, longest + 2)

    def cell(value: Value, *, bold: bool = False) -> Cell:
        if isinstance(value, str):
            written = WriteOnlyCell(sheet, _text(value))
            written.data_type = "s"  # never a formula, whatever the text starts with
        else:
            written = WriteOnlyCell(sheet, value)
        if bold:
            written.font = Font(bold=True)
        return written

    sheet.append([cell(h, bold=True) for h in table.headers])
    for row in table.rows:
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(value: Value) -> Value:
    """A text that a spreadsheet would read as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, which is how Excel knows to read Chinese from a CSV file."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    writer.writerows([csv_text(v) for v in row] for row in table.rows)
    return out.getvalue().encode("utf-8-sig")
