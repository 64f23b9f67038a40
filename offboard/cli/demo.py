"""`offboard demo`: migrate the database, build the demo enterprise, show it."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from offboard.cli.common import JsonOpt, ok
from offboard.cli.output import console, emit_json, table
from offboard.cli.serve import run_server
from offboard.cli.state import STATE
from offboard.demo import build_demo
from offboard.i18n import translate
from offboard.store import schema
from offboard.queries.directory import DepartmentNode


def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build and print, then return instead of serving.")] = False,
    show_logins: Annotated[bool, typer.Option("--show-logins", help="Print only the personas' logins: userid, name, roles, password, TOTP secret.")] = False,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8000,
    json_out: JsonOpt = False,
) -> None:
    """Build the demo enterprise 星河科技有限公司 (slug demo) in the --db database, show it, and serve it.

    Migrates the database first, then creates about 300 members in a 4-level department tree, seven personas with passwords and TOTP secrets, and thousands of customers, messages and other records. Running it again changes nothing. Then it serves the API and the console in demo mode (the sign-in page lists the demo accounts and their current codes) until Ctrl+C; --no-serve returns instead.
    """
    services = STATE.services(check_schema=False)
    schema.upgrade(services.db)
    summary = build_demo(services)
    logins = summary["logins"]
    if show_logins:
        if json_out:
            emit_json(logins)
        else:
            _logins_table(logins)
        return
    if json_out:
        emit_json(summary)
        return
    tenant = summary["tenant"]
    if summary["created"]:
        ok("Demo enterprise {name} ({slug}) built in {seconds} s.", name=tenant["name"], slug=tenant["slug"], seconds=summary["seconds"])
    else:
        ok("Demo enterprise {name} ({slug}) already exists; nothing was changed.", name=tenant["name"], slug=tenant["slug"])
    table(
        translate("Departments", STATE.locale),
        ["id", "department", "headcount", "leader"],
        [[d.id, "  " * d.depth + d.name, d.headcount, d.leader] for d in creation_order(summary["departments"])],
    )
    _logins_table(logins)
    table(translate("Records by kind", STATE.locale), ["kind", "count"], [[k, n] for k, n in summary["counts"].items()])
    if not no_serve:
        run_server(host, port, demo=True)


def creation_order(rows: list[DepartmentNode]) -> list[DepartmentNode]:
    """The tree depth-first with siblings by id: paths sort as text, so '/1/16/' would precede '/1/2/'."""
    children: dict[int | None, list[DepartmentNode]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    ordered: list[DepartmentNode] = []
    stack = sorted(children.get(None, []), key=lambda r: r.id, reverse=True)
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(sorted(children.get(row.id, []), key=lambda r: r.id, reverse=True))
    return ordered


def _logins_table(logins: list[dict[str, Any]]) -> None:
    # Secrets are never cut or wrapped (they are copied from here): the table is as wide as
    # its content, even when that is wider than the terminal.
    t = Table(title=translate("Demo logins", STATE.locale), header_style="bold cyan", title_justify="left")
    for col in ("userid", "name", "roles", "password", "TOTP secret"):
        t.add_column(col, no_wrap=True)
    for p in logins:
        t.add_row(p["userid"], p["name"], ", ".join(p["roles"]) or "-", p["password"], p["totp_secret"])
    needed = Measurement.get(console, console.options.update_width(1000), t).maximum
    (console if needed <= console.width else Console(width=needed)).print(t)
