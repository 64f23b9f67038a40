"""`offboard approvals export`: the enterprise's approval records (approval tasks and
reimbursements) as CSV or JSON (R-DATA-3); taking the export is audited."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from offboard.actions import approval_export
from offboard.cli.common import BasisRefOpt, ByOpt, LegalBasisOpt, ToRegionOpt, act, ok
from offboard.cli.state import STATE

approvals_app = typer.Typer(help="The enterprise's approval records, kept until a compliant deletion (R-DATA-3).", no_args_is_help=True)


@approvals_app.command("export")
def approvals_export(
    by: ByOpt = None,
    format_: Annotated[str, typer.Option("--format", help="csv (UTF-8 with BOM, opens in Excel) or json.")] = "csv",
    member: Annotated[str | None, typer.Option("--member", help="Only this member's records (userid): tasks they approve or handed over, their reimbursements.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only records in this state, e.g. pending, approved, open, closed.")] = None,
    from_day: Annotated[str | None, typer.Option("--from", help="Only records created on or after this day (YYYY-MM-DD, the enterprise's time zone).")] = None,
    until_day: Annotated[str | None, typer.Option("--until", help="Only records created on or before this day (YYYY-MM-DD).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write; standard output by default.")] = None,
    to: ToRegionOpt = None,
    legal_basis: LegalBasisOpt = None,
    basis_reference: BasisRefOpt = None,
) -> None:
    """Every approval task and reimbursement (or those the filters keep): id, template, title, state, amount, who (name and userid), whom a task was handed over from, created (UTC)."""
    taken = act(
        lambda uow: approval_export.export_approvals(
            uow, fmt=format_, member=member, state=state, from_day=from_day, until_day=until_day, destination=to, legal_basis=legal_basis, basis_reference=basis_reference
        ),
        by,
    )
    out = output.open("wb") if output else sys.stdout.buffer
    try:
        with STATE.services().db.read() as conn:
            for chunk in taken.chunks(conn):
                out.write(chunk)
    finally:
        if output:
            out.close()
        else:
            out.flush()
    if output:
        ok("{n} approval record(s) written to {path} ({format}); the export is in the audit trail.", n=taken.count, path=str(output), format=taken.format.upper())
