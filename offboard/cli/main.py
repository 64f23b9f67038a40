"""The `offboard` command line. Global options --db and --tenant go before or after the subcommand."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from offboard import logs
from offboard.cli.demo import demo
from offboard.cli.directory import department_app, member_app, tenant_app, token_app
from offboard.cli.policy import policy_app
from offboard.cli.audit_proofs import audit_app  # the audit commands: maintenance.py's and the proofs'
from offboard.cli.maintenance import db_app, keys_app
from offboard.cli.output import err_console
from offboard.cli import bulk, exits, exports, jobs, power, rollback
from offboard.cli.bench import bench_app
from offboard.cli.approvals import approvals_app
from offboard.cli.chats import chats_app
from offboard.cli.data import data_app
from offboard.cli.departures import departures_app
from offboard.cli.exit_requests import exit_request_app
from offboard.cli.scim import scim_app
from offboard.cli.webhooks import webhook_app
from offboard.cli.seed import seed
from offboard.cli.serve import serve
from offboard.cli.state import STATE, hoist_global_options
from offboard.domain.errors import OffboardError

app = typer.Typer(
    name="offboard",
    help="offboard: the exit lifecycle of enterprise members (离职全流程).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _globals(
    db: Annotated[str | None, typer.Option("--db", envvar="OFFBOARD_DATABASE_URL", help="Database URL or SQLite file path (default ./offboard.db).")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", envvar="OFFBOARD_TENANT", help="Enterprise slug; the only one by default.")] = None,
) -> None:
    STATE.db = db
    STATE.tenant = tenant


app.command("demo")(demo)
app.add_typer(db_app, name="db")
tenant_app.add_typer(policy_app, name="policy")
tenant_app.command("recover")(power.tenant_recover)
tenant_app.add_typer(power.backup_app, name="backup")
app.add_typer(tenant_app, name="tenant")
app.add_typer(member_app, name="member")
app.add_typer(department_app, name="department")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(chats_app, name="chats")
app.add_typer(data_app, name="data")
app.add_typer(approvals_app, name="approvals")
app.add_typer(scim_app, name="scim")
app.add_typer(webhook_app, name="webhook")
app.command("serve")(serve)
app.command("plan")(exits.plan)
app.command("exit")(exits.exit_cmd)
app.command("exits")(exits.exits_cmd)
app.command("bulk-exit")(bulk.bulk_exit)
app.add_typer(bulk.job_app, name="job")
app.command("cancel")(exits.cancel_cmd)
app.command("reschedule")(exits.reschedule_cmd)
app.add_typer(departures_app, name="departures")
app.add_typer(exit_request_app, name="exit-request")
app.command("restore")(exits.restore_cmd)
app.command("freeze")(power.freeze_cmd)
app.command("rollback")(rollback.rollback_cmd)
app.add_typer(power.handover_app, name="handover")
app.command("unfreeze")(power.unfreeze_cmd)
app.command("inherit")(exits.inherit_cmd)
app.command("checklist")(exits.checklist_cmd)
app.command("signoff")(exits.signoff_cmd)
app.command("export")(exports.export_cmd)
app.command("report")(exports.report_cmd)
app.command("worker")(jobs.worker)
app.add_typer(jobs.outbox_app, name="outbox")
app.add_typer(bench_app, name="bench")
app.command("seed")(seed)
app.add_typer(exits.checklist_item_app, name="checklist-item")
app.add_typer(exits.transfer_app, name="transfer")
app.add_typer(exits.grant_app, name="grant")
app.add_typer(exits.reimbursement_app, name="reimbursement")


def main(argv: list[str] | None = None) -> None:
    logs.configure()  # JSON lines on stderr, like the server's; stdout stays for the command's output
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    wants_json = "--json" in args
    try:
        app(args=args, prog_name="offboard")
    except OffboardError as exc:
        if wants_json:
            sys.stdout.write(json.dumps(exc.to_dict(STATE.locale), ensure_ascii=False) + "\n")
        else:
            err_console.print(f"[red]✗ {exc.render(STATE.locale)}[/red] [dim]({exc.code})[/dim]")
        sys.exit(2 if exc.status in (400, 422) else 1)
    finally:
        STATE.close()
