"""`offboard exit-request …`: exit requests approved through a flow (离职申请审批; issue 13 item
3, SPEC §6 `approval_flow`): file, list, show, approve, reject, withdraw, and the tenant's flow."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.actions import exit_requests as actions
from offboard.cli.common import JsonOpt, act, ok, reading
from offboard.cli.output import console, emit_json, kv, table
from offboard.cli.state import STATE
from offboard.i18n import glossary, translate
from offboard.queries import exit_requests as queries
from offboard.queries.audit_text import tenant_time
from offboard.queries.exit_requests import ExitRequestView, FlowView, StepView

exit_request_app = typer.Typer(help="Exit requests approved through a flow: a member files one, their manager and HR approve it (离职申请审批).", no_args_is_help=True)
flow_app = typer.Typer(help="The steps every new exit request goes through.", no_args_is_help=True)
exit_request_app.add_typer(flow_app, name="flow")

PersonOpt = Annotated[str, typer.Option("--by", help="Userid of the person acting (recorded in the audit trail).")]
ReaderOpt = Annotated[str | None, typer.Option("--by", help="Userid of the person reading; the operator (every request) when omitted.")]


def _t(text: str, **params: object) -> str:
    return translate(text, STATE.locale, **params)


def _w(kind: str, value: object) -> str:
    return glossary.term(kind, value, STATE.locale)


def _approver(step: StepView) -> str:
    if step.approver_id is None:
        return _w("approver_kind", "hr")
    return f"{step.approver_name} ({step.approver_userid})"


def _print(view: ExitRequestView, tz: str) -> None:
    kv(
        _t("Exit request {id}", id=view.id),
        [
            (_t("Member"), f"{view.name} ({view.userid})"),
            (_t("State"), _w("exit_request_state", view.state)),
            (_t("Leave date"), view.leave_date),
            (_t("Reason category"), _w("reason_category", view.reason_category)),
            (_t("Reason"), view.reason),
            (_t("Successor"), view.successor_name or "—"),
            (_t("Filed"), tenant_time(view.created_at, tz)),
            (_t("Exit"), f"{view.exit_id} ({_w('exit_state', view.exit_state)})" if view.exit_id else "—"),
        ],
    )
    rows = []
    for s in view.steps:
        state = _w("approval_state", s.state)
        if s.note:
            state += f" · {_w('approval_note', s.note)}"
        if s.moved_from_name:
            state += " · " + _t("moved from {name}, who left", name=s.moved_from_name)
        decided = f"{s.decided_by_name} {tenant_time(s.decided_at, tz)}" if s.decided_at else ""
        rows.append([s.position, _w("approver_kind", s.kind), _approver(s), state, decided, s.comment or ""])
    table(_t("Approval steps"), ["#", _t("Approval step"), _t("Approver"), _t("State"), _t("Decided"), _t("Comment")], rows)


def _done(view: ExitRequestView, tz: str, json_out: bool) -> None:
    if json_out:
        emit_json(view)
        return
    _print(view, tz)


@exit_request_app.command("file")
def file_cmd(
    by: PersonOpt,
    leave_date: Annotated[str, typer.Option("--leave-date", help="The last day (YYYY-MM-DD), today or later, at most a year ahead.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the member leaves (kept in the audit trail).")],
    category: Annotated[str, typer.Option("--category", help="resignation, dismissal, contract_end, retirement, transfer or other.")] = "resignation",
    successor: Annotated[str | None, typer.Option("--successor", help="Userid of who receives what no acceptor is named for.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """File an exit request for oneself (--by is the member leaving); it goes to the approval flow."""
    view, tz = act(lambda u: (actions.file_request(u, by, leave_date=leave_date, reason=reason, reason_category=category, successor=successor), u.tenant.timezone), by)
    if not json_out:
        ok("Exit request {id} filed; it waits for {approver}.", id=view.id, approver=_approver(view.waiting) if view.waiting else "—")
    _done(view, tz, json_out)


@exit_request_app.command("list")
def list_cmd(
    state: Annotated[str | None, typer.Option("--state", help="pending, approved, rejected, withdrawn or cancelled.")] = None,
    waiting_for_me: Annotated[bool, typer.Option("--waiting-for-me", help="Only those waiting for the --by member's decision.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    by: ReaderOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Exit requests, newest first: the --by member's own and those whose steps name them (HR and super admins: all)."""
    with reading(by) as (conn, tenant, actor):
        page = queries.list_requests(conn, tenant, actor, state=state, waiting_for_me=waiting_for_me, limit=limit, offset=offset)
        tz = tenant.timezone
    if json_out:
        emit_json(page)
        return
    rows = [
        [
            r.id,
            f"{r.name} ({r.userid})",
            r.leave_date,
            _w("exit_request_state", r.state),
            _approver(r.waiting) if r.waiting else "—",
            tenant_time(r.created_at, tz),
        ]
        for r in page.items
    ]
    table(f"{len(page.items)} / {page.total}", [_t("Request"), _t("Member"), _t("Leave date"), _t("State"), _t("Waiting for"), _t("Filed")], rows)


