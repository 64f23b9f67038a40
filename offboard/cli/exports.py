"""`offboard export`: the ledger, the checklist or the handover sheet of a member's exit, to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from offboard.actions.exports import FORMATS, check_export, export
from offboard.cli.common import ByOpt, act, ok
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
