"""`offboard tenant policy show|set`: the enterprise's policy beside the three presets (SPEC §6)."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.actions.policy import parse_assignments, set_policy
from offboard.queries.policy import PolicyView, show_policy
from offboard.cli.common import ByOpt, JsonOpt, act, ok, reading, warn
from offboard.cli.output import emit_json, table
from offboard.cli.state import STATE

policy_app = typer.Typer(help="The enterprise's policy: restore window, retention, customer transfer, handover ...", no_args_is_help=True)


def _print(view: PolicyView) -> None:
    zh = STATE.locale == "zh-CN"
    table(
        None,
        ["setting", "key", "wecom", "dingtalk", "feishu", f"this enterprise ({view.profile})", "allowed"],
        [[s.label_zh if zh else s.label_en, s.key, s.presets["wecom"], s.presets["dingtalk"], s.presets["feishu"], f"{s.value} *" if s.overridden else s.value, s.allowed] for s in view.settings],
    )


@policy_app.command("show")
def policy_show(by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """The policy in force, each setting beside the wecom, dingtalk and feishu presets (* overridden)."""
    with reading(by) as (conn, tenant, actor):
        view = show_policy(conn, tenant, actor)
    if json_out:
        emit_json(view)
        return
    _print(view)
    if view.backup_admin is None:
        warn("No backup super admin is set: if the super admin's account is lost or stolen, nobody can take over. Set one with `offboard tenant backup set USERID`.")
    else:
        ok("Backup super admin: {userid}.", userid=view.backup_admin)


@policy_app.command("set")
def policy_set(
    assignments: Annotated[list[str], typer.Argument(help="KEY=VALUE, e.g. customer_limit=5000 restore_window_hours=48.")],
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change settings; each change is audited with its old and new value."""
    changes = parse_assignments(assignments)
    view = act(lambda u: set_policy(u, changes), by)
    if json_out:
        emit_json(view)
    else:
        ok("Policy updated: {keys}.", keys=", ".join(changes))
        _print(view)