@exit_request_app.command("show")
def show_cmd(request_id: int, by: ReaderOpt = None, json_out: JsonOpt = False) -> None:
    """An exit request with its steps: who decides each, its state and comment."""
    with reading(by) as (conn, tenant, actor):
        view = queries.show_request(conn, tenant, actor, request_id)
        tz = tenant.timezone
    _done(view, tz, json_out)


@exit_request_app.command("approve")
def approve_cmd(request_id: int, by: PersonOpt, comment: Annotated[str | None, typer.Option("--comment")] = None, json_out: JsonOpt = False) -> None:
    """Approve the step waiting for --by; the last approval schedules the exit for the leave date."""
    view, tz = act(lambda u: (actions.approve(u, request_id, comment=comment), u.tenant.timezone), by)
    if not json_out:
        if view.exit_id:
            ok("Approved: the exit of {name} is scheduled for the end of {day} (exit {id}).", name=view.name, day=view.leave_date, id=view.exit_id)
        else:
            ok("Approved; the request goes to {approver}.", approver=_approver(view.waiting) if view.waiting else "—")
    _done(view, tz, json_out)


@exit_request_app.command("reject")
def reject_cmd(request_id: int, by: PersonOpt, comment: Annotated[str, typer.Option("--comment", help="Why: the member reads it.")], json_out: JsonOpt = False) -> None:
    """Reject the step waiting for --by, saying why; the request ends."""
    view, tz = act(lambda u: (actions.reject(u, request_id, comment=comment), u.tenant.timezone), by)
    if not json_out:
        ok("Rejected: {name} is told why in their inbox.", name=view.name)
    _done(view, tz, json_out)


@exit_request_app.command("withdraw")
def withdraw_cmd(request_id: int, by: PersonOpt, json_out: JsonOpt = False) -> None:
    """Withdraw one's own pending exit request."""
    view, tz = act(lambda u: (actions.withdraw(u, request_id), u.tenant.timezone), by)
    if not json_out:
        ok("Exit request {id} withdrawn.", id=view.id)
    _done(view, tz, json_out)


def _print_flow(view: FlowView, json_out: bool) -> None:
    if json_out:
        emit_json(view)
        return
    rows = [[i, _w("approver_kind", s.kind), f"{s.name} ({s.userid})" if s.userid else "—", s.text] for i, s in enumerate(view.steps, 1)]
    table(_t("Approval flow of exit requests") + ("" if view.configured else " " + _t("(the default)")), ["#", _t("Approval step"), _t("Approver"), _t("As typed")], rows)


@flow_app.command("show")
def flow_show(by: ReaderOpt = None, json_out: JsonOpt = False) -> None:
    """The steps a new exit request goes through."""
    with reading(by) as (conn, tenant, actor):
        view = queries.show_flow(conn, tenant.id, actor)
    _print_flow(view, json_out)


@flow_app.command("set")
def flow_set(
    steps: Annotated[list[str], typer.Argument(help="In order: manager, department_leader, hr or member:USERID.")],
    by: Annotated[str | None, typer.Option("--by", help="Userid of the super admin acting; the operator when omitted.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Set the steps of the exit requests filed from now on (those filed keep theirs)."""
    view = act(lambda u: actions.set_flow(u, steps), by)
    if not json_out:
        ok("Approval flow saved; exit requests filed from now on go through it.")
    _print_flow(view, json_out)
    if not json_out:
        console.print(_t("Requests filed before keep the steps they were filed with."))
