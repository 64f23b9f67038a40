"""Commands of the exit lifecycle: plan, exit, exits, restore, inherit, transfer results,
checklist, sign-off, the worker."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from offboard.actions import checklist as cl_actions
from offboard.actions import exits as exit_actions
from offboard.actions import inheritance, restore
from offboard.queries import checklist as cl_queries
from offboard.queries import exits as exit_queries
from offboard.queries.checklist import ExitChecklist
from offboard.queries.exits import ExitSummary, PlanView
from offboard.store import repo
from offboard.cli.common import ByOpt, JsonOpt, act, ok, parse_ids, reading
from offboard.cli.output import console, emit_json, table
from offboard.cli.state import STATE
from offboard.domain.errors import ValidationError, error
from offboard.domain.lifecycle import leave_moment
from offboard.exports.words import detail_text
from offboard.queries.audit_text import tenant_time
from offboard.i18n import glossary, translate

transfer_app = typer.Typer(help="Outcomes of asynchronous transfers, by correlation id.", no_args_is_help=True)
grant_app = typer.Typer(help="Third-party app grants of a departed member (R-POST-1).", no_args_is_help=True)
reimbursement_app = typer.Typer(help="A departed member's reimbursements (checklist item 4).", no_args_is_help=True)

SuccessorOpt = Annotated[str | None, typer.Option("--successor", help="Userid who receives everything not named per kind.")]
AcceptorOpt = Annotated[list[str] | None, typer.Option("--acceptor", help="KIND=USERID, e.g. document=zhaolei; repeat.")]


def _acceptors(values: list[str] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values or []:
        kind, sep, userid = value.partition("=")
        if not sep or not kind or not userid:
            raise error(ValidationError, "invalid_acceptor", "Write an acceptor as KIND=USERID, e.g. document=zhaolei.")
        result[kind.strip()] = userid.strip()
    return result


def _t(text: str, **params: Any) -> str:
    return translate(text, STATE.locale, **params)


def _w(kind: str, value: object) -> str:
    """A vocabulary value as its word in the reader's language (the glossary)."""
    return glossary.term(kind, value, STATE.locale)


def print_plan(p: PlanView) -> None:
    table(
        _t("Plan {id} for {name} ({userid})", id=p.plan_id, name=p.member.name, userid=p.member.userid),
        ["kind", "count", "goes to", "why", "starts as"],
        [[k.kind, k.count, k.acceptor or k.destination, k.reason, k.state] for k in p.kinds if k.count],
    )
    for b in p.blockers:
        console.print(f"[red]✗ {b.message}[/red] [dim]({b.code})[/dim]")
    for w in p.warnings:
        console.print(f"[yellow]! {w.message}[/yellow] [dim]({w.code})[/dim]")
    if p.ok:
        console.print(f"[green]✓[/green] {_t('No blockers.')} digest {p.digest[:16]}")


