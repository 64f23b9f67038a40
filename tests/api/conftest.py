"""Two enterprises over HTTP, on SQLite and PostgreSQL.

`world` builds tenants alpha (A) and beta (B) through the actions. Each has a super admin,
an admin scoped to the Sales department, hr, it, a plain member in Sales and an "outsider"
in Ops (outside the admin's scope); every one of them has a password, an enrolled TOTP secret and a personal
token carrying every scope. Each tenant also has a service token with every scope and one
with none; the world has an operator token. A holds a few rows more than B (department Lab,
member alpha-lab-hr with the hr role and a token), so on SQLite, where ids are drawn per
tenant, some of A's ids exist in A only; on PostgreSQL every id is global anyway.

Every userid and name of A contains "alpha", of B "beta": a body that mentions "alpha" came
from A.

Speed: Argon2id costs ~50 ms per hash, so within a test session the hash of the one shared
password is computed once and reused by `set_credentials` (a hash embeds its salt; reusing
it across members changes nothing for verification, which stays real). On SQLite the world
is built once per session and each test starts from a copy of that file.
"""

from __future__ import annotations

import copy
import itertools
import re
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

import pyotp
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from offboard.actions import bulk_exits, erasure, exit_requests, holds
from offboard.actions import departments as dept_actions
from offboard.actions import exits as exit_actions
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions import webhooks as webhook_actions
from offboard.actions.auth import create_operator_token
from offboard.actions.policy import set_policy
from offboard.actions.context import Services, resolve_actor, tenant_transaction
from offboard.actions.tenants import create_tenant
from offboard.api.app import create_app
from offboard.bootstrap import build
from offboard.crypto.secrets import hash_password, new_token
from offboard.domain import bulk_file
from offboard.store import ids
from offboard.store.tables import api_tokens, departments, documents, erasure_requests, exits, external_contacts, jobs, legal_holds, members, transfer_ledger, webhook_deliveries, webhook_subscriptions
from offboard.store.tables import exit_requests as exit_requests_table
from tests.support.clock import FakeClock

PASSWORD = "correct horse battery staple"
ALL_SCOPES = list(token_actions.SCOPES)
PEOPLE = ("super", "admin", "hr", "it", "member", "outsider")
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')

_fresh = itertools.count(1)


def fresh(prefix: str) -> str:
    """A name no other row of the test session uses."""
    return f"{prefix}{next(_fresh)}"


@lru_cache(maxsize=None)
def _cached_hash(password: str) -> str:
    return hash_password(password)


@dataclass
class Person:
    key: str
    userid: str
    name: str
    member_id: int
    totp_secret: str
    token: str
    token_id: int
    password: str = PASSWORD

    def code(self, clock: FakeClock, offset_steps: int = 0) -> str:
        return pyotp.TOTP(self.totp_secret).at(int(clock.now().timestamp()) + 30 * offset_steps)


@dataclass
class Org:
    slug: str
    id: int
    root: int
    sales: int
    ops: int
    people: dict[str, Person]
    service_token: str
    unscoped_service_token: str
    extra: dict[str, Any] = field(default_factory=dict)  # A only: lab, lab_hr, lab_hr_token, leaver, exit, correlation_id

    def __getitem__(self, key: str) -> Person:
        return self.people[key]

    def bearer(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self[key].token}"}


@dataclass
class World:
    services: Services
    clock: FakeClock
    app: object
    a: Org
    b: Org
    operator_token: str

    def operator(self, slug: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.operator_token}"}
        if slug:
            headers["X-Offboard-Tenant"] = slug
        return headers

    def client(self, address: str = "testclient") -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False, follow_redirects=False, client=(address, 50000))

    def headers_for(self, org: Org, actor: str) -> dict[str, str]:
        """Bearer headers of an actor of the §3.2 table."""
        if actor == "operator":
            return self.operator(org.slug)
        if actor == "service":
            return {"Authorization": f"Bearer {org.service_token}"}
        if actor == "service_unscoped":
            return {"Authorization": f"Bearer {org.unscoped_service_token}"}
        return org.bearer(actor)


