"""The compliance report of a member's exit (SPEC §8): signs a checkpoint of the audit log first,
so every event about the member so far is proven in it, then reads the report
(offboard.queries.compliance) and records that it was taken, in one transaction.

Who may take it is who may read the audit trail and answers for the member's data
(Action.READ_AUDIT, and DATA_REQUESTS over the member, which member_data checks): the report
names who read the member's chats and holds every event about them.
"""

from __future__ import annotations

from dataclasses import dataclass

from offboard.actions import audit_checkpoints
from offboard.actions.context import UnitOfWork
from offboard.actions.exports import MEDIA_TYPES, Export, safe_filename
from offboard.domain.authz import Action
from offboard.domain.errors import ValidationError, error
from offboard.domain.policy import Policy
from offboard.exports import report as render
from offboard.i18n import translate
from offboard.i18n import mark as _
from offboard.queries import compliance as compliance_q
from offboard.queries.compliance import ComplianceReport
from offboard.store import repo

FORMATS = ("json", "pdf", "page")  # page: read in the console
TITLE = _("Compliance report")
MEDIA_TYPES_OF = {"json": "application/json", "pdf": MEDIA_TYPES["pdf"]}


def compliance_report(uow: UnitOfWork, ref: int | str, *, fmt: str, locale: str, sign: bool = True) -> ComplianceReport:
    """The report of `ref` with a proof for every event about them committed so far; without
    `sign` (the console's page, a GET), relative to the latest checkpoint as it is."""
    if fmt not in FORMATS:
        raise error(ValidationError, "unknown_report_format", "The compliance report is written as json or pdf, not {value}.", value=fmt)
    uow.require(Action.READ_AUDIT)
    member = repo.member_ref(uow.conn, uow.tenant_id, ref)
    if sign and uow.vault is not None:  # without a key vault nothing can be signed: the report says what is unproven
        audit_checkpoints.checkpoint(uow, uow.vault, "report")
    found = compliance_q.compliance_report(uow.conn, uow.tenant, uow.actor, member.id, now=uow.now, locale=locale)
    uow.audit("report.exported", [f"member:{member.id}"], {"format": fmt, "events": len(found.events), "signed_size": found.signed_size})
    return found


@dataclass(frozen=True)
class ReportFile:
    file: Export
    report: ComplianceReport


def export_report(uow: UnitOfWork, ref: int | str, fmt: str, locale: str) -> ReportFile:
    """The report as a file to hand over: JSON (machine-readable, every proof) or PDF."""
    if fmt == "page":
        raise error(ValidationError, "unknown_report_format", "The compliance report is written as json or pdf, not {value}.", value=fmt)
    found = compliance_report(uow, ref, fmt=fmt, locale=locale)
    content = render.report_json(found) if fmt == "json" else render.report_pdf(found, Policy.of(uow.tenant.profile, uow.tenant.policy), locale)
    readable = safe_filename(f"{translate(TITLE, locale)}-{found.data.name}")
    file = Export("compliance-report", fmt, f"{readable}.{fmt}", f"compliance-report-{found.data.member_id}.{fmt}", MEDIA_TYPES_OF[fmt], content, len(found.events))
    return ReportFile(file, found)
