"""The demo enterprise (SPEC §10 set-up: `offboard demo` on an embedded SQLite database).

The demo is built once per backend in a module-scoped database of its own, since a build
takes a few seconds; the tests read it, and the idempotency test builds again on top of it.
"""

from __future__ import annotations

import json
from collections import Counter

import pyotp
import pytest
from sqlalchemy import func, select

from offboard.queries import audit as audit_q
from offboard.actions.context import tenant_read
from offboard.queries.members import show_member
from offboard.bootstrap import build
from offboard.cli.main import main
from offboard.crypto.secrets import verify_password
from offboard.demo import DEMO_SLUG, PERSONAS, build_demo, demo_logins
from offboard.demo.org import plan_company
from offboard.domain.authz import OPERATOR
from offboard.domain.errors import OffboardError
from offboard.store import audit_log
from offboard.store.org import actual_headcounts
from offboard.store.tables import (
    app_grants,
    approval_tasks,
    credentials,
    departments,
    member_departments,
    members,
    reimbursements,
    roles,
)
from tests.conftest import own_database
from tests.support.clock import FakeClock
from tests.support.db import snapshot
from tests.support.factories import make_tenant

PERSONA_USERIDS = [p.userid for p in PERSONAS]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request, tmp_path_factory):
    """(services, summary) of a demo built once in a database of its own."""
    with own_database(request, tmp_path_factory, "demo") as url:
        services = build(url, clock=FakeClock())
        summary = build_demo(services)
        yield services, summary
        services.db.dispose()


@pytest.fixture
def read(demo):
    services, _ = demo
    with tenant_read(services, DEMO_SLUG) as ctx:
        yield ctx


def _member(conn, tenant, userid):
    return show_member(conn, tenant.id, OPERATOR, userid, now=FakeClock().now())


def test_demo_is_the_chinese_wecom_company(demo):
    _, summary = demo
    assert summary["created"] is True
    tenant = {k: summary["tenant"][k] for k in ("slug", "name", "region", "profile", "timezone", "status")}
    assert tenant == {"slug": "demo", "name": "星河科技有限公司", "region": "cn", "profile": "wecom", "timezone": "Asia/Shanghai", "status": "active"}


def test_inv_1_zhangwei_is_the_first_and_primary_super_admin_lina_the_backup(read):
    conn, tenant, _ = read
    first_added = next(e for e in audit_log.stored_events(conn, tenant.id) if e.core.action == "member.added")
    assert first_added.side_details["userid"] == "zhangwei"
    held = {
        (r.userid, r.role, r.rank)
        for r in conn.execute(
            select(members.c.userid, roles.c.role, roles.c.rank)
            .join(roles, (roles.c.tenant_id == members.c.tenant_id) & (roles.c.member_id == members.c.id))
            .where(members.c.tenant_id == tenant.id, roles.c.status == "active")
        )
    }
    assert held == {
        ("zhangwei", "super_admin", "primary"),
        ("lina", "super_admin", "backup"),
        ("wangfang", "hr", None),
        ("liuyang", "it", None),
    }


def test_chenjing_owns_something_of_every_transferable_kind(read):
    conn, tenant, _ = read
    chenjing = _member(conn, tenant, "chenjing")
    owned = chenjing.resources
    assert owned["customer_group"] >= 5 and owned["external_contact"] >= 50 and owned["direct_report"] >= 5
    for kind in ("internal_group", "document", "calendar", "approval_template", "self_built_app", "department_leader"):
        assert owned[kind] >= 1, kind
    pending = conn.execute(select(func.count()).where(approval_tasks.c.tenant_id == tenant.id, approval_tasks.c.owner_id == chenjing.id, approval_tasks.c.status == "pending")).scalar_one()
    assert pending >= 1
    # She leads the sales department she sits in.
    led = conn.execute(select(departments.c.id, departments.c.name).where(departments.c.tenant_id == tenant.id, departments.c.leader_id == chenjing.id)).all()
    assert [d.name for d in led] == ["华东销售部"]
    assert [d.id for d in chenjing.departments] == [led[0].id]


def test_zhaolei_reports_to_chenjing_in_her_department(read):
    conn, tenant, _ = read
    zhaolei = _member(conn, tenant, "zhaolei")
    assert zhaolei.manager == "chenjing"
    assert [d.name for d in zhaolei.departments] == ["华东销售部"]


def test_sunli_is_the_only_member_of_her_department(read):
    conn, tenant, _ = read
    sunli = _member(conn, tenant, "sunli")
    [dept] = sunli.departments
    row = conn.execute(select(departments).where(departments.c.tenant_id == tenant.id, departments.c.id == dept.id)).one()
    assert row.headcount == 1 and row.leader_id == sunli.id
    assert conn.execute(select(func.count()).where(member_departments.c.tenant_id == tenant.id, member_departments.c.department_id == dept.id)).scalar_one() == 1
    assert conn.execute(select(func.count()).where(departments.c.tenant_id == tenant.id, departments.c.parent_id == dept.id)).scalar_one() == 0


