"""Members: add, update, credentials, list, show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.crypto.secrets import hash_password
from offboard.domain import validation as v
from offboard.domain.authz import Action, Target
from offboard.domain.errors import Conflict, Term, ValidationError, error
from offboard.domain.org import coverage_delta
from offboard.domain.vocabulary import PRESENT_STATUSES, USERID_HOLDING_STATUSES, MemberStatus
from offboard.i18n.pinyin import search_key
from offboard.store import ids, repo
from offboard.store.org import shift_headcounts
from offboard.store.rows import AnyRow
from offboard.store.tables import (
    credentials,
    departments,
    member_departments,
    members,
)

PROFILE_FIELDS = ("name", "email", "mobile", "title", "external_id", "region")


def target_of(conn: Connection, tenant_id: int, member: AnyRow) -> Target:
    paths = tuple(r.path for r in repo.member_department_rows(conn, tenant_id, member.id))
    return Target(member_id=member.id, department_paths=paths, is_admin=repo.is_admin(conn, tenant_id, member.id))


def _check_userid_free(conn: Connection, tenant_id: int, userid: str) -> None:
    taken = conn.execute(
        select(func.count()).where(
            members.c.tenant_id == tenant_id,
            members.c.userid == userid,
            members.c.status.in_([s.value for s in USERID_HOLDING_STATUSES]),
        )
    ).scalar_one()
    if taken:
        raise error(Conflict, "duplicate_userid", "Userid {userid!r} is already taken in this enterprise.", userid=userid)


def _check_external_id_free(conn: Connection, tenant_id: int, external_id: str, except_id: int | None = None) -> None:
    query = select(func.count()).where(
        members.c.tenant_id == tenant_id,
        members.c.external_id == external_id,
        members.c.status.in_([s.value for s in USERID_HOLDING_STATUSES]),
    )
    if except_id is not None:
        query = query.where(members.c.id != except_id)
    if conn.execute(query).scalar_one():
        raise error(Conflict, "duplicate_external_id", "External id {external_id!r} already belongs to another member.", external_id=external_id)


def _department_paths(conn: Connection, tenant_id: int, department_ids: list[int]) -> dict[int, str]:
    if not department_ids:
        raise error(ValidationError, "department_required", "A member belongs to at least one department.")
    if len(set(department_ids)) != len(department_ids):
        raise error(ValidationError, "duplicate_department", "A department is listed twice.")
    found = dict(
        conn.execute(select(departments.c.id, departments.c.path).where(departments.c.tenant_id == tenant_id, departments.c.id.in_(department_ids), departments.c.status != "dissolved")).all()
    )
    for dept_id in department_ids:
        if dept_id not in found:
            raise error(ValidationError, "department_not_found", "No department with id {id} in this enterprise.", id=dept_id)
    return found


def _resolve_manager(conn: Connection, tenant_id: int, manager_userid: str | None, member_id: int | None) -> int | None:
    if not manager_userid:
        return None
    manager = repo.member_by_userid(conn, tenant_id, manager_userid)
    if manager.status not in PRESENT_STATUSES:
        raise error(ValidationError, "manager_inactive", "Manager {userid} is {status}; choose a current member.", userid=manager_userid, status=Term("member_status", manager.status))
    # Walk up the chain: a member may not (indirectly) manage themselves. O(depth of the chain).
    seen, cursor = set(), manager.id
    while cursor is not None and cursor not in seen:
        if cursor == member_id:
            raise error(Conflict, "manager_cycle", "{userid} cannot be the manager: that would make a reporting cycle.", userid=manager_userid)
        seen.add(cursor)
        cursor = conn.execute(select(members.c.manager_id).where(members.c.tenant_id == tenant_id, members.c.id == cursor)).scalar()
    manager_id: int = manager.id
    return manager_id


def insert_member(
    uow: UnitOfWork,
    *,
    userid: str,
    name: str,
    department_ids: list[int],
    email: str | None = None,
    mobile: str | None = None,
    title: str | None = None,
    region: str | None = None,
    external_id: str | None = None,
    manager_userid: str | None = None,
) -> int:
    """Insert a validated member with their departments and headcounts; no permission check."""
    conn, tid = uow.conn, uow.tenant_id
    userid = v.userid(userid)
    name = v.name(name)
    email = v.email(email)
    mobile = v.mobile(mobile)
    region = v.region(region or uow.tenant.region)
    title = v.clean(title, "title") or None if title else None
    external_id = v.clean(external_id, "external_id") or None if external_id else None
    _check_userid_free(conn, tid, userid)
    if external_id:
        _check_external_id_free(conn, tid, external_id)
    paths = _department_paths(conn, tid, department_ids)
    manager_id = _resolve_manager(conn, tid, manager_userid, None)
    member_id = ids.next_id(conn, members, tid)
    conn.execute(
        insert(members).values(
            tenant_id=tid,
            id=member_id,
            userid=userid,
            external_id=external_id or None,
            name=name,
            search_key=search_key(name),
            email=email,
            mobile=mobile,
            title=title,
            region=region,
            status=MemberStatus.ACTIVE,
            manager_id=manager_id,
            version=1,
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    conn.execute(
        insert(member_departments),
        [{"tenant_id": tid, "member_id": member_id, "department_id": d, "is_primary": i == 0, "joined_at": uow.now} for i, d in enumerate(department_ids)],
    )
    gain, _ = coverage_delta([], paths.values())
    shift_headcounts(conn, tid, gain, (), touched=department_ids, now=uow.now)
    uow.audit(
        "member.added",
        [f"member:{member_id}", *(f"department:{d}" for d in department_ids)],
        {"userid": userid, "name": name, "email": email, "mobile": mobile, "title": title, "region": region, "external_id": external_id, "department_ids": department_ids, "manager_id": manager_id},
    )
    return member_id


def add_member(uow: UnitOfWork, **fields: Any) -> int:
    department_ids = fields.get("department_ids") or [root_department_id(uow)]
    fields["department_ids"] = department_ids
    paths = _department_paths(uow.conn, uow.tenant_id, department_ids)
    uow.require(Action.MANAGE_DIRECTORY, Target(department_paths=tuple(paths.values())))
    return insert_member(uow, **fields)


def root_department_id(uow: UnitOfWork) -> int:
    """The root department: the enterprise itself, where a member without a department is placed."""
    root_id: int = uow.conn.execute(select(departments.c.id).where(departments.c.tenant_id == uow.tenant_id, departments.c.depth == 0).order_by(departments.c.id).limit(1)).scalar_one()
    return root_id


def update_member(
    uow: UnitOfWork,
    ref: int | str,
    *,
    changes: dict[str, Any],
    department_ids: list[int] | None = None,
    manager_userid: str | None = None,
    clear_manager: bool = False,
    departed: bool = False,
) -> dict[str, Any]:
    """A member's profile changed; `departed` admits a member whose exit is not finalized yet
    (an identity provider keeps a deactivated user's attributes current)."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, ref)
    userid = member.userid
    uow.require(Action.MANAGE_DIRECTORY, target_of(conn, tid, member))
    if member.status not in PRESENT_STATUSES and not (departed and member.status == MemberStatus.EXITED):
        raise error(Conflict, "member_not_present", "{userid} is {status}; only current members can be edited.", userid=userid, status=Term("member_status", member.status))
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in PROFILE_FIELDS:
            raise error(ValidationError, "unknown_field", "Unknown member field {field}.", field=key)
        if key == "name":
            value = v.name(value)
        elif key == "email":
            value = v.email(value)
        elif key == "mobile":
            value = v.mobile(value)
        elif key == "region":
            value = v.region(value)
        elif key == "title" and value:
            value = v.clean(value, "title")
        elif key == "external_id" and value:
            value = v.clean(value, "external_id")
            _check_external_id_free(conn, tid, value, except_id=member.id)
        if getattr(member, key) != value:
            values[key] = value or None
    if manager_userid is not None or clear_manager:
        manager_id = None if clear_manager else _resolve_manager(conn, tid, manager_userid, member.id)
        if manager_id != member.manager_id:
            values["manager_id"] = manager_id
    moved = None
    if department_ids is not None:
        moved = _set_departments(uow, member, department_ids)
    if not values and not moved:
        return {"userid": userid, "changed": []}
    # The picker's key follows the name; derived, so the audit event does not repeat it.
    derived = {"search_key": search_key(values["name"])} if "name" in values else {}
    conn.execute(update(members).where(members.c.tenant_id == tid, members.c.id == member.id).values(**values, **derived, version=members.c.version + 1, updated_at=uow.now))
    details = {k: values[k] for k in values}
    before = {k: getattr(member, k) for k in values}
    if moved:
        details["department_ids"] = department_ids
        before["department_ids"] = moved
    uow.audit("member.updated", [f"member:{member.id}"], {"before": before, "after": details})
    return {"userid": userid, "changed": sorted(details)}


def rename_member(uow: UnitOfWork, ref: int | str, userid: str, *, departed: bool = False) -> bool:
    """A member's new userid (a new mail domain, a changed name); returns whether it changed.
    `departed` as for update_member."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, ref)
    uow.require(Action.MANAGE_DIRECTORY, target_of(conn, tid, member))
    if member.status not in PRESENT_STATUSES and not (departed and member.status == MemberStatus.EXITED):
        raise error(Conflict, "member_not_present", "{userid} is {status}; only current members can be edited.", userid=member.userid, status=Term("member_status", member.status))
    userid = v.userid(userid)
    if userid == member.userid:
        return False
    if userid.lower() != member.userid.lower():
        _check_userid_free(conn, tid, userid)
    conn.execute(update(members).where(members.c.tenant_id == tid, members.c.id == member.id).values(userid=userid, version=members.c.version + 1, updated_at=uow.now))
    uow.audit("member.renamed", [f"member:{member.id}"], {"before": {"userid": member.userid}, "after": {"userid": userid}})
    return True


def _set_departments(uow: UnitOfWork, member: AnyRow, department_ids: list[int]) -> list[int] | None:
    """The member's departments made `department_ids` (the first primary); the ones they had, or
    None when nothing changed. Only a present member counts in headcounts: a departed one
    (admitted by update_member's `departed`) moves without shifting them, and a restore counts
    them where they are then."""
    conn, tid = uow.conn, uow.tenant_id
    new_paths = _department_paths(conn, tid, department_ids)
    uow.require(Action.MANAGE_DIRECTORY, Target(department_paths=tuple(new_paths.values())))
    old = repo.member_department_rows(conn, tid, member.id)
    old_ids = [r.department_id for r in old]
    if old_ids == department_ids:
        return None
    conn.execute(delete(member_departments).where(member_departments.c.tenant_id == tid, member_departments.c.member_id == member.id))
    conn.execute(
        insert(member_departments),
        [{"tenant_id": tid, "member_id": member.id, "department_id": d, "is_primary": i == 0, "joined_at": uow.now} for i, d in enumerate(department_ids)],
    )
    gain, lose = coverage_delta([r.path for r in old], new_paths.values()) if member.status in PRESENT_STATUSES else (set(), set())
    shift_headcounts(conn, tid, gain, lose, touched=set(old_ids) ^ set(department_ids), now=uow.now)
    return old_ids


def set_credentials(uow: UnitOfWork, ref: int | str, *, password: str | None = None, totp_secret: str | None = None) -> None:
    """Set a member's password (Argon2id) and/or enrolled TOTP secret; the secrets never reach the audit trail."""
    conn, tid = uow.conn, uow.tenant_id
    member = repo.member_ref(conn, tid, ref)
    if uow.actor.member_id != member.id:
        uow.require(Action.MANAGE_DIRECTORY, target_of(conn, tid, member))
    if password is not None and len(password) < 8:
        raise error(ValidationError, "weak_password", "A password needs at least 8 characters.")
    values: dict[str, Any] = {"updated_at": uow.now}
    if password is not None:
        values["password_hash"] = hash_password(password)
    if totp_secret is not None:
        values["totp_secret"] = totp_secret
        values["totp_last_step"] = None
    exists = conn.execute(select(func.count()).where(credentials.c.tenant_id == tid, credentials.c.member_id == member.id)).scalar_one()
    if exists:
        conn.execute(update(credentials).where(credentials.c.tenant_id == tid, credentials.c.member_id == member.id).values(**values))
    else:
        conn.execute(insert(credentials).values(tenant_id=tid, member_id=member.id, **values))
    uow.audit("member.credentials_set", [f"member:{member.id}"], {"password": password is not None, "totp": totp_secret is not None})
