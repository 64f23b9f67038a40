"""Commands that prove the audit log to someone outside (SPEC §8): sign a checkpoint now, print
the audit key, an event's inclusion proof or an older tree's consistency proof, export the log,
and verify an export offline with the public key alone."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from offboard.actions import audit_checkpoints
from offboard.audit.offline import verify_export
from offboard.cli.common import ByOpt, JsonOpt, act, ok, reading
from offboard.cli.maintenance import audit_app
from offboard.cli.output import console, emit_json
from offboard.cli.state import STATE
from offboard.domain.errors import NotFound, ValidationError, error
from offboard.i18n import translate
from offboard.queries import audit as audit_q
from offboard.queries import audit_proofs
from offboard.store.audit_tree import StoredCheckpoint


def _signed(by: str | None, size: int) -> StoredCheckpoint:
    """A checkpoint of at least `size` events: the oldest signed one, or one signed now."""
    with reading(by) as (conn, tenant, actor):
        found = audit_proofs.covering(conn, tenant, actor, size)
        held = tenant.audit_seq
    if found is not None:
        return found
    if size > held:
        raise error(NotFound, "event_not_found", "Event {seq} is not in the audit log of this enterprise (it holds {size} events).", seq=size, size=held)
    signed = act(lambda uow: audit_checkpoints.checkpoint(uow, STATE.services().vault, "requested"), by)
    if signed is None or signed.size < size:
        raise error(ValidationError, "checkpoint_busy", "Another process is signing the audit log right now; try again in a moment.")
    return signed


@audit_app.command("checkpoint")
def audit_checkpoint(by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """Sign a checkpoint of the audit log now (the worker signs one hourly and after every privileged event)."""
    signed = act(lambda uow: audit_checkpoints.checkpoint(uow, STATE.services().vault, "requested"), by)
    if json_out:
        emit_json(signed)
    elif signed is None:
        ok("The audit log holds no events yet; nothing to sign.")
    else:
        ok("Checkpoint of {size} events signed.", size=signed.size)
        sys.stdout.write(signed.note)


@audit_app.command("public-key")
def audit_public_key(by: ByOpt = None) -> None:
    """The enterprise's audit key as a C2SP verifier key: all an auditor needs to check a proof, a checkpoint or an export."""
    sys.stdout.write(act(lambda uow: audit_checkpoints.verifier_key(uow, STATE.services().vault), by) + "\n")


