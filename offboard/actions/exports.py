"""Exports HR takes away (SPEC §7, §8): the ledger and the checklist of an exit as XLSX or CSV,
the handover sheet (离职交接单) as a PDF. Personal data leaves the system in each, so every
export is an audited event, recorded in the transaction that reads it; a refused one is not.

Who may export is who may read the exit (the leaver, or a reader of the leaver's directory
entry): an export shows what the exit page shows, and the audit trail says who took it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from offboard.actions.context import UnitOfWork
from offboard.domain.errors import ValidationError, error
from offboard.exports import sheet, tables
from offboard.i18n import translate
from offboard.queries.handover import checklist_export, handover_sheet, ledger_export
from offboard.i18n import mark as _

FORMATS: dict[str, tuple[str, ...]] = {"ledger": ("xlsx", "csv"), "checklist": ("xlsx", "csv"), "handover-sheet": ("pdf",)}
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


TITLES = {"ledger": _("Transfer ledger"), "checklist": _("Exit checklist"), "handover-sheet": _("Handover sheet")}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


@dataclass(frozen=True)
class Export:
    what: str  # ledger | checklist | handover-sheet
    format: str  # xlsx | csv | pdf
    filename: str  # in the reader's language, with the leaver's name
    fallback_filename: str  # ASCII, for clients that do not read RFC 6266 filename*
    media_type: str
    content: bytes
    rows: int  # ledger rows, or checklist items

    @property
    def content_disposition(self) -> str:
        """RFC 6266: an ASCII filename, and the real one UTF-8 encoded (RFC 8187)."""
        return f"attachment; filename=\"{self.fallback_filename}\"; filename*=UTF-8''{quote(self.filename, safe='')}"


def check_export(what: str, fmt: str) -> None:
    """An unknown document or format is refused before anything is read."""
    if what not in FORMATS:
        raise error(ValidationError, "unknown_export", "There is no export {what}; choose ledger, checklist or handover-sheet.", what=what)
    if fmt not in FORMATS[what]:
        raise error(ValidationError, "unknown_export_format", "The {what} is exported as {formats}, not {format}.", what=what, formats=" or ".join(FORMATS[what]), format=fmt)


def safe_filename(text: str) -> str:
    """`text` without what a file name may not hold (path separators, control characters, …)."""
    return _UNSAFE.sub(" ", text).strip()


def _filename(what: str, fmt: str, name: str, exit_id: int, locale: str) -> tuple[str, str]:
    readable = safe_filename(f"{translate(TITLES[what], locale)}-{name}-{exit_id}") or what
    return f"{readable}.{fmt}", f"{what}-{exit_id}.{fmt}"


def export(uow: UnitOfWork, exit_id: int, what: str, fmt: str, locale: str) -> Export:
    check_export(what, fmt)
    conn, tenant = uow.conn, uow.tenant
    if what == "handover-sheet":
        found = handover_sheet(conn, tenant, uow.actor, exit_id, uow.now)
        leaver, member_id, rows = found.leaver.name, found.leaver.id, found.rows_total
        content = sheet.sheet_pdf(found, locale)
    elif what == "ledger":
        member, ledger_rows = ledger_export(conn, tenant.id, uow.actor, exit_id)
        leaver, member_id, rows = member.name, member.id, len(ledger_rows)
        table = tables.ledger_table(member.name, ledger_rows, tenant.timezone, locale)
        content = tables.to_xlsx(table) if fmt == "xlsx" else tables.to_csv(table)
    else:
        member, items = checklist_export(conn, tenant.id, uow.actor, exit_id, uow.now)
        leaver, member_id, rows = member.name, member.id, len(items)
        table = tables.checklist_table(items, tenant.timezone, locale)
        content = tables.to_xlsx(table) if fmt == "xlsx" else tables.to_csv(table)
    uow.audit("exit.exported", [f"exit:{exit_id}", f"member:{member_id}"], {"what": what, "format": fmt, "rows": rows, "bytes": len(content)})
    filename, fallback = _filename(what, fmt, leaver, exit_id, locale)
    return Export(what, fmt, filename, fallback, MEDIA_TYPES[fmt], content, rows)
