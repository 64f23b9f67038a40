"""Console pages of the exit lifecycle (SPEC §4, §7, §9): plan then confirm a removal, the exits
and each exit's ledger, checklist, inheritance and restore, the checklist board, the inbox and
leaving the enterprise by self-service.

Every rule lives in offboard.actions: a page reads a form, calls the action the API and the CLI
call, and shows its answer, or its error with the stable code, on the same page.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from offboard.actions import checklist as cl_actions
from offboard.actions import exits as exit_actions
from offboard.actions import inheritance, restore
from offboard.actions import members as member_actions
from offboard.actions.inheritance import Inherited
from offboard.actions import ledger_bulk
from offboard.actions.ledger_bulk import BulkDone
from offboard.queries.ledger_bulk import preview as bulk_preview
from offboard.actions.restore import RestoredExit
from offboard.queries import checklist as cl_queries
from offboard.queries import directory as directory_q
from offboard.queries import exits as exit_queries
from offboard.queries import members as members_q
from offboard.queries import handover as handover_q
from offboard.queries import people as people_q
from offboard.queries.checklist_subjects import subjects as checklist_subjects
from offboard.queries.inbox import inbox
from offboard.queries.members import MemberDetail, MemberRow
from offboard.actions.context import tenant_transaction
from offboard.actions.sign_in_locks import unlock_sign_in
from offboard.domain.authz import Action, allowed
from offboard.domain.errors import OffboardError, ValidationError, error
from offboard.domain.vocabulary import ExitState, LedgerState, ReasonCategory, ResourceKind, Role
from offboard.http.cookies import SESSION_COOKIE, session_token
from offboard.http.csrf import check_csrf
from offboard.http.errors import failure
from offboard.http.locale import locale_of
from offboard.i18n import translate
from offboard.store import repo
from offboard.store.transfers import open_counts
from offboard.domain.lifecycle import leave_moment
from offboard.exports.words import detail_text
from offboard.domain.checklist import ITEMS as checklist_items
from offboard.domain.ledger_bulk import APPLIES, RESULTS, BulkAction, Selection, action_of, result_of
from offboard.web import exit_progress
from offboard.web import exit_views as views
from offboard.web.exit_request_views import me_extras
from offboard.web.rendering import render
from offboard.web.reverify import PostedForm, posted_form
from offboard.web.session import PAGE_SIZE, Console, SignInRequired, console
from offboard.i18n import mark as _

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Csrf = Annotated[str, Form(max_length=128)]
Text = Annotated[str, Form(max_length=4000)]
LEDGER_PAGE = 25
CANDIDATES = 500  # members offered in the acceptor pickers; any userid may be typed


NOTICES = {
    "started": _("The exit has started: access is cut and the resources are moving."),
    "scheduled": _("The exit is scheduled; nothing happens before the leave date."),
    "inherited": _("{n} resource(s) assigned."),
    "bulk": _("Done for {n} row(s) of the ledger."),
    "attested": _("Item attested."),
    "acknowledged": _("{n} grant(s) acknowledged."),
    "closed": _("{n} reimbursement(s) closed."),
    "signed": _("Signed off."),
    "restored": _("Restored: the member is active again; {n} transfer(s) reverted, {kept} changed since the exit and left as they are."),
    "cancelled": _("The scheduled exit was cancelled."),
}


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    return render(request, template, status_code=status_code, labels=views.LABELS, **context)


def _csrf(request: Request, csrf: str) -> None:
    token = session_token(request)
    assert token is not None, "every caller takes the console dependency, which refused a request without a session"
    check_csrf(request, token, csrf)


def _write(request: Request, c: Console):
    return tenant_transaction(request.app.state.services, c.slug, actor=c.auth.actor)


def _now(request: Request):
    return request.app.state.services.clock.now()


def _candidates(conn, tenant_id: int, actor, member: MemberDetail | None = None) -> list[MemberRow]:
    """Active members to offer as successor or acceptor: the leaver's own department first."""
    seen: dict[int, MemberRow] = {}
    departments = [d.id for d in member.departments] if member else []
    for department in departments[:1] + [None]:
        page = members_q.list_members(conn, tenant_id, actor, status="active", department_id=department, limit=CANDIDATES)
        for m in page.items:
            if not member or m.id != member.id:
                seen.setdefault(m.id, m)
    return list(seen.values())


