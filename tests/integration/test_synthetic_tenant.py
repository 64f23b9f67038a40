"""`offboard seed`: a synthetic enterprise loaded set-wise is as valid as one built action by
action (issue 10 item 5, SPEC §10). Built once per backend in a database of its own; the tests
that change data use a small tenant of their own beside it."""

from __future__ import annotations

import json
import statistics

import pytest
from sqlalchemy import and_, func, insert, select

from offboard.actions import auth
from offboard.actions import departments as department_actions
from offboard.actions import exits as exit_actions
from offboard.actions import members as member_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.actions.tenants import create_tenant
from offboard.bench.synthetic import ADMIN_USERID, seed_tenant
from offboard.bootstrap import build
from offboard.cli.main import main
from offboard.domain.authz import OPERATOR
from offboard.domain.errors import OffboardError, Unauthorized
from offboard.domain.vocabulary import ExitState, MemberStatus
from offboard.queries import audit as audit_q
from offboard.store import ids
from offboard.store.tables import RESOURCE_TABLES, credentials, departments, documents, external_contacts, member_departments, members, metadata, roles
from tests.conftest import own_database
from tests.support.clock import FakeClock
from tests.support.db import snapshot, tree_problems
from tests.support.invariants import all_problems

MEMBERS = 2000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    """(services, result) of a 2,000-member tenant `big` in a database of its own."""
    with own_database(request, tmp_path_factory, "synthetic") as url:
        services = build(url, clock=FakeClock())
        steps: list[tuple[str, int, int]] = []
        result = seed_tenant(services, members=MEMBERS, slug="big", seed=3, progress=lambda *step: steps.append(step))
        yield services, result, steps
        services.db.dispose()


@pytest.fixture
def read(seeded):
    services, result, _ = seeded
    with tenant_read(services, result.slug) as (conn, tenant, _actor):
        yield conn, tenant.id


def _count(conn, table, tenant_id, *where):
    return conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id, *where)).scalar_one()


def test_every_table_holds_the_rows_reported(seeded, read):
    conn, tid = read
    _, result, steps = seeded
    assert result.counts == {name: _count(conn, metadata.tables[name], tid) for name in result.counts}
    expected = {"departments", "members", "member_departments", "roles", *(t.name for t in RESOURCE_TABLES.values())}
    expected |= {"internal_group_members", "messages", "attendance_records", "reimbursements", "devices", "app_grants", "api_tokens", "sessions"}
    assert set(result.counts) == expected
    assert all(n > 0 for n in result.counts.values()), result.counts
    assert result.counts["members"] == MEMBERS
    # SPEC §10's mix per member: about 20 messages and, by default, about 5 owned resources.
    assert 15 <= result.counts["messages"] / MEMBERS <= 25
    owned = sum(result.counts[t.name] for t in RESOURCE_TABLES.values())
    assert 4 <= owned / MEMBERS <= 6
    # The progress reached every row the load wrote, and never went back.
    done = [d for _, d, _ in steps]
    assert done == sorted(done) and steps[-1][1] == steps[-1][2]


def test_inv_4_headcounts_and_paths_match_a_recount(read):
    conn, tid = read
    assert tree_problems(conn, tid) == []
    assert all_problems(conn, tid) == {}
    root = conn.execute(select(departments).where(departments.c.tenant_id == tid, departments.c.depth == 0)).one()
    assert root.headcount == MEMBERS
    child = departments.alias("child")
    has_child = select(child.c.id).where(child.c.tenant_id == departments.c.tenant_id, child.c.parent_id == departments.c.id).exists()
    teams = conn.execute(select(departments.c.headcount).where(departments.c.tenant_id == tid, ~has_child)).scalars().all()
    assert teams and all(15 <= n <= 55 for n in teams)


