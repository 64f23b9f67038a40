"""`offboard export`: the ledger, the checklist or the handover sheet of a member's exit, to a
file; `offboard report`: a member's compliance report with the proof of every audit event."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import sys

import typer

from offboard.actions import compliance
from offboard.actions.exports import FORMATS, check_export, export
from offboard.cli.common import ByOpt, act, ok, warn
from offboard.cli.state import STATE
from offboard.store import repo


def export_cmd(
    member: Annotated[str, typer.Argument(help="Userid of the member whose exit it is (their open exit, else their latest).")],
    what: Annotated[str, typer.Option("--what", help="ledger, checklist or handover-sheet (离职交接单).")] = "handover-sheet",
    fmt: Annotated[str | None, typer.Option("--format", help="xlsx or csv (ledger, checklist), pdf (handover-sheet); the first of these by default.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File to write; by default the export's own name in the current folder.")] = None,
    by: ByOpt = None,
) -> None:
    """Export an exit for HR, in the language of OFFBOARD_LANG/LANG; recorded in the audit trail."""
    chosen = fmt or FORMATS.get(what, ("",))[0]
    check_export(what, chosen)
    found = act(lambda u: export(u, repo.exit_of(u.conn, u.tenant_id, member).id, what, chosen, STATE.locale), by)
    target = out or Path(found.filename)
    target.write_bytes(found.content)
    ok("Wrote {path} ({rows} rows, {size} bytes).", path=str(target), rows=found.rows, size=len(found.content))


def report_cmd(
    member: Annotated[str, typer.Argument(help="Userid of the member.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf (to read and hand over) or json (every proof, machine-checkable).")] = "pdf",
    out: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (- for standard output, json only); by default the report's own name in the current folder.")] = None,
    by: ByOpt = None,
) -> None:
    """A member's compliance report (SPEC §8): what of their data is kept, sealed, erased or exported, under which rule, until when, who read it, and every audit event about them with its proof in a signed checkpoint; recorded in the audit trail."""
    made = act(lambda u: compliance.export_report(u, member, fmt, STATE.locale), by)
    if str(out) == "-" and fmt == "json":
        sys.stdout.buffer.write(made.file.content)
        return
    target = out or Path(made.file.filename)
    target.write_bytes(made.file.content)
    r = made.report
    ok("Wrote the compliance report of {name} to {path}: {events} audit events.", name=r.data.name, path=str(target), events=len(r.events))
    if r.unproven:
        warn("{n} of them are not in a signed checkpoint yet (the services have no key vault, or another process was signing); take the report again later.", n=r.unproven)
    else:
        ok("Each is proven in the signed checkpoint of {size} events; `offboard audit public-key` prints the key that checks it.", size=r.signed_size)