def plan(member: str, successor: SuccessorOpt = None, acceptor: AcceptorOpt = None, by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """Show where each kind of the member's resources would go, blockers and warnings; changes nothing else."""
    result = act(lambda u: exit_actions.plan(u, member, successor=successor, acceptors=_acceptors(acceptor)), by).in_language(STATE.locale)
    if json_out:
        emit_json(result)
    else:
        print_plan(result)


def exit_cmd(
    member: str,
    type: Annotated[str, typer.Option("--type", help="voluntary (the member themselves) or removal.")] = "removal",
    reason_category: Annotated[str, typer.Option("--reason-category", help="resignation, dismissal, contract_end, retirement, transfer, other.")] = "resignation",
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")] = "",
    successor: SuccessorOpt = None,
    acceptor: AcceptorOpt = None,
    effective: Annotated[str | None, typer.Option("--effective", help="Leave date (YYYY-MM-DD, end of day in the enterprise's time zone) or time.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not show the plan and ask; act.")] = False,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Start an exit: access is cut at once and resources move, or it is scheduled for --effective."""
    acceptors = _acceptors(acceptor)
    plan_id = None
    if not yes:
        planned = act(lambda u: exit_actions.plan(u, member, successor=successor, acceptors=acceptors), by).in_language(STATE.locale)
        print_plan(planned)
        if not planned.ok:
            raise typer.Exit(1)
        if not typer.confirm(_t("Start this exit?"), default=False):
            raise typer.Abort()
        plan_id = planned.plan_id

    def _run(u):
        when = leave_moment(effective, u.tenant.timezone)
        return exit_actions.start_exit(
            u,
            member,
            type=type,
            reason_category=reason_category,
            reason=reason,
            plan_id=plan_id,
            successor=None if plan_id else successor,
            acceptors=None if plan_id else acceptors,
            effective_at=when,
        )

    result = act(_run, by)
    if json_out:
        emit_json(result)
        return
    print_exit(result)


def print_exit(e: ExitSummary) -> None:
    ok("Exit {id} of {userid}: {state}.", id=e.id, userid=e.member.userid, state=_w("exit_state", e.state))
    if e.ledger:
        table(None, ["kind", "states"], [[_w("resource_kind", k), ", ".join(f"{_w('ledger_state', s)} {n}" for s, n in sorted(v.items()))] for k, v in sorted(e.ledger.items())])
    if e.steps:
        table(None, ["step", "kind", "at", "actor", "rows"], [[s.id, s.kind, s.at[:19], s.actor, ", ".join(f"{k} {n}" for k, n in s.counts.items())] for s in e.steps])
    if e.restore_until:
        console.print(_t("Restore window until {until}.", until=e.restore_until[:16]))


def exits_cmd(
    state: Annotated[str | None, typer.Option(help="scheduled, open, finalized, restored or cancelled.")] = None,
    limit: Annotated[int, typer.Option()] = 100,
    offset: Annotated[int, typer.Option()] = 0,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List exits."""
    with reading(by) as (conn, tenant, actor):
        page = exit_queries.list_exits(conn, tenant.id, actor, state=state, limit=limit, offset=offset)
    if json_out:
        emit_json(page)
        return
    table(
        f"{len(page.items)} / {page.total}",
        ["id", "userid", "name", "state", "type", "reason", "effective", "restore until"],
        [[e.id, e.userid, e.name, e.state, e.type, e.reason_category, e.effective_at[:16], (e.restore_until or "")[:16]] for e in page.items],
    )


def restore_cmd(
    member: str,
    totp: Annotated[str, typer.Option("--totp", help="Your current 6-digit code (re-verification).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the exit was a mistake.")],
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Undo a mistaken exit within the restore window (R-EXIT-6)."""
    result = act(lambda u: restore.restore_exit(u, repo.exit_of(u.conn, u.tenant_id, member, open_only=True).id, totp=totp, reason=reason), by)
    if json_out:
        emit_json(result)
        return
    ok("{userid} restored; reverted: {reverted}.", userid=result.member.userid, reverted=", ".join(f"{k} {n}" for k, n in sorted(result.reverted.items())) or "-")
    if result.not_reverted:
        table(
            _t("Changed since the exit, not reverted"),
            ["kind", "resource", "state", "correlation id"],
            [[r.kind, r.resource_id, r.state, r.correlation_id] for r in result.not_reverted],
        )


def inherit_cmd(
    member: str,
    kind: Annotated[str, typer.Option("--kind", help="Resource kind, e.g. external_contact.")],
    to: Annotated[str, typer.Option("--to", help="Userid of the acceptor.")],
    ids: Annotated[list[str] | None, typer.Option("--ids", help="Only these resource ids (repeat or comma-separate).")] = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Assign a departed member's unassigned resources of one kind to an acceptor (离职继承)."""
    result = act(lambda u: inheritance.inherit(u, repo.exit_of(u.conn, u.tenant_id, member).id, kind, to, resource_ids=parse_ids(ids)), by)
    if json_out:
        emit_json(result)
    else:
        ok("{n} {kind} of {userid} inherited by {to}.", n=result.count, kind=kind, userid=member, to=to)


@transfer_app.command("result")
def transfer_result(
    correlation_id: str,
    state: Annotated[str, typer.Option("--state", help="done, refused or acceptor_full.")],
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record the outcome of a waiting transfer (e.g. the customer refused)."""
    result = act(lambda u: inheritance.record_result(u, correlation_id, state), by)
    if json_out:
        emit_json(result)
    else:
        ok("Transfer {id}: {state}.", id=correlation_id, state=result.state)


@grant_app.command("ack")
def grant_ack(
    member: str,
    evidence: Annotated[str, typer.Option("--evidence", help="How the app was told to re-authorize.")],
    app: Annotated[str | None, typer.Option("--app", help="Only this app.")] = None,
    by: ByOpt = None,
) -> None:
    """IT acknowledges that third-party apps re-authorized (checklist item 8)."""
    n = act(lambda u: cl_actions.acknowledge_grants(u, repo.exit_of(u.conn, u.tenant_id, member).id, evidence, app=app), by)
    ok("{n} grant(s) acknowledged.", n=n)


@reimbursement_app.command("close")
def reimbursement_close(
    member: str,
    evidence: Annotated[str, typer.Option("--evidence", help="Where the reimbursements were settled.")],
    by: ByOpt = None,
) -> None:
    """HR records that the leaver's open reimbursements were settled (checklist item 4)."""
    n = act(lambda u: cl_actions.close_reimbursements(u, repo.exit_of(u.conn, u.tenant_id, member).id, evidence), by)
    ok("{n} reimbursement(s) closed.", n=n)


def checklist_cmd(
    member: Annotated[str | None, typer.Argument(help="Userid of the departed member; omit with --board.")] = None,
    attest: Annotated[str | None, typer.Option("--attest", help="Item key to attest (access_revoked, or an item the enterprise added).")] = None,
    evidence: Annotated[str | None, typer.Option("--evidence", help="What was checked, where, by whom.")] = None,
    board: Annotated[bool, typer.Option("--board", help="All open items of open exits, by owner role.")] = False,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The 12-item exit checklist of a member (SPEC §7), or the board of all open items."""
    if board:
        with reading(by) as (conn, tenant, actor):
            found = cl_queries.checklist_board(conn, tenant, actor, STATE.services().clock.now())
        if json_out:
            emit_json(found)
            return
        for role, items in ((_w("role", "hr"), found.hr), (_w("role", "it"), found.it)):
            table(
                role,
                ["exit", "member", "#", "item", "detail"],
                [[i.exit_id, i.userid, i.number, i.title_zh if STATE.locale == "zh-CN" else i.title_en, _detail(i.detail)] for i in items],
            )
        return
    if not member:
        raise typer.BadParameter("name a member, or use --board")
    if attest:
        data = act(lambda u: cl_actions.attest(u, repo.exit_of(u.conn, u.tenant_id, member).id, attest, evidence or ""), by)
    else:
        with reading(by) as (conn, tenant, actor):
            data = cl_queries.checklist(conn, tenant, actor, repo.exit_of(conn, tenant.id, member).id, STATE.services().clock.now())
    if json_out:
        emit_json(data)
        return
    print_checklist(data)


def _detail(detail: dict[str, int]) -> str:
    """An open item's counts in words, as the console and the exports write them."""
    return detail_text(detail, STATE.locale)


def print_checklist(data: ExitChecklist) -> None:
    zh = STATE.locale == "zh-CN"
    table(
        _t("Checklist of exit {id}: {name} ({userid}), {state}", id=data.exit_id, name=data.member.name, userid=data.member.userid, state=_w("exit_state", data.state)),
        ["#", "item", "owner", "", "open"],
        [[i.number, i.title_zh if zh else i.title_en, _w("role", i.owner), "✓" if i.done else "·", _detail(i.detail) if not i.done else ""] for i in data.items],
    )
    signed = ", ".join(f"{_w('role', role)}: {s.userid}" for role, s in data.signoffs.items()) or "-"
    console.print(_t("Signed off: {signed}.", signed=signed))


def signoff_cmd(
    member: str,
    as_role: Annotated[str, typer.Option("--as", help="hr or it.")],
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sign off an exit's checklist as HR or IT (two different people)."""
    data = act(lambda u: cl_actions.signoff(u, repo.exit_of(u.conn, u.tenant_id, member, open_only=True).id, as_role), by)
    if json_out:
        emit_json(data)
    else:
        print_checklist(data)


def cancel_cmd(member: str, by: ByOpt = None, json_out: JsonOpt = False) -> None:
    """Cancel a scheduled exit before it takes effect."""
    result = act(lambda u: exit_actions.cancel_exit(u, repo.exit_of(u.conn, u.tenant_id, member, open_only=True).id), by)
    if json_out:
        emit_json(result)
    else:
        ok("Exit {id} of {userid}: {state}.", id=result.id, userid=result.member.userid, state=result.state)


def reschedule_cmd(
    member: str,
    effective: Annotated[str, typer.Option("--effective", help="The new leave date (YYYY-MM-DD, end of day in the enterprise's time zone) or time.")],
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Move a scheduled exit to another date before it takes effect (R-EXIT-8)."""

    def _run(u):
        when = leave_moment(effective, u.tenant.timezone)
        if when is None:
            raise error(ValidationError, "invalid_date", "{value!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM).", value=effective)
        moved = exit_actions.reschedule_exit(u, repo.exit_of(u.conn, u.tenant_id, member, open_only=True).id, when)
        return moved, tenant_time(moved.effective_at, u.tenant.timezone), datetime.fromisoformat(moved.effective_at) <= u.now

    result, local, due = act(_run, by)
    if json_out:
        emit_json(result)
        return
    ok("Exit {id} of {userid} moved: it takes effect {when}.", id=result.id, userid=result.member.userid, when=local)
    if due:
        console.print(_t("That time has passed: the exit takes effect on the worker's next sweep."))


checklist_item_app = typer.Typer(help="Checklist items an enterprise adds to the 12 (attested with evidence).", no_args_is_help=True)


@checklist_item_app.command("add")
def checklist_item_add(
    key: str,
    title: Annotated[str, typer.Option("--title", help="What is checked, as people read it.")],
    owner: Annotated[str, typer.Option("--owner", help="hr or it: who attests it.")],
    by: ByOpt = None,
) -> None:
    """Add an item to every exit's checklist of this enterprise (SPEC §7)."""
    act(lambda u: cl_actions.add_item(u, key, title, owner), by)
    ok("Checklist item {key} added.", key=key)