# --- members: plan, then confirm -------------------------------------------------------------


def _plan_form(request: Request, c: Console, member_id: int, form: dict[str, Any], *, error: dict | None = None, status: int = 200) -> Response:
    with c.read() as (conn, tenant, actor):
        member = members_q.show_member(conn, tenant.id, actor, member_id, now=request.app.state.services.clock.now())
        exit_actions.check_can_plan(conn, tenant.id, actor, member_id)
        links = views.member_exit_links(conn, tenant.id, actor, member_id)
        # The people the choices name, shown by name beside their userids (two queries, whatever their number).
        chosen = people_q.by_userids(conn, tenant.id, actor, [form["successor"], *form["acceptors"].values()])
    return _page(request, "exit_plan_form.html", status, c=c, member=member, links=links, chosen=chosen, form=form, error=error, tenant=tenant)


def _form(
    successor: str = "", reason_category: str = "resignation", reason: str = "", leave_date: str = "", acceptor_kind: list[str] | None = None, acceptor: list[str] | None = None
) -> dict[str, Any]:
    acceptors = {k: (u or "").strip() for k, u in zip(acceptor_kind or [], acceptor or []) if k and (u or "").strip()}
    return {"successor": (successor or "").strip(), "reason_category": reason_category, "reason": reason, "leave_date": leave_date, "acceptors": acceptors}


def _prefill_query(form: dict[str, Any], limit: int | None = None) -> str:
    """The plan form's choices as a query string; to stay within `limit` the reason goes first,
    then acceptors from the last."""
    groups = [[(k, form[k])] for k in ("successor", "reason_category", "leave_date") if form[k]]
    groups += [[("acceptor_kind", kind), ("acceptor", userid)] for kind, userid in form["acceptors"].items()]
    groups += [[("reason", form["reason"])]] if form["reason"] else []
    query = urlencode([pair for group in groups for pair in group])
    while limit is not None and len(query) > limit and groups:
        groups.pop()
        query = urlencode([pair for group in groups for pair in group])
    return query


@router.get("/members/{member_id}/exit")
def plan_form(
    request: Request,
    member_id: Id,
    c: Console = Depends(console),
    successor: Annotated[str, Query(max_length=64)] = "",
    reason_category: Annotated[str, Query(max_length=16)] = "resignation",
    reason: Annotated[str, Query(max_length=2000)] = "",
    leave_date: Annotated[str, Query(max_length=10)] = "",
    acceptor_kind: Annotated[list[str] | None, Query(max_length=24)] = None,
    acceptor: Annotated[list[str] | None, Query(max_length=64)] = None,
):
    return _plan_form(request, c, member_id, _form(successor, reason_category, reason, leave_date, acceptor_kind, acceptor))


@router.post("/members/{member_id}/exit/plan")
def plan_submit(
    request: Request,
    member_id: Id,
    csrf: Csrf,
    c: Console = Depends(console),
    successor: Annotated[str, Form(max_length=64)] = "",
    reason_category: Annotated[str, Form(max_length=16)] = "resignation",
    reason: Annotated[str, Form(max_length=2000)] = "",
    leave_date: Annotated[str, Form(max_length=10)] = "",
    acceptor_kind: Annotated[list[str] | None, Form()] = None,
    acceptor: Annotated[list[str] | None, Form()] = None,
):
    """R-EXIT-5: compute and store the plan; the confirm form names its id."""
    _csrf(request, csrf)
    form = _form(successor, reason_category, reason, leave_date, acceptor_kind, acceptor)
    try:
        with _write(request, c) as uow:
            effective = leave_moment(form["leave_date"], uow.tenant.timezone)
            plan = exit_actions.plan(uow, member_id, successor=form["successor"] or None, acceptors=form["acceptors"])
            can_start = allowed(uow.actor, Action.START_REMOVAL, member_actions.target_of(uow.conn, uow.tenant_id, repo.member_by_id(uow.conn, uow.tenant_id, member_id)))
            timezone = uow.tenant.timezone
    except OffboardError as exc:
        return _plan_form(request, c, member_id, form, error=failure(request, exc), status=exc.status)
    locale = locale_of(request)
    issues = {key: [{**asdict(i), "message": views.issue_text(asdict(i), locale)} for i in getattr(plan, key)] for key in ("blockers", "warnings")}
    return _page(
        request,
        "exit_plan.html",
        c=c,
        plan=plan,
        issues=issues,
        form=form,
        can_start=can_start,
        prefill=_prefill_query(form),
        effective=views.local_time(effective, timezone) if effective else None,
        timezone=timezone,
        moving=[k for k in plan.kinds if k.count],
        idle=[k.kind for k in plan.kinds if not k.count],
    )


