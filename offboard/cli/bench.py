"""`offboard bench`: figures, printed (SPEC §10)."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.cli.common import JsonOpt
from offboard.cli.output import emit_json, table

bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)


@bench_app.command("exit")
def bench_exit(
    sizes: Annotated[str, typer.Option(help="Resources owned by the leaver, comma-separated.")] = "100,10000,100000",
    databases: Annotated[str, typer.Option(help="sqlite, postgresql or both, comma-separated.")] = "sqlite,postgresql",
    pg: Annotated[str, typer.Option(help="PostgreSQL server URL (a throwaway database is created on it).")] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    json_out: JsonOpt = False,
) -> None:
    """Plan and exit of one member owning N resources, each beside a hand-written SQL floor."""
    from offboard.bench.exit_bench import run

    results = [r.as_dict() for r in run([int(s) for s in sizes.split(",") if s], [d.strip() for d in databases.split(",") if d.strip()], pg)]
    if json_out:
        emit_json(results)
        return
    table(
        "offboard bench exit",
        ["database", "resources", "plan s", "exit s", "exit rows/s", "floor s", "floor rows/s", "engine/floor"],
        [[r["database"], r["resources"], r["plan_s"], r["exit_s"], r["exit_rows_per_s"], r["floor_s"], r["floor_rows_per_s"], r["engine_over_floor"]] for r in results],
    )