def test_every_member_has_one_primary_department_and_a_manager_who_leads_it(read):
    conn, tid = read
    m, d, md = members, departments, member_departments
    assert _count(conn, md, tid) == MEMBERS and _count(conn, md, tid, md.c.is_primary) == MEMBERS
    no_manager = conn.execute(select(m.c.userid).where(m.c.tenant_id == tid, m.c.manager_id.is_(None))).scalars().all()
    assert no_manager == [ADMIN_USERID]
    rows = conn.execute(
        select(m.c.id, m.c.manager_id, d.c.leader_id, d.c.parent_id)
        .join(md, and_(md.c.tenant_id == m.c.tenant_id, md.c.member_id == m.c.id))
        .join(d, and_(d.c.tenant_id == md.c.tenant_id, d.c.id == md.c.department_id))
        .where(m.c.tenant_id == tid, m.c.manager_id.is_not(None))
    ).all()
    leaders = dict(conn.execute(select(d.c.id, d.c.leader_id).where(d.c.tenant_id == tid)).all())
    assert all(leaders.values()), "every department has a leader"
    wrong = [r for r in rows if r.manager_id != (leaders[r.parent_id] if r.id == r.leader_id else r.leader_id)]
    assert wrong == []


def test_roles_an_admin_a_backup_super_admin_hr_it_and_scoped_admins(read):
    conn, tid = read
    held = conn.execute(select(roles.c.role, roles.c.rank, roles.c.scope).where(roles.c.tenant_id == tid)).all()
    assert sorted(r.rank for r in held if r.role == "super_admin") == ["backup", "primary"]
    assert {r.role for r in held} == {"super_admin", "hr", "it", "admin"}
    assert all(r.scope for r in held if r.role == "admin")


