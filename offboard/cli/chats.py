"""`offboard chats read|export`: a departed member's chats, read with a stated reason (R-DATA-1):
each read and export is audited."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from offboard.actions import chats
from offboard.cli.common import BasisRefOpt, ByOpt, JsonOpt, LegalBasisOpt, ToRegionOpt, act, ok
from offboard.cli.output import emit_json, table

chats_app = typer.Typer(help="A departed member's chats: read or exported with a reason, audited (R-DATA-1).", no_args_is_help=True)
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail), e.g. a legal request's reference.")]


@chats_app.command("read")
def chats_read(
    userid: str,
    reason: Reason,
    by: ByOpt = None,
    after: Annotated[int, typer.Option("--after", min=0, help="Read on after this message id.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Messages per page (1-500).")] = 100,
    json_out: JsonOpt = False,
) -> None:
    """A page of the departed member's messages, oldest first."""
    page = act(lambda uow: chats.read_chats(uow, userid, reason=reason, after=after, limit=limit), by)
    if json_out:
        emit_json(page)
        return
    table(
        f"{page.name} ({page.userid})",
        ["id", "sent", "conversation", "message"],
        [[m.id, m.sent_at.isoformat()[:16], m.conversation, m.body if m.body is not None else f"✗ {m.problem}"] for m in page.lines],
    )
    ok("{n} of {total} message(s); this read is in the audit trail.", n=len(page.lines), total=page.total)
    if page.next_after is not None:
        ok("More follow: --after {after}.", after=page.next_after)


@chats_app.command("export")
def chats_export(
    userid: str,
    reason: Reason,
    by: ByOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (JSON Lines); standard output by default.")] = None,
    to: ToRegionOpt = None,
    legal_basis: LegalBasisOpt = None,
    basis_reference: BasisRefOpt = None,
) -> None:
    """Every message of the departed member as JSON Lines: id, conversation, sent_at, body (or the error of a record that does not open)."""
    page = act(lambda uow: chats.export_chats(uow, userid, reason=reason, destination=to, legal_basis=legal_basis, basis_reference=basis_reference), by)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for m in page.lines:
            line = {"id": m.id, "conversation": m.conversation, "sent_at": m.sent_at.isoformat(), "body": m.body}
            out.write(json.dumps({**line, "error": m.problem} if m.problem else line, ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()
    if output:
        ok("{n} message(s) of {name} written to {path}; the export is in the audit trail.", n=page.total, name=page.name, path=str(output))
