"""Ledger steps (SPEC §8, INV-3): every step of an exit has its `exit_steps` row, every ledger row
names the step that wrote it and the step that last changed it, and each step's audit events
carry the digest the database computes over exactly that step's rows, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pyotp

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import and_, insert, select, update

from offboard.queries import exits as exit_queries
from offboard.actions import checklist as cl_actions
from offboard.actions import inheritance
from offboard.actions import restore as restore_actions
from offboard.actions import tokens as token_actions
from offboard.actions.members import set_credentials
from offboard.api.app import create_app
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.bootstrap import build
from offboard.domain.vocabulary import ResourceKind, StepKind
from offboard.jobs import reconciler
from offboard.store import ids, repo, steps
from offboard.store.db import connect
from offboard.store.schema import upgrade
from offboard.store.tables import audit_events, audit_side, exits, transfer_ledger
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.clock import FakeClock
from tests.support.exits import TOTP_SECRETS, Company, give_records, ledger, make_company, start, totp_now
from tests.support.factories import make_tenant
from tests.support.invariants import all_problems

K = ResourceKind
L = transfer_ledger


def act(company: Company, by: str | None, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def summary(company: Company, exit_id: int) -> dict:

    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        return exit_queries.exit_summary(conn, tenant.id, exit_id)


def events(company: Company, *actions: str) -> list[tuple[str, dict]]:
    """(action, side details) of the tenant's events with these actions, in order."""
    with tenant_read(company.services, company.slug) as (conn, tenant, _):
        rows = conn.execute(
            select(audit_events.c.action, audit_side.c.details)
            .join(audit_side, and_(audit_side.c.tenant_id == audit_events.c.tenant_id, audit_side.c.seq == audit_events.c.seq))
            .where(audit_events.c.tenant_id == tenant.id, audit_events.c.action.in_(actions))
            .order_by(audit_events.c.seq)
        )
        return [(a, d) for a, d in rows]


def python_digest(rows) -> str:
    """The digest as the documentation of steps.ledger_digest states it, computed in Python."""
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: (r.resource_id, r.id)):
        to = "" if r.to_member_id is None else r.to_member_id
        version = "" if r.version_after is None else r.version_after
        h.update(f"{r.resource_id}|{to}|{r.state}|{version}|{r.correlation_id}\n".encode())
    return h.hexdigest()


def of_step(rows, step_id: int, kind: str) -> list:
    return [r for r in rows if r.kind == kind and step_id in (r.step_id, r.changed_step_id)]


def test_inv_3_every_step_of_an_exit_has_a_row_and_every_ledger_row_names_the_steps_that_wrote_and_changed_it(services, clock):
    company = make_company(services, profile="wecom", policy={"restore_window_hours": 48})
    hanna = f"member:{company['hanna']}"
    eid = start(company, "leo", successor="sam").id
    rows = ledger(company, eid)
    (exit_step,) = summary(company, eid).steps
    assert (exit_step.kind, exit_step.actor, exit_step.at) == ("exit", hanna, clock.now().isoformat())
    assert exit_step.counts == {k.value: 2 for k in K if k not in (K.DIRECT_REPORT, K.DEPARTMENT_LEADER)} | {"direct_report": 2, "department_leader": 1}
    assert {r.step_id for r in rows} == {exit_step.id} and {r.changed_step_id for r in rows} == {None}
    # Each kind's event vouches for that kind's rows of the step, digested by the database.
    moved = events(company, "exit.resources_moved")
    assert len(moved) == len(exit_step.counts)
    for _, details in moved:
        assert details["step_id"] == exit_step.id
        assert details["ledger_digest"] == python_digest(of_step(rows, exit_step.id, details["kind"]))

    first, second = company.resources[K.CUSTOMER_GROUP]
    by_resource = {(r.kind, r.resource_id): r for r in rows}
    clock.advance(minutes=5)
    act(company, "hanna", inheritance.record_result, by_resource[("customer_group", first)].correlation_id, "refused")
    clock.advance(minutes=5)
    act(company, "hanna", inheritance.inherit, eid, "customer_group", "tina", resource_ids=[first])
    clock.advance(hours=25)
    assert reconciler.reconcile(services).as_dict()["taken_over"] == 4  # 2 contacts, the second group, the inherited first
    clock.advance(seconds=31)  # a fresh TOTP step
    restored = act(company, "hanna", restore_actions.restore_exit, eid, totp=totp_now("hanna", services), reason="mistaken exit")

    listed = summary(company, eid).steps
    assert [s.kind for s in listed] == ["exit", "result", "inherit", "takeover", "restore"]
    assert [s.actor for s in listed] == [hanna, hanna, hanna, "operator", hanna]
    assert listed[0] == exit_step  # a step keeps its counts when later steps change its rows
    exit_, result, inherit, takeover, restore = (s.id for s in listed)
    assert listed[1].counts == {"customer_group": 1} == listed[2].counts
    assert listed[3].counts == {"customer_group": 2, "external_contact": 2}
    assert listed[4].counts == restored.reverted
    rows = {r.id: r for r in ledger(company, eid)}
    refused_row = by_resource[("customer_group", first)].id
    (inherited,) = [r for r in rows.values() if r.step_id == inherit]
    assert (rows[refused_row].state, rows[refused_row].changed_step_id) == ("refused", result)  # superseded, never reverted
    assert (inherited.resource_id, inherited.state, inherited.changed_step_id) == (first, "reverted", restore)
    assert {r.step_id for r in rows.values()} == {exit_, inherit}
    assert {r.changed_step_id for r in rows.values() if r.id != refused_row} == {restore}
    # The events of each step name it and carry the digest of its rows of their kind.
    named = events(company, "transfer.result", "exit.inherited", "transfer.taken_over", "exit.restored")
    assert [(a, d["step_id"]) for a, d in named] == [
        ("transfer.result", result),
        ("exit.inherited", inherit),
        ("transfer.taken_over", takeover),
        ("transfer.taken_over", takeover),
        ("exit.restored", restore),
    ]
    assert named[-1][1]["ledger_digests"] == {kind: python_digest(of_step(rows.values(), restore, kind)) for kind in restored.reverted}
    with tenant_read(services, company.slug) as (conn, tenant, _):
        assert all_problems(conn, tenant.id) == {}