def _build_org(services: Services, prefix: str, *, extra: bool) -> Org:
    title = prefix.title()
    created = create_tenant(services, slug=prefix, name=f"{title} Trading", admin_userid=f"{prefix}-super", admin_name=f"{title} Super")
    slug, root = created.slug, created.root_department_id
    member_ids: dict[str, int] = {"super": created.admin_member_id}
    userids = {key: f"{prefix}-{key}" for key in PEOPLE}
    names = {key: f"{title} {key.title()}" for key in PEOPLE}
    secrets_ = {key: pyotp.random_base32() for key in PEOPLE}
    extra_ids: dict[str, Any] = {}
    with tenant_transaction(services, slug) as uow:
        operator = uow.actor
        sales = dept_actions.add_department(uow, f"{title} Sales")
        ops = dept_actions.add_department(uow, f"{title} Ops")
        home = {"admin": sales, "hr": root, "it": root, "member": sales, "outsider": ops}
        for key, dept in home.items():
            member_ids[key] = member_actions.add_member(uow, userid=userids[key], name=names[key], department_ids=[dept])
        role_actions.grant_role(uow, member_ids["admin"], "admin", scope=[sales])
        role_actions.grant_role(uow, member_ids["hr"], "hr")
        role_actions.grant_role(uow, member_ids["it"], "it")
        for key in PEOPLE:
            member_actions.set_credentials(uow, member_ids[key], password=PASSWORD, totp_secret=secrets_[key])
        service = token_actions.create_token(uow, name="integration", service=True, scopes=ALL_SCOPES)
        unscoped = _unscoped_service_token(uow)
        if extra:
            extra_ids["lab"] = dept_actions.add_department(uow, f"{title} Lab", sales)
            extra_ids["lab_hr"] = member_actions.add_member(uow, userid=f"{prefix}-lab-hr", name=f"{title} Lab Hr", department_ids=[extra_ids["lab"]])
            role_actions.grant_role(uow, extra_ids["lab_hr"], "hr")
            extra_ids.update(_exit_with_a_waiting_transfer(uow, prefix, title, extra_ids["lab"]))
            extra_ids["job"] = planned_bulk_exit(uow, [f"{prefix}-lab-hr"])
            extra_ids["hold"] = holds.place_hold(uow, extra_ids["leaver"], reason=f"{title} case 1")
            extra_ids["erasure"] = erasure.request_erasure(uow, extra_ids["leaver"], reason="asked by the member", verified="signed form checked")
            extra_ids["webhook"] = webhook_actions.create_subscription(uow, url="https://hooks.alpha.example/offboard", events=["*"], description="Alpha CRM").id
            extra_ids["delivery"] = webhook_actions.send_test(uow, extra_ids["webhook"])
            extra_ids["exit_request"] = file_exit_request(uow, f"{prefix}-lab-hr")
        # Personal tokens are created by their owners; one transaction, acting as each in turn.
        personal = {}
        for key in PEOPLE + (("lab-hr",) if extra else ()):
            uow.actor = resolve_actor(uow.conn, uow.tenant_id, f"{prefix}-{key}", now=uow.now)
            personal[key] = token_actions.create_token(uow, name=f"{key} personal", service=False, scopes=ALL_SCOPES)
        uow.actor = operator
    if extra:
        extra_ids["lab_hr_token"] = personal["lab-hr"].id
    people = {key: Person(key, userids[key], names[key], member_ids[key], secrets_[key], personal[key].token, personal[key].id) for key in PEOPLE}
    return Org(slug, created.id, root, sales, ops, people, service.token, unscoped["token"], extra_ids)


