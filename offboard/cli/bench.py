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
