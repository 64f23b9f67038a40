"""The exit checklist (SPEC §7): system-verified items, attestations, acknowledgements of
third-party grants, the HR + IT sign-off and finalization (R-LAW-2 retention of chats)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.domain import checklist as cl
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, Forbidden, NotFound, OffboardError, Term, Terms, ValidationError, error
from offboard.domain.lifecycle import retention_end, next_exit_state, next_member_status
from offboard.domain.vocabulary import DeviceStatus, ExitState, GrantStatus, MemberStatus, ReimbursementStatus, Role, StepKind
from offboard.actions.sealing import seal_members
from offboard.queries.checklist import ExitChecklist, checklist, custom_items, statuses
from offboard.store import repo, steps
from offboard.store.tables import (
    app_grants,
    checklist_attestations,
    checklist_items,
    devices,
    exit_signoffs,
    exits,
    members,
    messages,
    reimbursements,
)
from offboard.store.id_lists import among_ids
from offboard.store.transfers import owned_by_members

_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def _hr_or_it(uow: UnitOfWork, owner: Role) -> None:
    action = Action.ATTEST_HR if owner == Role.HR else Action.ATTEST_IT
    uow.require(action)


def attest(uow: UnitOfWork, exit_id: int, item_key: str, evidence: str) -> ExitChecklist:
    """Attest what the system cannot know, with evidence: a tenant's own items, and for item 12
    that the devices were wiped or returned."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    row = repo.exit_by_id(conn, tid, exit_id)
    evidence = v.clean(evidence, "evidence", multiline=True)
    if not evidence or len(evidence) > 4000:
        raise error(ValidationError, "evidence_required", "Attesting needs evidence text (1-4000 characters): what was checked, where, by whom.")
    custom = {i.key: i for i in custom_items(conn, tid)}
    if item_key in custom:
        item = custom[item_key]
    elif item_key == "access_revoked":
        item = cl.BY_KEY[item_key]
    elif item_key in cl.BY_KEY:
        raise error(Conflict, "system_verified", "Item {key} is verified by the system from its own data; do the work and it turns green by itself.", key=Term("checklist_item", item_key))
    else:
        raise error(NotFound, "unknown_item", "No checklist item {key}.", key=item_key)
    _hr_or_it(uow, item.owner)
    if row.state != ExitState.OPEN:
        raise error(Conflict, "exit_not_open", "Exit {id} is {state}; this needs an exit that took effect and is not finalized.", id=exit_id, state=Term("exit_state", row.state))
    if item_key == "access_revoked":
        wiped = conn.execute(
            update(devices)
            .where(devices.c.tenant_id == tid, devices.c.member_id == row.member_id, devices.c.status.in_([DeviceStatus.ACTIVE, DeviceStatus.WIPE_PENDING]))
            .values(status=DeviceStatus.WIPED, updated_at=now)
        ).rowcount
        uow.audit("devices.wiped", [f"exit:{exit_id}", f"member:{row.member_id}"], {"count": wiped, "evidence": evidence})
    else:
        exists = conn.execute(
            select(func.count()).where(checklist_attestations.c.tenant_id == tid, checklist_attestations.c.exit_id == exit_id, checklist_attestations.c.item_key == item_key)
        ).scalar_one()
        if exists:
            raise error(Conflict, "already_attested", "Item {key} is already attested.", key=item_key)
        conn.execute(insert(checklist_attestations).values(tenant_id=tid, exit_id=exit_id, item_key=item_key, evidence=evidence, member_id=uow.actor.member_id, attested_at=now))
        uow.audit("checklist.attested", [f"exit:{exit_id}"], {"item": item_key, "evidence": evidence})
    return checklist(conn, uow.tenant, uow.actor, exit_id, now)


def acknowledge_grants(uow: UnitOfWork, exit_id: int, evidence: str, *, app: str | None = None) -> int:
    """R-POST-1: IT acknowledges that a third-party app was told to re-authorize, with evidence."""
    conn, tid = uow.conn, uow.tenant_id
    uow.require(Action.ATTEST_IT)
    row = repo.exit_by_id(conn, tid, exit_id)
    evidence = v.clean(evidence, "evidence", multiline=True)
    if not evidence:
        raise error(ValidationError, "evidence_required", "Attesting needs evidence text (1-4000 characters): what was checked, where, by whom.")
    where = [app_grants.c.tenant_id == tid, app_grants.c.member_id == row.member_id, app_grants.c.status == GrantStatus.REAUTH_REQUIRED]
    if app:
        where.append(app_grants.c.app_name == app)
    n = conn.execute(update(app_grants).where(*where).values(status=GrantStatus.ACKNOWLEDGED, acknowledged_at=uow.now, acknowledged_by=uow.actor.audit_id)).rowcount
    if not n:
        raise error(Conflict, "nothing_to_acknowledge", "No grant of this exit is waiting for re-authorization{suffix}.", suffix=f" ({app})" if app else "")
    uow.audit("grants.acknowledged", [f"exit:{exit_id}", f"member:{row.member_id}"], {"count": n, "app": app, "evidence": evidence})
    return n