def test_tree_has_four_levels_about_300_members_and_leaders_managing_members(read, demo):
    conn, tenant, _ = read
    tree = demo[1]["departments"]
    assert sorted(Counter(d.depth for d in tree)) == [0, 1, 2, 3]
    assert 280 <= tree[0].headcount <= 320 and tree[0].leader == "zhangwei"
    assert all(d.leader for d in tree)
    # Every member's manager leads their primary department, or its parent for the leader.
    leader = {d.id: d.leader for d in tree}
    parent = {d.id: d.parent_id for d in tree}
    rows = conn.execute(
        select(members.c.userid, members.c.manager_id, member_departments.c.department_id)
        .join(member_departments, (member_departments.c.tenant_id == members.c.tenant_id) & (member_departments.c.member_id == members.c.id))
        .where(members.c.tenant_id == tenant.id, member_departments.c.is_primary)
    ).all()
    userid_of = dict(conn.execute(select(members.c.id, members.c.userid).where(members.c.tenant_id == tenant.id)).all())
    for r in rows:
        dept = r.department_id
        if leader[dept] == r.userid:
            expected = leader[parent[dept]] if parent[dept] else None
        else:
            expected = leader[dept]
        assert (userid_of[r.manager_id] if r.manager_id else None) == expected, r.userid


def test_r_org_1_headcounts_equal_a_recount(read):
    conn, tenant, _ = read
    stored = dict(conn.execute(select(departments.c.id, departments.c.headcount).where(departments.c.tenant_id == tenant.id)).all())
    assert stored == actual_headcounts(conn, tenant.id)


def test_every_kind_of_record_is_populated(read, demo):
    conn, tenant, _ = read
    counts = demo[1]["counts"]
    assert all(n > 0 for n in counts.values()), counts
    assert counts["external_contact"] >= 2000 and counts["message"] >= 2000 and counts["attendance_record"] >= 5000
    statuses = set(conn.execute(select(reimbursements.c.status).where(reimbursements.c.tenant_id == tenant.id)).scalars())
    assert statuses == {"open", "closed"}
    apps = set(conn.execute(select(app_grants.c.app_name).where(app_grants.c.tenant_id == tenant.id)).scalars())
    assert {"纷享销客 CRM", "金数据"} <= apps


def test_inv_5_audit_chain_verifies_with_one_seed_event_per_kind(read):
    conn, tenant, _ = read
    assert audit_q.verify_chain(conn, tenant, OPERATOR).ok
    seeded = [e.side_details for e in audit_log.stored_events(conn, tenant.id) if e.core.action == "demo.seeded"]
    assert len(seeded) == len({d["kind"] for d in seeded}) == 14
    assert all(d["count"] > 0 for d in seeded)


def test_persona_passwords_and_totp_secrets_work(demo, read):
    services, _ = demo
    conn, tenant, _ = read
    logins = demo_logins(services)
    assert [p["userid"] for p in logins] == PERSONA_USERIDS
    stored = {
        r.userid: r
        for r in conn.execute(
            select(members.c.userid, credentials.c.password_hash, credentials.c.totp_secret)
            .join(credentials, (credentials.c.tenant_id == members.c.tenant_id) & (credentials.c.member_id == members.c.id))
            .where(members.c.tenant_id == tenant.id)
        )
    }
    assert sorted(stored) == sorted(PERSONA_USERIDS)  # only the personas have credentials
    for login in logins:
        row = stored[login["userid"]]
        assert verify_password(row.password_hash, login["password"])
        assert not verify_password(row.password_hash, login["password"] + "x")
        assert row.totp_secret == login["totp_secret"]
        totp = pyotp.TOTP(login["totp_secret"])
        assert totp.verify(totp.now())


def test_building_twice_changes_nothing(demo):
    services, first = demo
    before = snapshot(services)
    again = build_demo(services)
    assert first["created"] is True and again["created"] is False and again["seconds"] is None
    assert snapshot(services) == before
    assert again["tenant"]["audit_events"] == first["tenant"]["audit_events"]
    assert again["counts"] == first["counts"] and again["departments"] == first["departments"]


def test_a_demo_slug_taken_by_another_enterprise_is_left_alone(services):
    make_tenant(services, slug=DEMO_SLUG, admin="boss")
    before = snapshot(services)
    with pytest.raises(OffboardError) as failed:
        build_demo(services)
    assert failed.value.code == "demo_slug_taken"
    assert snapshot(services) == before


def test_the_plan_is_deterministic_for_a_seed():
    first, second, other = plan_company(20261125), plan_company(20261125), plan_company(7)
    assert first.members == second.members and first.departments == second.departments
    assert [m.userid for m in first.members] != [m.userid for m in other.members]
    assert len({m.userid for m in first.members}) == len(first.members) == 300


def _cli(capsys, *argv: str) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out = capsys.readouterr().out
    assert done.value.code in (0, None), out
    return out


def test_cli_demo_then_member_list_and_logins(tmp_path, capsys):
    db = str(tmp_path / "cli.db")
    out = _cli(capsys, "demo", "--no-serve", "--db", db)
    assert "星河科技有限公司" in out and "chenjing" in out
    listed = json.loads(_cli(capsys, "--db", db, "member", "list", "--json"))
    assert listed["total"] == 300
    assert set(PERSONA_USERIDS) <= {m["userid"] for m in listed["items"]}
    logins = json.loads(_cli(capsys, "demo", "--show-logins", "--json", "--db", db))
    assert [p["userid"] for p in logins] == PERSONA_USERIDS
    assert all(set(p) == {"userid", "name", "roles", "password", "totp_secret"} for p in logins)
    assert logins[0]["roles"] == ["super_admin:primary"]
    summary = json.loads(_cli(capsys, "demo", "--json", "--db", db))
    assert summary["created"] is False and summary["counts"]["member"] == 300