def _unscoped_service_token(uow) -> dict[str, object]:
    """A service token with no scope at all, as tokens made before scopes were required are:
    written directly, since creating one is refused now (scopes_required)."""
    plaintext, prefix, digest = new_token(uow.tenant_id)
    token_id = ids.next_id(uow.conn, api_tokens, uow.tenant_id)
    uow.conn.execute(
        insert(api_tokens).values(
            tenant_id=uow.tenant_id,
            id=token_id,
            member_id=None,
            name="no scopes",
            prefix=prefix,
            token_hash=digest,
            scopes=[],
            created_by="operator",
            created_at=uow.now,
            expires_at=None,
        )
    )
    return {"id": token_id, "token": plaintext}


def _exit_with_a_waiting_transfer(uow, prefix: str, title: str, department: int) -> dict[str, object]:
    """A member of the department who owned a customer and a document has left (removal, the
    admin as successor): under the wecom profile the customer waits for takeover with a
    correlation id, the document moved at once."""
    leaver = member_actions.add_member(uow, userid=f"{prefix}-leaver", name=f"{title} Leaver", department_ids=[department])
    owned = {"tenant_id": uow.tenant_id, "owner_id": leaver, "version": 1, "created_at": uow.now}
    (contact,) = ids.next_ids(uow.conn, external_contacts, uow.tenant_id, 1)
    uow.conn.execute(insert(external_contacts).values(id=contact, name=f"{title} Customer", company=f"{title} Client Co", mobile=None, **owned))
    (document,) = ids.next_ids(uow.conn, documents, uow.tenant_id, 1)
    uow.conn.execute(insert(documents).values(id=document, title=f"{title} plan.docx", size_bytes=1000, archived=False, deleted_at=None, **owned))
    started = exit_actions.start_exit(uow, leaver, type="removal", reason_category="resignation", reason="moved on", successor=f"{prefix}-admin")
    correlation = uow.conn.execute(
        select(transfer_ledger.c.correlation_id).where(transfer_ledger.c.tenant_id == uow.tenant_id, transfer_ledger.c.exit_id == started.id, transfer_ledger.c.state == "waiting")
    ).scalar_one()
    return {"leaver": leaver, "exit": started.id, "correlation_id": correlation}


def file_exit_request(uow, userid: str) -> int:
    """The exit request (离职申请) of `userid`, filed by them while the enterprise briefly started
    exits from approved requests (SPEC §6 approval_flow), then set back as it was: a request filed
    before the mode changed, which waits for HR (a member without a manager)."""
    acting, mode = uow.actor, uow.policy.exit_automation.value
    set_policy(uow, {"exit_automation": "approval_flow"})
    uow.actor = resolve_actor(uow.conn, uow.tenant_id, userid, now=uow.now)
    request_id = exit_requests.file_request(uow, userid, leave_date=(uow.now + timedelta(days=30)).date().isoformat(), reason="moving abroad").id
    uow.actor = acting
    set_policy(uow, {"exit_automation": mode})
    return request_id


def planned_bulk_exit(uow, userids: list[str]) -> int:
    """A bulk exit of these members, planned and not confirmed: nothing of it has run."""
    departures = bulk_file.from_records([{"userid": u} for u in userids], uow.tenant.timezone)
    return bulk_exits.create(uow, departures, "departures.csv", bulk_exits.Defaults(reason_category="dismissal", reason="reorganisation"))


def _populate(services: Services) -> tuple[Org, Org, str]:
    a = _build_org(services, "alpha", extra=True)
    b = _build_org(services, "beta", extra=False)
    return a, b, create_operator_token(services, "operator").token


@pytest.fixture(scope="session")
def sqlite_world_image(sqlite_template, tmp_path_factory):
    """The world built once on SQLite; each test starts from a copy of the file."""
    path = tmp_path_factory.mktemp("world") / "world.db"
    shutil.copy(sqlite_template, path)
    services = build(str(path), clock=FakeClock())
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(member_actions, "hash_password", _cached_hash)
            populated = _populate(services)
    finally:
        services.db.dispose()  # the last connection to close checkpoints the WAL into the file
    return str(path), populated