def close_reimbursements(uow: UnitOfWork, exit_id: int, evidence: str) -> int:
    """Item 4 (报销流程闭环): HR records that the leaver's open reimbursements were settled, with evidence."""
    conn, tid = uow.conn, uow.tenant_id
    uow.require(Action.ATTEST_HR)
    row = repo.exit_by_id(conn, tid, exit_id)
    evidence = v.clean(evidence, "evidence", multiline=True)
    if not evidence or len(evidence) > 4000:
        raise error(ValidationError, "evidence_required", "Attesting needs evidence text (1-4000 characters): what was checked, where, by whom.")
    n = conn.execute(
        update(reimbursements)
        .where(reimbursements.c.tenant_id == tid, reimbursements.c.member_id == row.member_id, reimbursements.c.status == ReimbursementStatus.OPEN)
        .values(status=ReimbursementStatus.CLOSED)
    ).rowcount
    if not n:
        raise error(Conflict, "nothing_to_close", "The leaver has no open reimbursement.")
    uow.audit("reimbursements.closed", [f"exit:{exit_id}", f"member:{row.member_id}"], {"count": n, "evidence": evidence})
    return n


def add_item(uow: UnitOfWork, key: str, title: str, owner: str) -> None:
    uow.require(Action.MANAGE_ADMINS)
    if not _KEY.match(key or "") or key in cl.BY_KEY:
        raise error(ValidationError, "invalid_item_key", "An item key is 2-40 lowercase letters, digits or _, and not one of the 12 built-in keys.")
    if owner not in ("hr", "it"):
        raise error(ValidationError, "invalid_owner", "An item is owned by hr or it.")
    if uow.conn.execute(select(func.count()).where(checklist_items.c.tenant_id == uow.tenant_id, checklist_items.c.key == key)).scalar_one():
        raise error(Conflict, "item_exists", "Checklist item {key} already exists.", key=key)
    uow.conn.execute(insert(checklist_items).values(tenant_id=uow.tenant_id, key=key, title=v.clean(title, "title")[:128] or key, owner_role=owner, created_at=uow.now))
    uow.audit("checklist.item_added", [f"tenant:{uow.tenant_id}"], {"key": key, "title": title, "owner": owner})