@router.post("/exits")
def confirm_exit(
    request: Request,
    csrf: Csrf,
    member_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    plan_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    c: Console = Depends(console),
    reason_category: Annotated[str, Form(max_length=16)] = "resignation",
    reason: Annotated[str, Form(max_length=2000)] = "",
    leave_date: Annotated[str, Form(max_length=10)] = "",
    successor: Annotated[str, Form(max_length=64)] = "",
    acceptor_kind: Annotated[list[str] | None, Form()] = None,
    acceptor: Annotated[list[str] | None, Form()] = None,
    posted: PostedForm = Depends(posted_form),
):
    """Start the removal that was planned (plan_stale when the data changed since, R-EXIT-5)."""
    _csrf(request, csrf)
    form = _form(successor, reason_category, reason, leave_date, acceptor_kind, acceptor)
    c.require_recent_verification(Action.START_REMOVAL, f"/members/{member_id}/exit?{_prefill_query(form)}", posted)
    try:
        with _write(request, c) as uow:
            result = exit_actions.start_exit(
                uow,
                member_id,
                type="removal",
                reason_category=reason_category,
                reason=reason,
                plan_id=plan_id,
                effective_at=leave_moment(leave_date, uow.tenant.timezone),
            )
    except OffboardError as exc:
        return _plan_form(request, c, member_id, form, error=failure(request, exc), status=exc.status)
    notice = "scheduled" if result.state == ExitState.SCHEDULED else "started"
    return RedirectResponse(f"/exits/{result.id}?notice={notice}", status_code=303)


# --- exits -----------------------------------------------------------------------------------


