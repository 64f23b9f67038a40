"""`offboard bench`: figures, printed (SPEC §10)."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.cli.common import JsonOpt
from offboard.cli.output import emit_json, table

bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)


@bench_app.command("exit")
def bench_exit(
    sizes: Annotated[str, typer.Option(help="Resources owned by each leaver, comma-separated.")] = "100,10000,100000",
    databases: Annotated[str, typer.Option(help="sqlite, postgresql or both, comma-separated.")] = "sqlite,postgresql",
    pg: Annotated[str, typer.Option(help="PostgreSQL server URL (a throwaway database is created on it).")] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    members: Annotated[int | None, typer.Option(min=2, help="Members leaving per run: the first is the cold exit, the others the warm median (default: 25 at 100 resources, fewer for more).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Exits of members owning N resources each, cold (the first in a fresh process) and warm
    (the median of the next ones in the same process), each beside a hand-written SQL floor."""
    from offboard.bench.exit_bench import run

    results = [r.as_dict() for r in run([int(s) for s in sizes.split(",") if s], [d.strip() for d in databases.split(",") if d.strip()], pg, members)]
    if json_out:
        emit_json(results)
        return
    table(
        "offboard bench exit",
        ["database", "resources", "members", "cold plan s", "cold exit s", "cold floor s", "cold ×floor", "warm plan s", "warm exit s", "warm floor s", "warm ×floor"],
        [[r["database"], r["resources"], r["members"]] + [r[side][key] for side in ("cold", "warm") for key in ("plan_s", "exit_s", "floor_s", "engine_over_floor")] for r in results],
    )


@bench_app.command("layoff")
def bench_layoff(
    members: Annotated[int, typer.Option("--members", min=10, max=10_000_000, help="Members of the synthetic enterprise.")] = 100_000,
    leavers: Annotated[int, typer.Option("--leavers", min=1, max=1_000_000, help="Members who leave in one bulk exit.")] = 5_000,
    series: Annotated[bool, typer.Option("--series", help="10,000, 100,000 and 1,000,000 members with the same leavers: how each phase grows.")] = False,
    databases: Annotated[str, typer.Option(help="sqlite, postgresql or both, comma-separated.")] = "sqlite,postgresql",
    pg: Annotated[str, typer.Option(help="PostgreSQL server URL (a throwaway database is created on it).")] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    json_out: JsonOpt = False,
) -> None:
    """A layoff: a synthetic enterprise, then plan, execute and finalize of one bulk exit, each
    phase beside a hand-written SQL floor on a copy of the same database."""
    from offboard.bench.layoff_bench import run
    from offboard.cli.output import console

    sizes = [10_000, 100_000, 1_000_000] if series else [members]
    chosen = [d.strip() for d in databases.split(",") if d.strip()]
    say = (lambda _s: None) if json_out else (lambda s: console.print(f"[dim]… {s}[/dim]"))
    results = [r.as_dict() for r in run(sizes, leavers, chosen, pg, progress=say)]
    if json_out:
        emit_json(results)
        return
    table(
        "offboard bench layoff",
        ["database", "members", "leavers", "phase", "rows", "engine s", "engine rows/s", "floor s", "floor rows/s", "engine/floor", "peak RSS MB"],
        [
            [r["database"], r["members"], r["leavers"], r["phase"], r["rows"], r["engine_s"], r["engine_rows_per_s"], r["floor_s"], r["floor_rows_per_s"], r["engine_over_floor"], r["peak_rss_mb"]]
            for r in results
        ],
    )