@pytest.fixture
def world(db_url, clock, monkeypatch, request):
    """Built through the actions on PostgreSQL for every test; on SQLite, copied from the image
    built the same way once per session (a file copy instead of ~60 statements per test)."""
    monkeypatch.setattr(member_actions, "hash_password", _cached_hash)
    if "://" in db_url:
        services = build(db_url, clock=clock)
        a, b, operator = _populate(services)
    else:
        image, (a, b, operator) = request.getfixturevalue("sqlite_world_image")
        shutil.copy(image, db_url)
        services = build(db_url, clock=clock)
        a, b = copy.deepcopy(a), copy.deepcopy(b)
    yield World(services, clock, create_app(services), a, b, operator)
    services.db.dispose()


@pytest.fixture
def client(world):
    with world.client() as c:
        yield c


# --- console sign-in over HTTP ----------------------------------------------------------------------


def start_login(client: TestClient, org: Org, person: Person, password: str | None = None):
    """GET /login (pre-session cookie), then POST /login; returns the response to the POST."""
    client.get("/login")
    return client.post(
        "/login",
        data={"tenant": org.slug, "userid": person.userid, "password": password or person.password, "pre": client.cookies["ob_pre"]},
    )


def csrf_of(client: TestClient) -> str:
    """The CSRF token of the client's session, as the console renders it."""
    page = client.get("/login/totp")
    return CSRF_INPUT.search(page.text).group(1)


def submit_totp(client: TestClient, code: str):
    return client.post("/login/totp", data={"code": code, "csrf": csrf_of(client)})


def sign_in(client: TestClient, world: World, org: Org, key: str) -> str:
    """A full console session (password, then TOTP when the role needs it); returns its CSRF token."""
    person = org[key]
    response = start_login(client, org, person)
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/login/totp"):
        done = submit_totp(client, person.code(world.clock))
        assert done.status_code == 303, done.text
    return csrf_of(client)


# --- the application's routes ------------------------------------------------------------------------


def routes(app) -> list[tuple[str, str, object]]:
    """Every (method, path, route) the app serves, read from `app.routes`, so a new endpoint is
    covered by itself. FastAPI 0.16x nests included routers; iter_route_contexts flattens them."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts = [(r, r) for r in app.routes]
    else:
        contexts = [(rc, rc.original_route) for rc in iter_route_contexts(app.routes)]
    found = []
    for context, route in contexts:
        for method in sorted((getattr(context, "methods", None) or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, context.path, route))
    return found


def api_operations(app) -> list[tuple[str, str, APIRoute]]:
    """Every (method, path, route) under /api/v1."""
    found = [(m, p, r) for m, p, r in routes(app) if p.startswith("/api/v1") and isinstance(r, APIRoute)]
    assert found, "no /api/v1 routes found"
    return found


def path_params(route) -> set[str]:
    return {p.name for p in route.dependant.path_params} if isinstance(route, APIRoute) else set(getattr(route, "param_convertors", {}))


def ids_only_in(services: Services, table, tenant_id: int, other_tenant_id: int) -> list[int]:
    with services.db.read() as conn:
        mine = set(conn.execute(select(table.c.id).where(table.c.tenant_id == tenant_id)).scalars())
        theirs = set(conn.execute(select(table.c.id).where(table.c.tenant_id == other_tenant_id)).scalars())
    return sorted(mine - theirs)


# Routes that take no credential but a signature (a third-party app's callback, R-POST-1): the
# credential walks skip them; tests/integration/test_webhooks.py proves their signatures.
SIGNED_CALLBACKS = {("POST", "/api/v1/callbacks/{tenant}/webhooks/{webhook_id}/reauthorized")}

TABLE_OF_PARAM = {
    "member_id": members,
    "department_id": departments,
    "token_id": api_tokens,
    "exit_id": exits,
    "job_id": jobs,
    "hold_id": legal_holds,
    "request_id": erasure_requests,
    "webhook_id": webhook_subscriptions,
    "delivery_id": webhook_deliveries,
    "exit_request_id": exit_requests_table,
}