@audit_app.command("prove")
def audit_prove(
    event: Annotated[int | None, typer.Argument(help="The event's sequence number (audit list shows it).", min=1)] = None,
    from_size: Annotated[int | None, typer.Option("--from", help="A consistency proof from the tree of this many events to the latest signed one.", min=1)] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """An event's inclusion proof, or (--from SIZE) an older tree's consistency proof, with the signed checkpoint it holds in."""
    if (event is None) == (from_size is None):
        raise error(ValidationError, "prove_what", "Name an event (offboard audit prove 42) or a tree size (offboard audit prove --from 40), not both.")
    proof: Any
    if event is not None:
        signed = _signed(by, event)
        with reading(by) as (conn, tenant, actor):
            proof = audit_proofs.inclusion(conn, tenant, actor, event, signed)
        message = translate("Event {seq} is in the signed tree of {size} events ({n} hashes of proof).", STATE.locale, seq=event, size=signed.size, n=len(proof.proof))
    else:
        assert from_size is not None
        with reading(by) as (conn, tenant, actor):
            latest = audit_proofs.covering(conn, tenant, actor, tenant.audit_seq)
        signed = latest or _signed(by, from_size)
        with reading(by) as (conn, tenant, actor):
            proof = audit_proofs.consistency(conn, tenant, actor, from_size, signed)
        message = translate("The tree of {old} events is the start of the signed tree of {size} events ({n} hashes of proof).", STATE.locale, old=from_size, size=signed.size, n=len(proof.proof))
    if not json_out:
        console.print(f"[green]✓[/green] {message}")
    emit_json(proof)


@audit_app.command("export")
def audit_export(
    format_: Annotated[str, typer.Option("--format", help="jsonl (with the checkpoints, verifiable offline) or csv (a table to read).")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write; standard output by default.")] = None,
    by: ByOpt = None,
) -> None:
    """The whole audit log: every event with its details, and every signed checkpoint."""
    if format_ not in ("jsonl", "csv"):
        raise error(ValidationError, "invalid_choice", "{field} must be one of: {choices}.", field="--format", choices="jsonl, csv")
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        with reading(by) as (conn, tenant, actor):
            lines = audit_proofs.export_lines(conn, tenant, actor)
            if format_ == "jsonl":
                for line in lines:
                    out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            else:
                writer = csv.writer(out)
                writer.writerow(["seq", "at", "actor", "action", "targets", "hash", "details"])
                for line in lines:
                    if "core" in line:
                        core = json.loads(line["core"])
                        writer.writerow([core["seq"], core["at"], core["actor"], core["action"], " ".join(core["targets"]), line["hash"], json.dumps(line["details"], ensure_ascii=False)])
    finally:
        if output:
            out.close()
    if output:
        ok("Audit log written to {path}.", path=str(output))


@audit_app.command("verify")
def audit_verify(
    file: Annotated[Path | None, typer.Option("--file", help="An export (audit export) to check offline, with no database.")] = None,
    public_key: Annotated[str | None, typer.Option("--public-key", help="With --file: the verifier key you hold (audit public-key printed it).")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Prove the chain, its head, the Merkle tree and every signed checkpoint; name the first event or checkpoint that does not verify."""
    if file is not None or public_key is not None:
        if file is None or public_key is None:
            raise error(ValidationError, "verify_file_needs_key", "An export is checked with the public key you hold: give both --file and --public-key.")
        _verify_file(file, public_key, json_out)
        return
    with reading(by) as (conn, tenant, actor):
        result = audit_q.verify_chain(conn, tenant, actor)
    if json_out:
        emit_json(result)
    elif result.ok:
        ok("Audit chain of {tenant} verified: {n} events, head {head}.", tenant=result.tenant, n=result.events, head=result.head[:16])
        if result.checkpoints:
            ok("Merkle tree and {k} signed checkpoint(s) verified; the latest covers {size} events.", k=result.checkpoints, size=result.signed_size)
        else:
            ok("No checkpoint is signed yet: the worker signs one hourly, or run `offboard audit checkpoint`.")
    elif result.bad_checkpoint is not None:
        console.print("[red]✗[/red] " + translate("The signed checkpoint of {size} events does NOT verify: it does not match the events or its signature.", STATE.locale, size=result.bad_checkpoint))
    elif result.problem == "tree_changed":
        console.print("[red]✗[/red] " + translate("The Merkle tree over event {seq} was changed after it was written.", STATE.locale, seq=result.first_bad_seq))
    else:
        console.print(
            "[red]✗[/red] "
            + translate(
                "Audit chain of {tenant} does NOT verify: event {seq} is {problem}.",
                STATE.locale,
                tenant=result.tenant,
                seq=result.first_bad_seq if result.first_bad_seq is not None else "head",
                problem=result.problem,
            )
        )
    if not result.ok:
        raise typer.Exit(1)


def _verify_file(path: Path, public_key: str, json_out: bool) -> None:
    """`audit verify --file`: the export checked offline, with no database."""
    try:
        with path.open(encoding="utf-8") as fh:
            verdict = verify_export(fh, public_key)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(ValidationError, "unreadable_file", "{path} cannot be read as a UTF-8 text file ({detail}).", path=str(path), detail=type(exc).__name__) from None
    if json_out:
        emit_json(verdict)
    elif verdict.ok:
        ok("The exported audit log verifies: {n} events, {k} checkpoint(s) signed by the key, the latest covering {size} events.", n=verdict.events, k=verdict.checkpoints, size=verdict.signed_size)
    else:
        where = translate(" (line {line})", STATE.locale, line=verdict.line) if verdict.line else ""
        console.print("[red]✗[/red] " + translate(verdict.problem or "", STATE.locale, **verdict.params) + where)
    if not verdict.ok:
        raise typer.Exit(1)
