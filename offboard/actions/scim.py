"""What an identity provider changes through SCIM 2.0 (issue 13), through the same actions as the
console: a User created is a member added; a change of profile is a member updated;
deprovisioning (`active: false`, by PATCH or PUT) is an exit by the enterprise's successor rules
(the manager unless HR named one), trigger `scim`, which cuts access at once and opens the
restore window; `active: true` inside the window restores the member (the integration's restore,
without a person's code); DELETE ends the restore window, finalizes the exit when its checklist
allows it (else the sweep does when it does) and hides the member from SCIM from then on.

Each request carries the member's wanted state (`Wanted`, read off the SCIM User by
offboard.api.scim); what differs from the member is done, what does not changes nothing, so a
repeated request is a no-op. Optimistic concurrency: `if_match`, the version a client last saw
(its ETag), is refused as `version_mismatch` (HTTP 412) when the member changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from offboard.actions import checklist, exits, members, restore, tokens
from offboard.actions.context import UnitOfWork
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, OffboardError, ValidationError, error
from offboard.domain.policy import ExitAutomation
from offboard.domain.vocabulary import ExitState, MemberStatus, Trigger
from offboard.i18n import Term
from offboard.queries import scim as scim_q
from offboard.store import repo
from offboard.store.org import touch_departments
from offboard.store.rows import AnyRow
from offboard.store.tables import exits as exits_table
from offboard.store.tables import members as members_table

# What the token of an identity provider may do: provision and read members, remove and restore them.
SCOPES = [Action.SCIM.value, Action.READ_DIRECTORY.value, Action.MANAGE_DIRECTORY.value, Action.PLAN_EXIT.value, Action.START_REMOVAL.value, Action.RESTORE.value]
PROFILE = ("name", "email", "mobile", "title", "external_id")


class PreconditionFailed(Conflict):
    """An If-Match naming a version the member no longer has (HTTP 412)."""

    status = 412


@dataclass(frozen=True)
class Wanted:
    """A member as the identity provider wants them; None leaves a field as it is (a PATCH that
    does not name it), "" clears it."""

    user_name: str
    active: bool
    name: str | None = None
    external_id: str | None = None
    email: str | None = None
    mobile: str | None = None
    title: str | None = None
    employee_number: str | None = None
    manager_id: int | None = None  # 0 clears the manager


def create_token(uow: UnitOfWork, name: str) -> tokens.TokenCreated:
    """A tenant token for an identity provider, with SCOPES; its plaintext is shown once."""
    uow.require(Action.SCIM)
    return tokens.create_token(uow, name=name, service=True, scopes=SCOPES)


def _check_version(member: AnyRow, if_match: int | None) -> None:
    if if_match is not None and if_match != member.version:
        raise error(PreconditionFailed, "version_mismatch", "The user changed since version {seen} (it is at version {version}); read it again and retry.", seen=if_match, version=member.version)


def _check_user_name_free(uow: UnitOfWork, user_name: str, except_id: int | None) -> None:
    if scim_q.members_by_user_name(uow.conn, uow.tenant_id, user_name, except_id=except_id):
        raise error(Conflict, "duplicate_userid", "Userid {userid!r} is already taken in this enterprise.", userid=user_name)


def _manager_userid(uow: UnitOfWork, manager_id: int | None) -> str | None:
    if not manager_id:
        return None
    return str(repo.member_by_id(uow.conn, uow.tenant_id, manager_id).userid)


def create_user(uow: UnitOfWork, wanted: Wanted) -> int:
    """POST /Users: a new member (`active: false` creates them and deprovisions them at once)."""
    uow.require(Action.SCIM)
    _check_user_name_free(uow, wanted.user_name, None)
    member_id = members.add_member(
        uow,
        userid=wanted.user_name,
        name=wanted.name or wanted.user_name,
        email=wanted.email or None,
        mobile=wanted.mobile or None,
        title=wanted.title or None,
        external_id=wanted.external_id or None,
        manager_userid=_manager_userid(uow, wanted.manager_id),
    )
    if wanted.employee_number:
        _set_employee_number(uow, member_id, wanted.employee_number)
    if not wanted.active:
        _deprovision(uow, repo.member_by_id(uow.conn, uow.tenant_id, member_id))
    return member_id


def _set_employee_number(uow: UnitOfWork, member_id: int, value: str | None) -> None:
    if value is not None and len(value) > 64:
        raise error(ValidationError, "invalid_value", "{field} is at most {max} characters.", field="employeeNumber", max=64)
    uow.conn.execute(
        update(members_table)
        .where(members_table.c.tenant_id == uow.tenant_id, members_table.c.id == member_id)
        .values(employee_number=value or None, updated_at=uow.now, version=members_table.c.version + 1)
    )


def update_user(uow: UnitOfWork, member_id: int, wanted: Wanted, *, if_match: int | None = None) -> bool:
    """PUT or PATCH /Users/{id}: the member made as wanted; returns whether anything changed."""
    uow.require(Action.SCIM)
    member = scim_q.member_row(uow.conn, uow.tenant_id, member_id)
    _check_version(member, if_match)
    changed = False
    if member.status in (MemberStatus.ACTIVE, MemberStatus.FROZEN, MemberStatus.EXITED):
        changed |= _update_profile(uow, member, wanted)
    elif _profile_changes(member, wanted) or wanted.user_name.lower() != member.userid.lower():
        raise error(Conflict, "member_not_present", "{userid} is {status}; only current members can be edited.", userid=member.userid, status=Term("member_status", member.status))
    now_active = member.status == MemberStatus.ACTIVE
    if wanted.active and not now_active and member.status != MemberStatus.FROZEN:
        _reactivate(uow, member)
        changed = True
    elif not wanted.active and member.status in (MemberStatus.ACTIVE, MemberStatus.FROZEN):
        _deprovision(uow, repo.member_by_id(uow.conn, uow.tenant_id, member.id))
        changed = True
    return changed


def _profile_changes(member: AnyRow, wanted: Wanted) -> dict[str, Any]:
    changes = {}
    for field in PROFILE:
        value = getattr(wanted, field)
        if value is not None and (value or None) != getattr(member, field):
            changes[field] = value
    return changes


def _update_profile(uow: UnitOfWork, member: AnyRow, wanted: Wanted) -> bool:
    changed = False
    if wanted.user_name != member.userid:
        _rename(uow, member, wanted.user_name)
        changed = True
    changes = _profile_changes(member, wanted)
    manager = None
    clear = False
    if wanted.manager_id is not None and wanted.manager_id != (member.manager_id or 0):
        manager, clear = _manager_userid(uow, wanted.manager_id), wanted.manager_id == 0
    if changes or manager or clear:
        members.update_member(uow, member.id, changes=changes, manager_userid=manager, clear_manager=clear, departed=True)
        changed = True
    if wanted.employee_number is not None and (wanted.employee_number or None) != member.employee_number:
        _set_employee_number(uow, member.id, wanted.employee_number)
        changed = True
    return changed


def _rename(uow: UnitOfWork, member: AnyRow, user_name: str) -> None:
    """userName is read-write in SCIM (a marriage, a new mail domain): the userid follows."""
    if user_name.lower() != member.userid.lower():
        _check_user_name_free(uow, user_name, member.id)
    members.rename_member(uow, member.id, user_name, departed=True)


def _deprovision(uow: UnitOfWork, member: AnyRow) -> None:
    """An exit by the enterprise's successor rules, at once (R-EXIT-1), when the enterprise's
    exits start from the HR system (SPEC §6: the exit automation mode)."""
    mode = uow.policy.exit_automation
    if mode != ExitAutomation.HR_SYNC:
        raise error(
            Conflict,
            "exit_trigger_disabled",
            "In this enterprise exits start {mode}, so an identity provider may not start one; a super admin who wants it sets how exits start to the HR system.",
            mode=Term("exit_automation", mode.value),
        )
    try:
        exits.start_exit(uow, member.id, type="removal", reason_category="other", reason="Deprovisioned by the identity provider (SCIM)", trigger=Trigger.SCIM)
    except Conflict as exc:
        if exc.code == "exit_blocked" and {"last_super_admin", "super_admin_not_handed_over", "handover_pending"} & set(getattr(exc.params.get("blockers"), "values", ())):
            raise error(
                Conflict,
                "scim_super_admin",
                "{userid} is a super admin, and a super admin hands the role over before leaving (R-EXIT-3); the user stays active.",
                userid=member.userid,
            ) from exc
        raise


def _latest_exit(uow: UnitOfWork, member_id: int) -> AnyRow | None:
    query = select(exits_table).where(exits_table.c.tenant_id == uow.tenant_id, exits_table.c.member_id == member_id).order_by(exits_table.c.id.desc()).limit(1)
    return uow.conn.execute(query).first()


def _reactivate(uow: UnitOfWork, member: AnyRow) -> None:
    """Inside the restore window, the member comes back; after it, a new member is needed."""
    latest = _latest_exit(uow, member.id)
    if latest is None or latest.state != ExitState.OPEN:
        raise error(
            Conflict,
            "scim_not_restorable",
            "{userid} is {status}: they cannot be reactivated after the restore window; provision them again as a new user.",
            userid=member.userid,
            status=Term("member_status", member.status),
        )
    restore.restore_by_integration(uow, latest.id, reason="Reactivated by the identity provider (SCIM)")


def delete_user(uow: UnitOfWork, member_id: int, *, if_match: int | None = None) -> None:
    """DELETE /Users/{id}: deprovision if still active, end the restore window, finalize when the
    checklist allows, and answer 404 for the user from then on (RFC 7644 §3.6)."""
    uow.require(Action.SCIM)
    member = scim_q.member_row(uow.conn, uow.tenant_id, member_id)
    _check_version(member, if_match)
    if member.status in (MemberStatus.ACTIVE, MemberStatus.FROZEN):
        _deprovision(uow, member)
    latest = _latest_exit(uow, member.id)
    closed = finalized = False
    if latest is not None and latest.state == ExitState.OPEN:
        if latest.restore_until is None or latest.restore_until > uow.now:
            uow.conn.execute(
                update(exits_table).where(exits_table.c.tenant_id == uow.tenant_id, exits_table.c.id == latest.id).values(restore_until=uow.now, updated_at=uow.now, version=exits_table.c.version + 1)
            )
            closed = True
        refused: dict[int, OffboardError] = checklist.finalize_many(uow, [latest.id])
        finalized = latest.id not in refused
    uow.conn.execute(update(members_table).where(members_table.c.tenant_id == uow.tenant_id, members_table.c.id == member.id).values(scim_deleted_at=uow.now))
    # The member's departments no longer list them as a Group member: their versions move.
    touch_departments(uow.conn, uow.tenant_id, [r.department_id for r in repo.member_department_rows(uow.conn, uow.tenant_id, member.id)], uow.now)
    uow.audit("member.scim_deleted", [f"member:{member.id}", *([f"exit:{latest.id}"] if latest is not None else [])], {"window_closed": closed, "finalized": finalized})
