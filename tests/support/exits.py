"""Small hand-made tenants for exit tests: a leaver owning N resources of every kind, plus
helpers to read the ledger and resources back and to act as HR or IT.

The company (one tenant, slug given):

    root  boss (primary super admin), deputy (backup super admin), hanna (hr), ivan (it)
      Sales (leader mona)   mona, tina
        East (leader leo)   leo (manager mona), sam and rita (both report to leo)
      Legal (leader lone)   lone, the only member

leo owns `per_kind` resources of every table kind (inserted with Core, no audit), the East
leadership and two direct reports. Every internal group of his has rita (joined first) and
sam as members besides him.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import Connection, func, insert, select, update

from offboard.actions import checklist as cl_actions
from offboard.actions import departments as dept_actions
from offboard.actions import exits as exit_actions
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions.context import Services, tenant_read, tenant_transaction
from offboard.actions.tenants import create_tenant
from offboard.crypto.secrets import new_session_token, token_digest
from offboard.demo.personas import totp_secret_for
from offboard.domain.vocabulary import ResourceKind
from offboard.store import ids, repo
from offboard.store.tables import (
    RESOURCE_TABLES,
    app_grants,
    approval_tasks,
    attendance_records,
    devices,
    internal_group_members,
    members,
    messages,
    reimbursements,
    sessions,
    transfer_ledger,
)
from offboard.store.transfers import SPECS

K = ResourceKind
TABLE_KINDS = tuple(ResourceKind(k) for k in RESOURCE_TABLES)  # the 8 kinds that are rows of their own
# Fixed per userid (as the demo's), so a failing run replays with the same codes.
TOTP_SECRETS = {userid: totp_secret_for(userid, seed=1) for userid in ("boss", "deputy", "hanna", "ivan", "mona", "tina")}


@dataclass
class Company:
    services: Services
    slug: str
    ids: dict[str, int]  # userid -> member id
    departments: dict[str, int]  # name -> department id
    resources: dict[ResourceKind, list[int]] = field(default_factory=dict)  # leo's, by kind

    def __getitem__(self, userid: str) -> int:
        return self.ids[userid]

    @property
    def tenant_id(self) -> int:
        with self.services.db.read() as conn:
            return repo.tenant_by_slug(conn, self.slug).id


def make_company(services: Services, slug: str = "acme", *, profile: str = "dingtalk", policy: dict | None = None, per_kind: int = 2) -> Company:
    created = create_tenant(services, slug=slug, name=slug.title(), admin_userid="boss", admin_name="Boss", profile=profile, policy_overrides=policy)
    root = created.root_department_id
    with tenant_transaction(services, slug) as uow:
        sales = dept_actions.add_department(uow, "Sales", root)
        east = dept_actions.add_department(uow, "East", sales)
        legal = dept_actions.add_department(uow, "Legal", root)
        for userid, dept, manager in (
            ("deputy", root, None),
            ("hanna", root, None),
            ("ivan", root, None),
            ("mona", sales, None),
            ("tina", sales, None),
            ("leo", east, "mona"),
            ("sam", east, "leo"),
            ("rita", east, "leo"),
            ("lone", legal, None),
        ):
            member_actions.add_member(uow, userid=userid, name=userid.title(), department_ids=[dept], manager_userid=manager)
        role_actions.grant_role(uow, "deputy", "super_admin", rank="backup")
        role_actions.grant_role(uow, "hanna", "hr")
        role_actions.grant_role(uow, "ivan", "it")
        for dept, leader in ((sales, "mona"), (east, "leo"), (legal, "lone")):
            dept_actions.set_leader(uow, dept, leader)
        for userid, secret in TOTP_SECRETS.items():
            member_actions.set_credentials(uow, userid, totp_secret=secret)
        member_ids = dict(uow.conn.execute(select(members.c.userid, members.c.id).where(members.c.tenant_id == uow.tenant_id)).all())
    company = Company(services, slug, member_ids, {"root": root, "Sales": sales, "East": east, "Legal": legal})
    company.resources = give(company, "leo", per_kind, group_members=["rita", "sam"])
    return company


def give(company: Company, userid: str, n: int, *, kinds=TABLE_KINDS, group_members: list[str] = ()) -> dict[ResourceKind, list[int]]:
    """Insert n resources of each kind owned by `userid` (Core inserts, version 1)."""
    owner = company[userid]
    with company.services.db.write() as conn:
        tid = repo.tenant_by_slug(conn, company.slug).id
        return {kind: _insert(conn, tid, kind, owner, n, [company[u] for u in group_members]) for kind in kinds}


def _insert(conn: Connection, tid: int, kind: ResourceKind, owner: int, n: int, group_members: list[int]) -> list[int]:
    table = RESOURCE_TABLES[kind.value]
    new = ids.next_ids(conn, table, tid, n)
    now = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    extra: dict[str, Any] = {
        K.EXTERNAL_CONTACT: {"name": "Customer", "company": "Client Co", "mobile": None},
        K.CUSTOMER_GROUP: {"name": "Customers", "member_count": 12, "restricted": False, "restricted_reason": None},
        K.INTERNAL_GROUP: {"name": "Team"},
        K.DOCUMENT: {"title": "plan.docx", "size_bytes": 1000, "archived": False, "deleted_at": None},
        K.CALENDAR: {"name": "Visits", "deleted_at": None},
        K.APPROVAL_TEMPLATE: {"name": "Discount"},
        K.APPROVAL_TASK: {"template_id": None, "title": "Discount 5%", "status": "pending"},
        K.SELF_BUILT_APP: {"name": "Helper", "agent_id": "1000001"},
    }[kind]
    if new:
        conn.execute(insert(table), [{"tenant_id": tid, "id": i, "owner_id": owner, "version": 1, "created_at": now, **extra} for i in new])
    if kind == K.INTERNAL_GROUP and new:
        rows = [{"tenant_id": tid, "group_id": g, "member_id": owner, "joined_at": now} for g in new]
        for minutes, member in enumerate(group_members, 1):
            rows += [{"tenant_id": tid, "group_id": g, "member_id": member, "joined_at": now + timedelta(minutes=minutes)} for g in new]
        conn.execute(insert(internal_group_members), rows)
    return new


def give_records(company: Company, userid: str, *, devices_n: int = 2, grants: int = 2, open_reimbursements: int = 1, messages_n: int = 3) -> None:
    """Subject records of `userid`: devices, third-party grants, reimbursements, messages, attendance."""
    member = company[userid]
    at = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
    with company.services.db.write() as conn:
        tid = repo.tenant_by_slug(conn, company.slug).id

        def rows(table, n, **values):
            if n:
                conn.execute(insert(table), [{"tenant_id": tid, "id": i, **values} for i in ids.next_ids(conn, table, tid, n)])

        rows(devices, devices_n, member_id=member, name="Phone", platform="ios", status="active", updated_at=at)
        rows(app_grants, grants, member_id=member, app_name="CRM", scopes="customer:read", status="active", granted_at=at)
        rows(reimbursements, open_reimbursements, member_id=member, title="Taxi", amount_cents=4200, status="open", created_at=at)
        rows(reimbursements, 1, member_id=member, title="Hotel", amount_cents=42000, status="closed", created_at=at)
        rows(messages, messages_n, author_id=member, conversation="group:1", body="收到", region="cn", sent_at=at)
        rows(attendance_records, 1, member_id=member, day=at.date(), check_in=at)


# --- acting ------------------------------------------------------------------------------------------


def totp_now(userid: str, services: Services) -> str:
    return pyotp.TOTP(TOTP_SECRETS[userid]).at(services.clock.now())


def start(company: Company, userid: str = "leo", *, by: str = "hanna", reason: str = "resigned", **kwargs) -> dict:
    kwargs.setdefault("type", "removal")
    kwargs.setdefault("reason_category", "resignation")
    with tenant_transaction(company.services, company.slug, by) as uow:
        return exit_actions.start_exit(uow, userid, reason=reason, **kwargs)


def open_session(company: Company, userid: str) -> str:
    """A signed-in console session of `userid`, returned as its token."""
    now = company.services.clock.now()
    with company.services.db.write() as conn:
        tid = repo.tenant_by_slug(conn, company.slug).id
        token = new_session_token(tid)
        conn.execute(
            insert(sessions).values(
                tenant_id=tid,
                id=ids.next_id(conn, sessions, tid),
                member_id=company[userid],
                token_hash=token_digest(token),
                created_at=now,
                expires_at=now + timedelta(hours=12),
                last_seen_at=now,
                stage="full",
                verified_at=now,
            )
        )
    return token


# --- reading back ------------------------------------------------------------------------------------


def ledger(company: Company, exit_id: int | None = None) -> list[Any]:
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        query = select(transfer_ledger).where(transfer_ledger.c.tenant_id == tenant.id)
        if exit_id is not None:
            query = query.where(transfer_ledger.c.exit_id == exit_id)
        return list(conn.execute(query.order_by(transfer_ledger.c.id)))


def resource(company: Company, kind: ResourceKind, resource_id: int) -> Any:
    spec = SPECS[kind]
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        return conn.execute(select(spec.table).where(spec.table.c.tenant_id == tenant.id, spec.table.c.id == resource_id)).one()


def owner(company: Company, kind: ResourceKind, resource_id: int) -> int | None:
    return getattr(resource(company, kind, resource_id), SPECS[kind].owner)


def owned_by(company: Company, userid: str) -> dict[str, int]:
    """Live resources of every kind (as planning counts them) owned by `userid`; zero kinds left out."""
    from offboard.store.transfers import count_owned

    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        return {k.value: n for k, n in count_owned(conn, tenant.id, company[userid]).items() if n}


def count(company: Company, table, *where) -> int:
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        return conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant.id, *where)).scalar_one()


def add_approval_template_task(company: Company, userid: str) -> tuple[int, int]:
    """An approval template and a pending task on it, both owned by `userid`."""
    with company.services.db.write() as conn:
        tid = repo.tenant_by_slug(conn, company.slug).id
        (template,) = _insert(conn, tid, K.APPROVAL_TEMPLATE, company[userid], 1, [])
        (task,) = ids.next_ids(conn, approval_tasks, tid, 1)
        conn.execute(
            insert(approval_tasks).values(
                tenant_id=tid, id=task, owner_id=company[userid], version=1, created_at=datetime(2026, 1, 1, tzinfo=UTC), template_id=template, title="Leave 1 day", status="pending"
            )
        )
    return template, task


def _act(company: Company, by: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def finalize_member(company: Company, clock: Any, userid: str = "leo") -> int:
    """`userid` (4 messages, an email, a mobile and a title) leaves with sam as successor and
    their exit is finalized (sealed); returns the exit id."""
    give_records(company, userid, messages_n=4)
    with company.services.db.write() as conn:
        conn.execute(update(members).where(members.c.id == company[userid]).values(email=f"{userid}@acme.example", mobile="13800000000", title="Engineer"))
    eid = start(company, userid, successor="sam").id
    _act(company, "hanna", cl_actions.close_reimbursements, eid, "settled (BX-1)")
    _act(company, "ivan", cl_actions.acknowledge_grants, eid, "CRM told")
    _act(company, "ivan", cl_actions.attest, eid, "access_revoked", "laptop returned")
    _act(company, "hanna", cl_actions.signoff, eid, "hr")
    clock.advance(hours=25)
    _act(company, "ivan", cl_actions.signoff, eid, "it")  # the window is over: signing finalizes
    return eid