@bench_app.command("audit")
def bench_audit(
    events: Annotated[str, typer.Option(help="Events in the log, comma-separated.")] = "1000000",
    databases: Annotated[str, typer.Option(help="sqlite, postgresql or both, comma-separated.")] = "sqlite,postgresql",
    pg: Annotated[str, typer.Option(help="PostgreSQL server URL (a throwaway database is created on it).")] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    json_out: JsonOpt = False,
) -> None:
    """The signed audit log at scale: the first checkpoint over N events, audit verify, and
    inclusion and consistency proofs, beside the bare SHA-256 work of the same hashes."""
    from offboard.bench.audit_bench import run
    from offboard.cli.output import console

    say = (lambda _s: None) if json_out else (lambda s: console.print(f"[dim]… {s}[/dim]"))
    results = [r.as_dict() for r in run([int(n) for n in events.split(",") if n], [d.strip() for d in databases.split(",") if d.strip()], pg, progress=say)]
    if json_out:
        emit_json(results)
        return
    table(
        "offboard bench audit",
        [
            "database",
            "events",
            "load s",
            "sign s",
            "sign floor s",
            "×floor",
            "verify s",
            "verify floor s",
            "×floor",
            "events/s verified",
            "inclusion ms",
            "consistency ms",
            "statements/proof",
            "hashes/proof",
        ],
        [
            [
                r["database"],
                r["events"],
                r["load_s"],
                r["sign_s"],
                r["sign_floor_s"],
                r["sign_over_floor"],
                r["verify_s"],
                r["verify_floor_s"],
                r["verify_over_floor"],
                r["verify_events_per_s"],
                r["inclusion_ms"],
                r["consistency_ms"],
                r["statements_per_proof"],
                r["hashes_per_proof"],
            ]
            for r in results
        ],
    )


@bench_app.command("seal")
def bench_seal(
    messages: Annotated[str, typer.Option(help="Messages of 200 bytes the departed member leaves, comma-separated.")] = "250000",
    databases: Annotated[str, typer.Option(help="sqlite, postgresql or both, comma-separated.")] = "sqlite,postgresql",
    pg: Annotated[str, typer.Option(help="PostgreSQL server URL (a throwaway database is created on it).")] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    json_out: JsonOpt = False,
) -> None:
    """Sealing a departed member's messages end to end (read, AES-256-GCM, write back), beside a bare AES-GCM loop and a bare insert of the same number of values."""
    from offboard.bench.seal_bench import run
    from offboard.cli.output import console

    say = (lambda _s: None) if json_out else (lambda s: console.print(f"[dim]… {s}[/dim]"))
    results = [r.as_dict() for r in run([int(n) for n in messages.split(",") if n], [d.strip() for d in databases.split(",") if d.strip()], pg, progress=say)]
    if json_out:
        emit_json(results)
        return
    table(
        "offboard bench seal",
        ["database", "messages", "seal s", "sealed/s", "AES-GCM s", "AES-GCM/s", "insert s", "inserted/s", "seal/AES-GCM"],
        [[r["database"], r["messages"], r["seal_s"], r["seal_per_s"], r["aes_s"], r["aes_per_s"], r["insert_s"], r["insert_per_s"], r["seal_over_aes"]] for r in results],
    )


@bench_app.command("scim")
def bench_scim(
    members: Annotated[int, typer.Option("--members", min=10, max=1_000_000, help="Members deprovisioned, one PATCH active=false each.")] = 2000,
    clients: Annotated[int, typer.Option("--clients", min=1, max=64, help="Concurrent SCIM clients.")] = 4,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="API processes on PostgreSQL.")] = 2,
    databases: Annotated[str, typer.Option(help="sqlite, postgresql or both, comma-separated.")] = "sqlite,postgresql",
    pg: Annotated[str, typer.Option(help="PostgreSQL server URL (a throwaway database is created on it).")] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    json_out: JsonOpt = False,
) -> None:
    """Deprovisioning by SCIM (PATCH active=false, each a full exit) from concurrent clients against `offboard serve`, beside the same requests against the reference SCIM server (scim2-server, in memory, no exit work)."""
    from offboard.bench.scim_bench import run
    from offboard.cli.output import console

    say = (lambda _s: None) if json_out else (lambda s: console.print(f"[dim]… {s}[/dim]"))
    results = [r.as_dict() for r in run(members, clients, [d.strip() for d in databases.split(",") if d.strip()], pg, workers, progress=say)]
    if json_out:
        emit_json(results)
        return
    table(
        "offboard bench scim",
        ["server", "database", "processes", "requests", "clients", "s", "requests/s", "p50 ms", "p99 ms", "failed", "exits"],
        [
            [r["target"], r["database"], r["processes"], r["requests"], r["clients"], r["seconds"], r["per_s"], r["p50_ms"], r["p99_ms"], r["failed"], "—" if r["exited"] is None else r["exited"]]
            for r in results
        ],
    )