def test_finalization_is_a_step_of_its_own_without_ledger_rows(services, clock):
    company = make_company(services)
    give_records(company, "leo")
    eid = start(company, "leo", successor="sam").id
    act(company, "hanna", cl_actions.close_reimbursements, eid, "settled in the finance system (BX-1)")
    act(company, "ivan", cl_actions.acknowledge_grants, eid, "CRM told to re-authorize")
    act(company, "ivan", cl_actions.attest, eid, "access_revoked", "laptop returned, phone wiped remotely")
    act(company, "hanna", cl_actions.signoff, eid, "hr")
    clock.advance(hours=24)
    act(company, "ivan", cl_actions.signoff, eid, "it")  # the window is over: signing finalizes
    listed = summary(company, eid).steps
    assert [(s.kind, s.counts) for s in listed[1:]] == [("finalize", {})]
    assert listed[-1].actor == f"member:{company['ivan']}"
    ((_, details),) = events(company, "exit.finalized")
    assert details["step_id"] == listed[-1].id
    with services.db.write() as conn:  # INV-3 catches a row that names a step which wrote nothing
        tenant_id = repo.tenant_by_slug(conn, company.slug).id
        row = conn.execute(select(L).where(L.c.tenant_id == tenant_id, L.c.exit_id == eid).order_by(L.c.id).limit(1)).one()
        conn.execute(update(L).where(L.c.tenant_id == tenant_id, L.c.id == row.id).values(step_id=listed[-1].id))
        problems = all_problems(conn, tenant_id)["INV-3"]
    assert f"ledger row {row.id}: step_id {listed[-1].id} is no exit/inherit step of exit {eid}" in problems
    assert any(p.startswith(f"step {listed[0].id} (exit) counts") for p in problems)


def test_the_exits_json_lists_its_steps_the_ledger_names_them_and_the_console_shows_them(services, clock):
    company = make_company(services)
    eid = start(company, "leo", successor="sam").id
    with tenant_transaction(services, company.slug, "hanna") as uow:
        token = token_actions.create_token(uow, name="hr", service=False, scopes=["read_directory"]).token
        set_credentials(uow, "hanna", password="pw-hanna-123456")
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    with TestClient(create_app(services)) as client:
        shown = client.get(f"/api/v1/exits/{eid}", headers=headers).json()
        assert shown["ledger"]["document"] == {"done": 2}  # the existing fields stay
        (step,) = shown["steps"]
        assert (step["kind"], step["actor"], step["at"], step["counts"]["document"]) == ("exit", f"member:{company['hanna']}", clock.now().isoformat(), 2)
        items = client.get(f"/api/v1/exits/{eid}/ledger", headers=headers, params={"limit": 1000}).json()["items"]
        assert len(items) == sum(step["counts"].values()) and {(i["step_id"], i["changed_step_id"]) for i in items} == {(step["id"], None)}

        client.get("/login")
        client.post("/login", data={"tenant": company.slug, "userid": "hanna", "password": "pw-hanna-123456", "pre": client.cookies["ob_pre"]})
        page = client.get("/login/totp")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        client.post("/login/totp", data={"code": pyotp.TOTP(TOTP_SECRETS["hanna"]).at(clock.now()), "csrf": csrf})
        html = client.get(f"/exits/{eid}?tab=timeline", headers={"Accept-Language": "zh-CN"}).text
        steps_section = html[html.index('id="steps"') :]
        for words in ("步骤", "离职生效", "<td>Hanna</td>", "文档 2"):
            assert words in steps_section, words