@router.get("/exits")
def exits_page(
    request: Request,
    c: Console = Depends(console),
    q: Annotated[str, Query(max_length=64)] = "",
    department: Annotated[str, Query(max_length=19, pattern=r"^[0-9]*$")] = "",
    subdepartments: Annotated[bool, Query()] = True,
    state: Annotated[list[str] | None, Query(max_length=5)] = None,
    reason: Annotated[str, Query(max_length=16)] = "",
    since: Annotated[str, Query(alias="from", max_length=32)] = "",
    until: Annotated[str, Query(alias="to", max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
):
    """The exits with search and filters; the paging links keep every filter."""
    states = [s for s in (state or []) if s]
    typed: dict[str, Any] = {"q": q.strip(), "department": department, "reason": reason, "from": since.strip(), "to": until.strip()}
    problem: dict[str, str] | None = None
    status, found = 200, None
    with c.read() as (conn, tenant, actor):
        tree = directory_q.list_departments(conn, tenant.id, actor)
        try:
            found = exit_queries.list_exits(
                conn,
                tenant.id,
                actor,
                state=states,
                query=typed["q"] or None,
                department_id=int(department) if department else None,
                subdepartments=subdepartments,
                reason_category=reason or None,
                since=typed["from"] or None,
                until=typed["to"] or None,
                now=_now(request),
                limit=PAGE_SIZE,
                offset=(page - 1) * PAGE_SIZE,
            )
        except OffboardError as exc:
            problem, status = failure(request, exc), exc.status
    kept = [(k, v) for k, v in typed.items() if v] + [("state", s) for s in states] + ([] if subdepartments else [("subdepartments", "false")])
    result: dict[str, Any] = asdict(found) if found else {"total": 0, "offset": 0, "items": []}
    for item in result["items"]:
        item["effective_local"] = views.local_time(item["effective_at"], tenant.timezone)
        item["restore_local"] = views.local_time(item["restore_until"], tenant.timezone) if item["restore_until"] else "—"
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    return _page(
        request,
        "exits.html",
        status_code=status,
        c=c,
        result=result,
        typed=typed,
        chosen_states=states,
        subdepartments=subdepartments,
        problem=problem,
        tree=tree,
        page=page,
        pages=pages,
        query_of=lambda number: urlencode([*kept, ("page", number)]),
        states=[s.value for s in ExitState],
        reasons=[r.value for r in ReasonCategory],
        can_bulk=allowed(c.auth.actor, Action.START_REMOVAL),
    )


def _permissions(actor, target, exit_type: str) -> dict[str, Any]:
    """Which forms to show; each action checks again when it runs (SPEC §3.2)."""
    return {
        "restore": allowed(actor, Action.RESTORE, target),
        "inherit": allowed(actor, Action.INHERIT, target),
        "cancel": allowed(actor, Action.START_REMOVAL if exit_type == "removal" else Action.VOLUNTARY_EXIT, target),
        "attest_hr": allowed(actor, Action.ATTEST_HR),
        "attest_it": allowed(actor, Action.ATTEST_IT),
        "signoff": [r.value for r in (Role.HR, Role.IT) if actor.has(r)],
    }


Tab = Annotated[str, Query(pattern="^(overview|handover|checklist|timeline)$")]


def _exit_page(
    request: Request,
    c: Console,
    exit_id: int,
    *,
    tab: str = "overview",
    kind: str = "",
    state: str = "",
    history: bool = False,
    page: int = 1,
    notice: str | None = None,
    n: int | None = None,
    kept: int | None = None,
    error: dict | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """One exit on one screen: the step bar and what happens next on top, then one tab (overview,
    handover, checklist, timeline). After a refused form, `typed` holds what was typed, shown again."""
    now, locale = _now(request), locale_of(request)
    with c.read() as (conn, tenant, actor):
        # The checklist checks that this actor may read the exit; everything else follows it.
        checklist = asdict(cl_queries.checklist(conn, tenant, actor, exit_id, now))
        summary = asdict(exit_queries.exit_summary(conn, tenant.id, exit_id))
        still_open = open_counts(conn, tenant.id, exit_id)
        leaver = repo.member_by_id(conn, tenant.id, summary["member"]["id"])
        target = member_actions.target_of(conn, tenant.id, leaver)
        can = _permissions(actor, target, summary["type"])
        named = [summary["successor_id"], *summary["acceptors"].values()]
        people = views.people(conn, tenant.id, {summary["requested_by"]} | {f"member:{i}" for i in named if i} | {s["actor"] for s in summary["steps"]}, locale)
        extra: dict[str, Any] = {}
        if tab == "handover":
            found = exit_queries.ledger(conn, tenant.id, actor, exit_id, kind=kind or None, state=state or None, current=not history, grouped=True, limit=LEDGER_PAGE, offset=(page - 1) * LEDGER_PAGE)
            extra["ledger"] = asdict(found)
        elif tab == "checklist":
            refusals = cl_queries.signoff_refusals(conn, tenant, actor, exit_id, now) if summary["state"] == ExitState.OPEN else {}
            extra["signoff_blocked"] = {role: refusal.render(locale) for role, refusal in refusals.items() if refusal is not None}
            extra["subjects"] = {k: asdict(v) for k, v in checklist_subjects(conn, tenant.id, leaver.id, now).items()}
            extra["evidence"] = {i.key: [asdict(e) for e in i.evidence] for i in handover_q.checklist_items(conn, tenant.id, repo.exit_by_id(conn, tenant.id, exit_id), now)}
        elif tab == "timeline":
            extra["timeline"] = views.timeline(conn, tenant, exit_id, locale)
        receivers = {r["to_id"] for r in extra.get("ledger", {}).get("items", []) if r["to_id"]}
        persons = people_q.by_ids(conn, tenant.id, {i for i in named if i} | receivers)
    tz = tenant.timezone
    unassigned = {k: sum(v.get(s.value, 0) for s in inheritance.UNASSIGNED_STATES) for k, v in still_open.items()}
    waiting = {k: v.get(LedgerState.WAITING.value, 0) for k, v in still_open.items()}
    in_window = summary["state"] == ExitState.OPEN and views.time_left(summary["restore_until"], now) is not None
    for item in checklist["items"]:
        item["title"] = item["title_zh"] if locale == "zh-CN" else item["title_en"]
        item["open_text"] = detail_text(item["detail"], locale)
    for signed in checklist["signoffs"].values():
        signed["signed_local"] = views.local_time(signed["signed_at"], tz)
    for row in extra.get("ledger", {}).get("items", []):
        row["updated_local"] = views.local_time(row["updated_at"], tz)
    for given in extra.get("evidence", {}).values():
        for e in given:
            e["at_local"] = views.local_time(e["at"], tz)
    for step in summary["steps"]:
        step["at_local"] = views.local_time(step["at"], tz)
    ended = next((s["at_local"] for s in reversed(summary["steps"]) if s["kind"] == "restore"), None)
    bar = exit_progress.progress(
        exit_progress.Facts(
            state=summary["state"],
            now=now,
            restore_until=datetime.fromisoformat(summary["restore_until"]) if summary["restore_until"] else None,
            effective=views.local_time(summary["effective_at"], tz),
            restore_until_local=views.local_time(summary["restore_until"], tz),
            finalized_local=views.local_time(summary["finalized_at"], tz) if summary["finalized_at"] else None,
            ended_local=ended,
            transfers_open=sum(sum(v.values()) for v in still_open.values()),
            items_open=len(checklist["open_for_signoff"]),
            signed=frozenset(checklist["signoffs"]),
        )
    )
    total = extra.get("ledger", {}).get("total", 0)
    message = None
    if notice in NOTICES:
        message = translate(NOTICES[notice], locale, n=n if n is not None else "", kept=kept if kept is not None else "")
    return _page(
        request,
        "exit.html",
        status,
        c=c,
        e=summary,
        tab=tab,
        checklist=checklist,
        typed=typed or {},
        can=can,
        bar=bar,
        stage_labels=exit_progress.LABELS,
        unassigned={k: v for k, v in unassigned.items() if v},
        waiting={k: v for k, v in waiting.items() if v},
        done=sum(n for states in summary["ledger"].values() for s, n in states.items() if s == "done"),
        checklist_done=sum(1 for i in checklist["items"] if i["done"]),
        in_window=in_window,
        left=views.time_left(summary["restore_until"], now),
        people=people,
        persons=persons,
        tz=tz,
        emergency_until=views.local_time(checklist["emergency_until"], tz) if checklist["emergency_until"] else None,
        effective=views.local_time(summary["effective_at"], tz),
        restore_until=views.local_time(summary["restore_until"], tz),
        finalized=views.local_time(summary["finalized_at"], tz) if summary["finalized_at"] else None,
        kinds=[k.value for k in ResourceKind],
        ledger_states=[s.value for s in LedgerState],
        actionable=[s.value for s in APPLIES[BulkAction.RESULT] + APPLIES[BulkAction.INHERIT]],
        kind=kind,
        state=state,
        history=history,
        page=page,
        pages=max(1, -(-total // LEDGER_PAGE)),
        notice=message,
        error=error,
        results=[s.value for s in RESULTS],
        bulk_actions=[a.value for a in BulkAction],
        **extra,
    )


@router.get("/exits/{exit_id}")
def exit_page(
    request: Request,
    exit_id: Id,
    c: Console = Depends(console),
    tab: Tab = "overview",
    kind: Annotated[str, Query(max_length=24)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    history: Annotated[bool, Query()] = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    notice: Annotated[str | None, Query(max_length=16)] = None,
    n: Annotated[int | None, Query(ge=0, le=10**9)] = None,
    kept: Annotated[int | None, Query(ge=0, le=10**9)] = None,
):
    return _exit_page(request, c, exit_id, tab=tab, kind=kind, state=state, history=history, page=page, notice=notice, n=n, kept=kept)


def _act(request: Request, c: Console, exit_id: int, fn, notice: str, typed: dict[str, Any] | None = None, *, tab: str = "overview") -> Response:
    """Run one action in a transaction; back to the exit's tab with a notice, or with the error
    and what was typed into the form (`typed`), so nothing has to be typed again."""
    try:
        with _write(request, c) as uow:
            result = fn(uow)
    except OffboardError as exc:
        if exc.code == "reverification_required":  # a SENSITIVE action (authz.SENSITIVE): give the code, then back here
            raise SignInRequired("/reverify?next=" + quote(f"/exits/{exit_id}?tab={tab}")) from None
        return _exit_page(request, c, exit_id, tab=tab, error=failure(request, exc), typed=typed, status=exc.status)
    query: dict[str, str | int] = {"tab": tab, "notice": notice}
    if isinstance(result, int):
        query["n"] = result
    elif isinstance(result, (Inherited, BulkDone)):
        query["n"] = result.count
    elif isinstance(result, RestoredExit):
        query.update(n=sum(result.reverted.values()), kept=len(result.not_reverted))
    return RedirectResponse(f"/exits/{exit_id}?{urlencode(query)}", status_code=303)


@router.post("/exits/{exit_id}/cancel")
def cancel_submit(request: Request, exit_id: Id, csrf: Csrf, c: Console = Depends(console)):
    _csrf(request, csrf)
    return _act(request, c, exit_id, lambda u: exit_actions.cancel_exit(u, exit_id), "cancelled")


@router.post("/exits/{exit_id}/restore")
def restore_submit(request: Request, exit_id: Id, csrf: Csrf, totp: Annotated[str, Form(max_length=8)], reason: Annotated[str, Form(max_length=2000)], c: Console = Depends(console)):
    """R-EXIT-6. The code typed into this form is the re-verification: restore_exit checks it (once per 30 s step),
    so no separate 5-minute check is asked for, which would need two codes in a row."""
    _csrf(request, csrf)
    return _act(request, c, exit_id, lambda u: restore.restore_exit(u, exit_id, totp=totp, reason=reason), "restored", typed={"reason": reason})


@router.post("/exits/{exit_id}/inherit")
def inherit_submit(
    request: Request,
    exit_id: Id,
    csrf: Csrf,
    kind: Annotated[str, Form(max_length=24)],
    to: Annotated[str, Form(max_length=64)],
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    _csrf(request, csrf)
    c.require_recent_verification(Action.INHERIT, f"/exits/{exit_id}?tab=handover", posted)
    return _act(request, c, exit_id, lambda u: inheritance.inherit(u, exit_id, kind, to.strip()), "inherited", typed={f"to:{kind}": to}, tab="handover")


def _bulk_form(
    action: Annotated[str, Form(max_length=16)] = "",
    result: Annotated[str, Form(max_length=16)] = "",
    to: Annotated[str, Form(max_length=64)] = "",
    row: Annotated[list[str] | None, Form()] = None,
    everything: Annotated[bool, Form()] = False,
    kind: Annotated[str, Form(max_length=24)] = "",
    state: Annotated[str, Form(max_length=16)] = "",
) -> dict[str, Any]:
    return {"action": action, "result": result, "to": (to or "").strip(), "row": [r for r in row or [] if r], "everything": everything, "kind": kind, "state": state}


BulkFields = Annotated[dict[str, Any], Depends(_bulk_form)]


def _bulk_choice(form: dict[str, Any]) -> tuple[BulkAction, Selection]:
    if not form["action"]:
        raise error(ValidationError, "action_required", "Choose what to do with the chosen rows.")
    action = action_of(form["action"])
    if action == BulkAction.RESULT:
        result_of(form["result"])
    elif not form["to"]:
        raise error(ValidationError, "acceptor_required", "Choose who receives the chosen rows.")
    return action, Selection.of(form["row"], kind=form["kind"] or None, everything=form["everything"], state=form["state"] or None)


def _bulk_refused(request: Request, c: Console, exit_id: int, form: dict[str, Any], exc: OffboardError) -> Response:
    return _exit_page(request, c, exit_id, tab="handover", kind=form["kind"], state=form["state"], error=failure(request, exc), typed={"bulk": form}, status=exc.status)


@router.post("/exits/{exit_id}/ledger/bulk")
def bulk_review(request: Request, exit_id: Id, csrf: Csrf, form: BulkFields, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """The confirmation of a bulk action: how many rows it applies to and which, nothing done yet.
    The code is asked for here, before the confirmation, when the last check is over 5 minutes old."""
    _csrf(request, csrf)
    c.require_recent_verification(Action.INHERIT, f"/exits/{exit_id}?tab=handover", posted)
    try:
        action, selection = _bulk_choice(form)
        with c.read() as (conn, tenant, actor):
            to = repo.member_ref(conn, tenant.id, form["to"]) if form["to"] and action != BulkAction.RESULT else None
            found = bulk_preview(conn, tenant.id, actor, exit_id, action, selection, to_id=to.id if to else None)
            summary = exit_queries.exit_summary(conn, tenant.id, exit_id)
    except OffboardError as exc:
        return _bulk_refused(request, c, exit_id, form, exc)
    return _page(request, "exit_bulk.html", c=c, e=summary, form=form, preview=found, to=to)


@router.post("/exits/{exit_id}/ledger/bulk/confirm")
def bulk_confirm(
    request: Request,
    exit_id: Id,
    csrf: Csrf,
    form: BulkFields,
    expected: Annotated[int, Form(ge=0, le=10**9)],
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    """Run the bulk action the person confirmed; refused, and nothing changed, when the count they
    saw no longer holds."""
    _csrf(request, csrf)
    c.require_recent_verification(Action.INHERIT, f"/exits/{exit_id}?tab=handover", posted)
    try:
        action, selection = _bulk_choice(form)
    except OffboardError as exc:
        return _bulk_refused(request, c, exit_id, form, exc)
    return _act(
        request,
        c,
        exit_id,
        lambda u: ledger_bulk.bulk(u, exit_id, action, selection, expected=expected, state=form["result"] or None, to=form["to"] or None),
        "bulk",
        typed={"bulk": form},
        tab="handover",
    )


@router.post("/exits/{exit_id}/checklist/{item}/attest")
def attest_submit(
    request: Request,
    exit_id: Id,
    item: Annotated[str, Path(max_length=40)],
    csrf: Csrf,
    evidence: Text,
    c: Console = Depends(console),
    posted: PostedForm = Depends(posted_form),
):
    _csrf(request, csrf)
    it_item = any(i.key == item and i.owner == Role.IT for i in checklist_items)
    c.require_recent_verification(Action.ATTEST_IT if it_item else Action.ATTEST_HR, f"/exits/{exit_id}?tab=checklist", posted)
    return _act(request, c, exit_id, lambda u: cl_actions.attest(u, exit_id, item, evidence), "attested", typed={f"evidence:{item}": evidence}, tab="checklist")


@router.post("/exits/{exit_id}/grants/ack")
def grants_submit(request: Request, exit_id: Id, csrf: Csrf, evidence: Text, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    _csrf(request, csrf)
    c.require_recent_verification(Action.ATTEST_IT, f"/exits/{exit_id}?tab=checklist", posted)
    return _act(request, c, exit_id, lambda u: cl_actions.acknowledge_grants(u, exit_id, evidence), "acknowledged", typed={"evidence:third_party_reauth": evidence}, tab="checklist")


@router.post("/exits/{exit_id}/reimbursements/close")
def reimbursements_submit(request: Request, exit_id: Id, csrf: Csrf, evidence: Text, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    _csrf(request, csrf)
    c.require_recent_verification(Action.ATTEST_HR, f"/exits/{exit_id}?tab=checklist", posted)
    return _act(request, c, exit_id, lambda u: cl_actions.close_reimbursements(u, exit_id, evidence), "closed", typed={"evidence:reimbursements_closed": evidence}, tab="checklist")


@router.post("/exits/{exit_id}/signoff")
def signoff_submit(request: Request, exit_id: Id, csrf: Csrf, role: Annotated[str, Form(max_length=8)], c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    _csrf(request, csrf)
    c.require_recent_verification(Action.ATTEST_IT if role == "it" else Action.ATTEST_HR, f"/exits/{exit_id}?tab=checklist", posted)
    return _act(request, c, exit_id, lambda u: cl_actions.signoff(u, exit_id, role), "signed", tab="checklist")


# --- the board, the inbox --------------------------------------------------------------------


@router.get("/checklist")
def board_page(request: Request, c: Console = Depends(console)):
    locale = locale_of(request)
    with c.read() as (conn, tenant, actor):
        board = asdict(cl_queries.checklist_board(conn, tenant, actor, _now(request)))
    for items in board.values():
        for item in items:
            item["title"] = item["title_zh"] if locale == "zh-CN" else item["title_en"]
            item["open_text"] = detail_text(item["detail"], locale)
    return _page(request, "checklist_board.html", c=c, board=board)


@router.get("/inbox")
def inbox_page(request: Request, c: Console = Depends(console)):
    locale = locale_of(request)
    with c.read() as (conn, tenant, actor):
        box = asdict(inbox(conn, tenant, actor, _now(request)))
    for item in box["checklist"]:
        item["title"] = item["title_zh"] if locale == "zh-CN" else item["title_en"]
        item["open_text"] = detail_text(item["detail"], locale)
    for awaiting in box["awaiting_signoff"]:
        awaiting["restore_local"] = views.local_time(awaiting["restore_until"], tenant.timezone) if awaiting["restore_until"] else None
    for report in box["reports_leaving"]:
        report["effective_local"] = views.local_time(report["effective_at"], tenant.timezone)
    for account in box["locked_accounts"]:
        account["since_local"] = views.local_time(account["since"], tenant.timezone)
    notice = request.query_params.get("unlocked")
    return _page(request, "inbox.html", c=c, box=box, unlocked=notice if notice and len(notice) <= 64 else None)


@router.post("/inbox/unlock/{member_id}")
def unlock_submit(request: Request, member_id: Id, csrf: Csrf, c: Console = Depends(console), posted: PostedForm = Depends(posted_form)):
    """Lift a sign-in lock from the inbox (super admins and IT); a security call, so re-verified."""
    _csrf(request, csrf)
    c.require_recent_verification(Action.FREEZE, "/inbox#locked", posted)
    with _write(request, c) as uow:
        userid = repo.member_by_id(uow.conn, uow.tenant_id, member_id).userid
        unlock_sign_in(uow, member_id)
    return RedirectResponse("/inbox?" + urlencode({"unlocked": userid}) + "#locked", status_code=303)


# --- leaving by self-service (R-EXIT-2) ------------------------------------------------------


@router.post("/me/exit")
def self_exit(
    request: Request,
    csrf: Csrf,
    c: Console = Depends(console),
    reason_category: Annotated[str, Form(max_length=16)] = "resignation",
    reason: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=64)] = "",
    posted: PostedForm = Depends(posted_form),
):
    _csrf(request, csrf)
    # A member who signs in with a second factor confirms it is them again; one who signs in
    # with a password alone has nothing more to give than typing their userid below.
    c.require_recent_verification(Action.VOLUNTARY_EXIT, "/me#leave", posted)
    form = {"reason_category": reason_category, "reason": reason}
    try:
        if confirm.strip() != c.auth.actor.userid:
            raise error(ValidationError, "confirmation_required", "Type your userid {userid} to confirm that you are leaving.", userid=c.auth.actor.userid)
        assert c.auth.actor.member_id is not None, "a console session is a member's"
        with _write(request, c) as uow:
            exit_actions.start_exit(uow, c.auth.actor.member_id, type="voluntary", reason_category=reason_category, reason=reason)
    except OffboardError as exc:
        now = request.app.state.services.clock.now()
        with c.read() as (conn, tenant, actor):
            member = members_q.show_member(conn, tenant.id, actor, actor.member_id, now=now)
            extras = me_extras(conn, tenant, actor, now)
        return _page(request, "me.html", exc.status, c=c, member=member, tenant=tenant, exit_error=failure(request, exc), exit_form=form, **extras)
    # The exit revoked this session (R-EXIT-1); the browser is told to clear what it kept (R-EXIT-2).
    response = RedirectResponse("/login", status_code=303)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