def signoff(uow: UnitOfWork, exit_id: int, role: str) -> ExitChecklist:
    """Two-person rule; finalizes at once when the restore window is already over."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    row = repo.exit_by_id(conn, tid, exit_id)
    if uow.actor.kind != "member":
        raise error(Forbidden, "person_required", "Sign-off is given by a person: pass --by USERID.")
    if role in cl.SIGNING_ROLES:  # an unknown role is refused by check_signoff with the choices
        uow.require_fresh_scope(Action.ATTEST_HR if role == "hr" else Action.ATTEST_IT)
    if row.state != ExitState.OPEN:
        raise error(Conflict, "exit_not_open", "Exit {id} is {state}; this needs an exit that took effect and is not finalized.", id=exit_id, state=Term("exit_state", row.state))
    existing = {r.role: r.member_id for r in conn.execute(select(exit_signoffs).where(exit_signoffs.c.tenant_id == tid, exit_signoffs.c.exit_id == exit_id))}
    held = {g.role.value for g in uow.actor.roles}
    assert uow.actor.member_id is not None, "a member actor has its member id"
    cl.check_signoff(role, uow.actor.member_id, held, existing, statuses(conn, tid, row, now))
    conn.execute(insert(exit_signoffs).values(tenant_id=tid, exit_id=exit_id, role=role, member_id=uow.actor.member_id, signed_at=now))
    uow.audit("exit.signed_off", [f"exit:{exit_id}", f"member:{row.member_id}"], {"role": role})
    if len(existing) + 1 == len(cl.SIGNING_ROLES) and row.restore_until is not None and now >= row.restore_until:
        finalize(uow, exit_id)
    return checklist(conn, uow.tenant, uow.actor, exit_id, now)


def finalize(uow: UnitOfWork, exit_id: int) -> bool:
    """The window is over and HR and IT signed: the member is finalized, their chats go under
    retention and are sealed with their contact fields (item 11, R-LAW-3), in this same transaction."""
    refused = finalize_many(uow, [exit_id])
    if exit_id in refused:
        raise refused[exit_id]
    return True


def finalize_many(uow: UnitOfWork, exit_ids: Sequence[int]) -> dict[int, OffboardError]:
    """Finalize these exits together (a layoff's thousands at once), set-based: each fact read
    with one statement for all of them, each change one statement (per retention end for the
    chats). An exit that may not be finalized yet is left as it is and returned with the reason;
    the others go on. Each finalized exit gets its step, audit event and outbox event."""
    conn, tid, now = uow.conn, uow.tenant_id, uow.now
    refused: dict[int, OffboardError] = {}
    wanted = (exits.c.id, exits.c.member_id, exits.c.state, exits.c.restore_until)
    rows = {r.id: r for r in conn.execute(select(*wanted).where(exits.c.tenant_id == tid, among_ids(conn, exits.c.id, exit_ids)))}
    for exit_id in exit_ids:
        if exit_id not in rows:
            refused[exit_id] = error(NotFound, "exit_not_found", "No exit with id {id} in this enterprise.", id=exit_id)
    signed: dict[int, int] = dict(
        conn.execute(select(exit_signoffs.c.exit_id, func.count()).where(exit_signoffs.c.tenant_id == tid, among_ids(conn, exit_signoffs.c.exit_id, rows)).group_by(exit_signoffs.c.exit_id)).all()
    )
    owned = owned_by_members(conn, tid, [r.member_id for r in rows.values()])
    leavers = {
        m.id: m
        for m in conn.execute(select(members.c.id, members.c.status, members.c.exited_at).where(members.c.tenant_id == tid, among_ids(conn, members.c.id, [r.member_id for r in rows.values()])))
    }
    ready = []
    for exit_id, row in rows.items():
        try:
            next_exit_state(row.state, "finalize")
            if row.restore_until is None or now < row.restore_until:
                raise error(Conflict, "restore_window_open", "The restore window of exit {id} is open until {until}; finalization waits for it.", id=exit_id, until=row.restore_until)
            if signed.get(exit_id, 0) < len(cl.SIGNING_ROLES):
                raise error(Conflict, "signoff_missing", "Exit {id} needs both the HR and the IT sign-off before it is finalized.", id=exit_id)
            still_owned = {k.value: n for k, n in owned.get(row.member_id, {}).items() if n}
            if still_owned:  # INV-2: nothing may stay owned by a finalized member
                raise error(Conflict, "resources_still_owned", "The member still owns {kinds}; hand them over before finalizing.", kinds=Terms.counted("resource_kind", still_owned))
            next_member_status(leavers[row.member_id].status, "finalize")
        except OffboardError as exc:
            refused[exit_id] = exc
            continue
        ready.append(row)
    if not ready:
        return refused
    member_ids = [r.member_id for r in ready]
    conn.execute(update(members).where(members.c.tenant_id == tid, among_ids(conn, members.c.id, member_ids)).values(status=MemberStatus.FINALIZED, updated_at=now, version=members.c.version + 1))
    until = {r.member_id: retention_end(leavers[r.member_id].exited_at or now, uow.policy.chat_retention_days, uow.tenant.timezone) for r in ready}
    kept: dict[int, int] = {}
    for moment in sorted(set(until.values())):
        authors = [m for m, u in until.items() if u == moment]
        query = (
            select(messages.c.author_id, func.count())
            .where(messages.c.tenant_id == tid, among_ids(conn, messages.c.author_id, authors), messages.c.retained_until.is_(None))
            .group_by(messages.c.author_id)
        )
        kept.update(conn.execute(query).all())
        conn.execute(update(messages).where(messages.c.tenant_id == tid, among_ids(conn, messages.c.author_id, authors), messages.c.retained_until.is_(None)).values(retained_until=moment))
    sealed = seal_members(uow, member_ids)
    conn.execute(
        update(exits)
        .where(exits.c.tenant_id == tid, among_ids(conn, exits.c.id, [r.id for r in ready]))
        .values(state=ExitState.FINALIZED, finalized_at=now, updated_at=now, version=exits.c.version + 1)
    )
    step_ids = steps.begin_many(conn, tid, [r.id for r in ready], StepKind.FINALIZE, uow.actor.audit_id, now)
    for row, step_id in zip(ready, step_ids):
        uow.audit(
            "exit.finalized",
            [f"exit:{row.id}", f"member:{row.member_id}"],
            {"messages_retained": kept.get(row.member_id, 0), "messages_sealed": sealed.get(row.member_id, 0), "retained_until": until[row.member_id].isoformat(), "step_id": step_id},
        )
        uow.emit("exit.finalized", exit_id=row.id, member_id=row.member_id)
    return refused