# --- the digest: one statement, the same on both databases -----------------------------------------


@pytest.fixture
def both_databases(tmp_path, pg_server_url, sqlite_template):
    """A migrated SQLite file and a throwaway PostgreSQL database, each with the tenant acme."""
    import shutil

    path = tmp_path / "digest.db"
    shutil.copy(sqlite_template, path)
    pg = create_pg_database(pg_server_url)
    db = connect(pg)
    upgrade(db)
    db.dispose()
    pool = [build(str(path), clock=FakeClock()), build(pg, clock=FakeClock())]
    for svc in pool:
        make_tenant(svc)
    yield pool
    for svc in pool:
        svc.db.dispose()
    drop_pg_database(pg_server_url, pg)


# (resource_id, to_member_id, state, version_after, correlation_id), written in this order: the
# digest orders them by resource, whatever order they were written in, and NULLs are written as nothing.
ROWS = [
    (30, None, "unassigned", 2, "c" * 32),
    (10, 7, "done", 5, "a" * 32),
    (20, 7, "waiting", None, "b" * 32),
    (11, None, "refused", 3, "d" * 32),
]


def _write(services) -> tuple[int, int]:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with services.db.write() as conn:
        tenant = repo.tenant_by_slug(conn, "acme")
        boss = repo.member_by_userid(conn, tenant.id, "boss")
        exit_id = ids.next_id(conn, exits, tenant.id)
        conn.execute(
            insert(exits).values(
                tenant_id=tenant.id,
                id=exit_id,
                member_id=boss.id,
                state="open",
                type="removal",
                reason_category="other",
                reason="digest",
                trigger="admin",
                requested_by="operator",
                effective_at=at,
                acceptors={},
                created_at=at,
                updated_at=at,
            )
        )
        step_id = steps.begin(conn, tenant.id, exit_id, StepKind.EXIT, "operator", at)
        for rid, to, state, version, correlation in ROWS:
            conn.execute(
                insert(L).values(
                    tenant_id=tenant.id,
                    id=ids.next_id(conn, L, tenant.id),
                    exit_id=exit_id,
                    kind="document",
                    resource_id=rid,
                    from_member_id=boss.id,
                    to_member_id=to,
                    state=state,
                    correlation_id=correlation,
                    version_after=version,
                    created_at=at,
                    updated_at=at,
                    step_id=step_id,
                )
            )
        return tenant.id, step_id


def _digests(services, tenant_id: int, step_id: int) -> tuple[str, str]:
    with services.db.read() as conn:
        return steps.ledger_digest(conn, tenant_id, step_id, K.DOCUMENT), steps.ledger_digest(conn, tenant_id, step_id, K.CALENDAR)


def test_spec_8_the_step_digest_is_the_same_on_sqlite_and_postgresql_and_changes_with_a_row(both_databases):
    written = [_write(svc) for svc in both_databases]
    expected = hashlib.sha256("".join(f"{rid}|{'' if to is None else to}|{state}|{'' if v is None else v}|{c}\n" for rid, to, state, v, c in sorted(ROWS)).encode()).hexdigest()
    empty = hashlib.sha256(b"").hexdigest()
    assert [_digests(svc, *w) for svc, w in zip(both_databases, written)] == [(expected, empty)] * 2
    for svc, (tenant_id, step_id) in zip(both_databases, written):
        with svc.db.write() as conn:
            conn.execute(update(L).where(L.c.tenant_id == tenant_id, L.c.resource_id == 20).values(state="done", version_after=4))
    changed = [_digests(svc, *w)[0] for svc, w in zip(both_databases, written)]
    assert changed[0] == changed[1] != expected
