"""`offboard seed`: a synthetic enterprise of N members, loaded set-wise, with a progress bar."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from offboard.cli.common import JsonOpt, ok
from offboard.cli.output import emit_json, err_console, table
from offboard.cli.state import STATE
from offboard.i18n import translate
from offboard.store import schema


def seed(
    members: Annotated[int, typer.Option("--members", help="Members of the new enterprise, the admin included (1 to 10,000,000).")],
    seed_value: Annotated[int, typer.Option("--seed", help="The same seed builds the same enterprise.")] = 1,
    resources: Annotated[
        float, typer.Option("--resources", help="Owned resources per member on average (customers, groups, documents, calendars, approvals, apps); SPEC §10's layoff benchmark has 50.")
    ] = 5.0,
    profile: Annotated[str, typer.Option("--profile", help="The policy profile: wecom, dingtalk or feishu (SPEC §6).")] = "wecom",
    json_out: JsonOpt = False,
) -> None:
    """Build a synthetic enterprise (--tenant SLUG, default synthetic) of N members with every kind of resource and record.

    Migrates the database first. The admin (userid admin) is the first member and super admin; the others have no credentials and cannot sign in. Departments of 20-50 members in a tree of a few levels, managers, roles, on average --resources owned resources per member (1% of the members, key account managers, own hundreds to thousands of customers), 20 messages, attendance, devices, grants, a few tokens and sessions. An existing slug is refused.
    """
    from offboard.bench.synthetic import DEFAULT_SLUG, seed_tenant

    services = STATE.services(check_schema=False)
    schema.upgrade(services.db)
    slug = STATE.tenant or DEFAULT_SLUG
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True, disable=json_out) as bar:
        task = bar.add_task(translate("Rows", STATE.locale), total=None)

        def show(current: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=current)

        result = seed_tenant(services, members=members, slug=slug, seed=seed_value, resources=resources, profile=profile, progress=show)
    if json_out:
        emit_json(
            {
                "tenant": result.slug,
                "members": result.members,
                "seed": result.seed,
                "seconds": round(result.seconds, 2),
                "phases": {k: round(s, 2) for k, s in result.phases.items()},
                "counts": result.counts,
            }
        )
        return
    ok("Synthetic enterprise {slug} with {members} members built in {seconds} s.", slug=result.slug, members=f"{result.members:,}", seconds=f"{result.seconds:.1f}")
    table(translate("Rows by table", STATE.locale), ["table", "rows"], [[name, f"{n:,}"] for name, n in result.counts.items()] + [["", ""], ["total", f"{sum(result.counts.values()):,}"]])
    phases = ", ".join(f"{name} {s:.1f} s" for name, s in result.phases.items())
    err_console.print(f"[dim]{phases}[/dim]")