def test_key_accounts_own_far_more_customers_than_the_median_member(read):
    conn, tid = read
    c = external_contacts
    owned = dict(conn.execute(select(c.c.owner_id, func.count()).where(c.c.tenant_id == tid).group_by(c.c.owner_id)).all())
    per_member = sorted((owned.get(i, 0) for i in conn.execute(select(members.c.id).where(members.c.tenant_id == tid)).scalars()), reverse=True)
    top = per_member[: MEMBERS // 100]
    median = statistics.median(per_member)
    assert median <= 5 and statistics.mean(top) >= 20 * (median + 1), (top, median)
    assert per_member[MEMBERS // 200] >= 100  # key accounts hold a hundred customers or more


def test_inv_5_the_audit_chain_verifies(read, seeded):
    services, result, _ = seeded
    with tenant_read(services, result.slug) as (conn, tenant, _actor):
        verdict = audit_q.verify_chain(conn, tenant, OPERATOR)
        assert verdict.ok, verdict
        assert verdict.events > 20  # the tenant, its admin, the roles, one event per table


def test_a_synthetic_member_plans_and_exits_and_the_invariants_hold(services):
    result = seed_tenant(services, members=300, slug="small", seed=5)
    with tenant_read(services, "small") as (conn, tenant, _actor):
        c = external_contacts
        leaver = conn.execute(
            select(members.c.userid)
            .join(c, and_(c.c.tenant_id == members.c.tenant_id, c.c.owner_id == members.c.id))
            .where(members.c.tenant_id == tenant.id, members.c.manager_id.is_not(None))
            .group_by(members.c.userid)
            .order_by(func.count().desc(), members.c.userid)
            .limit(1)
        ).scalar_one()
    with tenant_transaction(services, "small") as uow:
        plan = exit_actions.plan(uow, leaver)
        assert plan.ok and sum(k.count for k in plan.kinds if k.kind == "external_contact") >= 1
    with tenant_transaction(services, "small") as uow:
        summary = exit_actions.start_exit(uow, leaver, type="removal", reason_category="resignation", reason="synthetic", plan_id=plan.plan_id)
    assert summary.state == ExitState.OPEN
    with tenant_read(services, "small") as (conn, tenant, _actor):
        assert conn.execute(select(members.c.status).where(members.c.tenant_id == tenant.id, members.c.userid == leaver)).scalar_one() == MemberStatus.EXITED
        assert all_problems(conn, tenant.id) == {}
        assert tree_problems(conn, tenant.id) == []
    assert result.counts["members"] == 300


def test_the_same_seed_builds_the_same_tenant_and_another_seed_another(services):
    first = seed_tenant(services, members=400, slug="one", seed=11)
    again = seed_tenant(services, members=400, slug="two", seed=11)
    other = seed_tenant(services, members=400, slug="three", seed=12)
    assert first.counts == again.counts
    assert other.counts != first.counts

    def people(slug):
        with tenant_read(services, slug) as (conn, tenant, _actor):
            return conn.execute(select(members.c.userid, members.c.name, members.c.title).where(members.c.tenant_id == tenant.id).order_by(members.c.userid)).all()

    assert people("one") == people("two") != people("three")


def test_an_existing_slug_or_a_size_out_of_range_is_refused_and_nothing_is_written(services):
    seed_tenant(services, members=5, slug="taken")
    before = snapshot(services)
    with pytest.raises(OffboardError) as taken:
        seed_tenant(services, members=5, slug="taken")
    assert taken.value.code == "duplicate_slug" and "choose another slug" in str(taken.value)
    for size in (0, 10_000_001):
        with pytest.raises(OffboardError) as wrong:
            seed_tenant(services, members=size, slug="fresh")
        assert wrong.value.code == "members_out_of_range"
    assert snapshot(services) == before


def test_a_tenant_of_one_member_is_its_admin_alone(services):
    result = seed_tenant(services, members=1, slug="solo")
    assert result.counts["members"] == 1 and result.counts["departments"] == 1
    with tenant_read(services, "solo") as (conn, tenant, _actor):
        assert all_problems(conn, tenant.id) == {}


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_seed_migrates_loads_and_prints_the_rows_then_refuses_the_same_slug(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OFFBOARD_TENANT", raising=False)
    db = str(tmp_path / "cli.db")
    code, out, _ = _cli(capsys, "--db", db, "seed", "--members", "60", "--tenant", "acme", "--seed", "4", "--json")
    report = json.loads(out)
    assert code == 0 and report["tenant"] == "acme" and report["counts"]["members"] == 60 and report["seed"] == 4
    code, _, err = _cli(capsys, "--db", db, "seed", "--members", "60", "--tenant", "acme")
    assert code == 1 and "'acme' already exists" in err and "duplicate_slug" in err
    code, out, _ = _cli(capsys, "--db", db, "seed", "--members", "60", "--tenant", "acme", "--json")
    assert code == 1 and json.loads(out)["error"] == "duplicate_slug"
    code, out, _ = _cli(capsys, "--db", db, "seed", "--members", "20", "--tenant", "tiny")
    assert code == 0 and "tiny" in out and "messages" in out


@pytest.mark.parametrize("n", [1, 7, ids.EXACT_RESERVE + 1])
def test_a_reserved_block_of_ids_is_never_drawn_again(services, n):
    create_tenant(services, slug="blocks", name="Blocks", admin_userid="boss", admin_name="Boss")
    with tenant_transaction(services, "blocks") as uow:
        first = ids.reserve(uow.conn, documents, uow.tenant_id, n)
        uow.conn.execute(insert(documents), [{"tenant_id": uow.tenant_id, "id": i, "owner_id": None, "created_at": uow.now, "title": "t", "size_bytes": 1} for i in sorted({first, first + n - 1})])
        assert ids.next_id(uow.conn, documents, uow.tenant_id) > first + n - 1


def test_the_service_adds_members_and_departments_after_a_load_without_an_id_collision(services):
    seed_tenant(services, members=120, slug="after")
    with tenant_transaction(services, "after") as uow:
        before = uow.conn.execute(select(func.max(members.c.id)).where(members.c.tenant_id == uow.tenant_id)).scalar_one()
        dept = department_actions.add_department(uow, "新部门", None)
        member = member_actions.add_member(uow, userid="newcomer", name="新人", department_ids=[dept])
    assert member > before
    with tenant_read(services, "after") as (conn, tenant, _actor):
        assert all_problems(conn, tenant.id) == {} and tree_problems(conn, tenant.id) == []


def test_synthetic_members_have_no_credentials_and_cannot_sign_in(read, seeded):
    # `offboard seed` says so: a synthetic enterprise is for measuring, not a door.
    services, result, _ = seeded
    conn, tid = read
    holding = conn.execute(
        select(func.count()).select_from(credentials).where(credentials.c.tenant_id == tid, (credentials.c.password_hash.is_not(None)) | (credentials.c.totp_secret.is_not(None)))
    ).scalar_one()
    assert holding == 0
    some = conn.execute(select(members.c.userid).where(members.c.tenant_id == tid).order_by(members.c.id).limit(3)).scalars().all()
    for userid in some:
        with pytest.raises(Unauthorized) as refused:
            auth.sign_in(services, result.slug, userid, "", client="test")
        assert refused.value.code == "bad_credentials"
