"""The directory on SQLite and PostgreSQL through the service layer: headcounts and paths
(R-ORG-1, SPEC §3), the rehire-friendly userid index, INV-1 on role removal, and INV-5
(every change has its events, a failed change has none)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError

from offboard.queries import audit as audit_q
from offboard.actions import departments as dept_actions
from offboard.queries.directory import list_departments
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.domain.authz import OPERATOR
from offboard.domain.errors import OffboardError
from offboard.store import repo
from offboard.store.tables import departments, members
from tests.support.db import actions_since, audit_seq, snapshot, tree_problems
from tests.support.factories import add_department, add_member, make_tenant

_slugs = itertools.count(1)


def _headcounts(services, slug="acme") -> dict[int, int]:
    with tenant_read(services, slug) as (conn, tenant, _actor):
        return dict(conn.execute(select(departments.c.id, departments.c.headcount).where(departments.c.tenant_id == tenant.id)).all())


def _verify(services, slug="acme"):
    with tenant_read(services, slug) as (conn, tenant, _actor):
        return audit_q.verify_chain(conn, tenant, OPERATOR)


# --- headcounts and paths under random changes ---------------------------------------------------


class DirectoryMachine(RuleBasedStateMachine):
    """Random departments, members in 1-3 departments, department changes and moves.

    Each example works in a tenant of its own, so the examples share one database. After every
    step the stored headcounts must equal a recount by SQL and a recount by this model, and every
    path must be its parent's path plus its own id.
    """

    def __init__(self, services):
        super().__init__()
        self.services = services

    @initialize(
        shape=st.lists(st.integers(0, 8), min_size=3, max_size=6),
        placements=st.lists(st.lists(st.integers(0, 8), min_size=1, max_size=3, unique=True), min_size=2, max_size=4),
    )
    def create_tenant(self, shape, placements):
        # Start every example from a small random tree with members in it, so the steps act on
        # something worth checking from the first one.
        self.slug = f"sm{next(_slugs)}"
        created = make_tenant(self.services, slug=self.slug, admin="boss")
        self.root = created.root_department_id
        self.parent = {self.root: None}  # department -> parent (the model)
        self.member_departments = {"boss": [self.root]}
        self.names = itertools.count(1)
        order = [self.root]
        with tenant_transaction(self.services, self.slug) as uow:
            for pick in shape:
                parent = order[pick % len(order)]
                dept = dept_actions.add_department(uow, f"D{next(self.names)}", parent)
                self.parent[dept] = parent
                order.append(dept)
            for picks in placements:
                depts = list(dict.fromkeys(order[p % len(order)] for p in picks))
                userid = f"u{len(self.member_departments)}"
                member_actions.add_member(uow, userid=userid, name=userid, department_ids=depts)
                self.member_departments[userid] = depts

    def _subtree(self, dept: int) -> set[int]:
        result = {dept}
        grew = True
        while grew:
            grew = False
            for d, p in self.parent.items():
                if p in result and d not in result:
                    result.add(d)
                    grew = True
        return result

    @rule(data=st.data())
    def add_department(self, data):
        parent = data.draw(st.sampled_from(sorted(self.parent)), label="parent")
        with tenant_transaction(self.services, self.slug) as uow:
            dept = dept_actions.add_department(uow, f"D{next(self.names)}", parent)
        self.parent[dept] = parent

    @rule(data=st.data())
    def add_member(self, data):
        depts = data.draw(st.lists(st.sampled_from(sorted(self.parent)), min_size=1, max_size=3, unique=True), label="departments")
        userid = f"u{len(self.member_departments)}"
        with tenant_transaction(self.services, self.slug) as uow:
            member_actions.add_member(uow, userid=userid, name=userid, department_ids=depts)
        self.member_departments[userid] = depts

    @rule(data=st.data())
    def change_departments(self, data):
        userid = data.draw(st.sampled_from(sorted(self.member_departments)), label="member")
        depts = data.draw(st.lists(st.sampled_from(sorted(self.parent)), min_size=1, max_size=3, unique=True), label="departments")
        with tenant_transaction(self.services, self.slug) as uow:
            member_actions.update_member(uow, userid, changes={}, department_ids=depts)
        self.member_departments[userid] = depts

    @rule(data=st.data())
    def move_department(self, data):
        movable = sorted(d for d in self.parent if d != self.root)
        if not movable:
            return
        dept = data.draw(st.sampled_from(movable), label="department")
        new_parent = data.draw(st.sampled_from(sorted(self.parent)), label="new parent")
        cycle = new_parent in self._subtree(dept)
        try:
            with tenant_transaction(self.services, self.slug) as uow:
                dept_actions.move_department(uow, dept, new_parent)
        except OffboardError as exc:
            assert cycle, f"unexpected refusal {exc.code}"
            assert exc.code == "department_cycle"
            return
        assert not cycle, "a move under its own subtree was accepted"
        self.parent[dept] = new_parent

    @invariant()
    def headcounts_and_paths_hold(self):
        if not hasattr(self, "slug"):
            return
        with tenant_read(self.services, self.slug) as (conn, tenant, _actor):
            assert tree_problems(conn, tenant.id) == []
            stored = dict(conn.execute(select(departments.c.id, departments.c.headcount).where(departments.c.tenant_id == tenant.id)).all())
            parents = dict(conn.execute(select(departments.c.id, departments.c.parent_id).where(departments.c.tenant_id == tenant.id)).all())
        assert parents == self.parent
        expected = {d: sum(1 for depts in self.member_departments.values() if self._subtree(d) & set(depts)) for d in self.parent}
        assert stored == expected


def test_r_org_1_headcounts_and_paths_hold_under_random_directory_changes(services):
    run_state_machine_as_test(
        lambda: DirectoryMachine(services),
        # Each step is a database transaction, so shrinking a failure would run for minutes
        # (Hypothesis gives up after five); a failure prints its unshrunk steps (at most 10),
        # which replay as they are.
        settings=settings(max_examples=10, stateful_step_count=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate]),
    )


def test_r_org_1_member_in_two_sibling_departments_is_counted_once(services):
    t = make_tenant(services)
    root = t.root_department_id
    a = add_department(services, "A")
    b = add_department(services, "B")
    a1 = add_department(services, "A1", a)
    add_member(services, "amy", [a1, b])
    assert _headcounts(services) == {root: 2, a: 1, a1: 1, b: 1}
    with tenant_transaction(services, "acme") as uow:
        member_actions.update_member(uow, "amy", changes={}, department_ids=[a])
    assert _headcounts(services) == {root: 2, a: 1, a1: 0, b: 0}
    with tenant_transaction(services, "acme") as uow:
        dept_actions.move_department(uow, a1, b)
    with tenant_transaction(services, "acme") as uow:
        member_actions.update_member(uow, "amy", changes={}, department_ids=[a, a1])
    assert _headcounts(services) == {root: 2, a: 1, a1: 1, b: 1}


def test_r_org_1_moving_a_subtree_rewrites_paths_and_recounts_both_chains(services):
    t = make_tenant(services)
    root = t.root_department_id
    a = add_department(services, "A")
    b = add_department(services, "B")
    a1 = add_department(services, "A1", a)
    a11 = add_department(services, "A11", a1)
    add_member(services, "amy", [a11])
    add_member(services, "bob", [a, b])
    with tenant_transaction(services, "acme") as uow:
        dept_actions.move_department(uow, a1, b)
    with tenant_read(services, "acme") as (conn, tenant, _):
        paths = dict(conn.execute(select(departments.c.id, departments.c.path).where(departments.c.tenant_id == tenant.id)).all())
        assert tree_problems(conn, tenant.id) == []
    assert paths[a11] == f"/{root}/{b}/{a1}/{a11}/"
    assert _headcounts(services) == {root: 3, a: 1, b: 2, a1: 1, a11: 1}


# --- userid uniqueness among members not yet finalized ------------------------------------------


def test_userid_is_unique_among_live_members_and_reusable_after_finalization(services):
    make_tenant(services)
    first = add_member(services, "amy")
    with pytest.raises(OffboardError) as exc:
        add_member(services, "amy")
    assert exc.value.code == "duplicate_userid"
    with services.db.write() as conn:
        conn.execute(update(members).where(members.c.id == first).values(status="finalized"))
    rehired = add_member(services, "amy")
    assert rehired != first
    with tenant_read(services, "acme") as (conn, tenant, _):
        assert repo.member_by_userid(conn, tenant.id, "amy").id == rehired  # the live one wins
        assert conn.execute(select(members.c.status).where(members.c.userid == "amy").order_by(members.c.id)).scalars().all() == [
            "finalized",
            "active",
        ]


@pytest.mark.parametrize("status", ["active", "frozen", "exited"])
def test_partial_unique_index_itself_refuses_a_second_live_userid(services, status):
    # Not only the action's check: the database refuses it too (two racing inserts).
    make_tenant(services)
    member_id = add_member(services, "amy")
    with services.db.write() as conn:
        conn.execute(update(members).where(members.c.id == member_id).values(status=status))
    with services.db.read() as conn:
        row = dict(conn.execute(select(members).where(members.c.id == member_id)).one()._mapping)
    row.update(id=member_id + 1000, status="active")
    with pytest.raises(IntegrityError):
        with services.db.write() as conn:
            conn.execute(insert(members).values(**row))
    with services.db.write() as conn:
        conn.execute(update(members).where(members.c.id == member_id).values(status="finalized"))
        conn.execute(insert(members).values(**row))  # finalized: the userid is free again


def test_userid_uniqueness_is_per_tenant(services):
    make_tenant(services, slug="acme")
    make_tenant(services, slug="globex", admin="boss")  # same admin userid in another tenant
    add_member(services, "amy", slug="acme")
    add_member(services, "amy", slug="globex")


# --- INV-1 / R-EXIT-3 -----------------------------------------------------------------------------


def test_inv_1_the_last_super_admin_cannot_be_demoted_a_second_one_can(services):
    make_tenant(services)
    add_member(services, "amy")
    with pytest.raises(OffboardError) as exc:
        with tenant_transaction(services, "acme") as uow:
            role_actions.remove_role(uow, "boss", "super_admin")
    assert exc.value.code == "last_super_admin"
    with tenant_transaction(services, "acme") as uow:
        role_actions.grant_role(uow, "amy", "super_admin")
    with tenant_transaction(services, "acme") as uow:
        role_actions.remove_role(uow, "boss", "super_admin")
    with pytest.raises(OffboardError) as exc:
        with tenant_transaction(services, "acme") as uow:
            role_actions.remove_role(uow, "amy", "super_admin")
    assert exc.value.code == "last_super_admin"
    with tenant_read(services, "acme") as (conn, tenant, _):
        assert repo.active_super_admin_count(conn, tenant.id) == 1


def test_inv_1_a_frozen_super_admin_does_not_count(services):
    make_tenant(services)
    amy = add_member(services, "amy")
    with tenant_transaction(services, "acme") as uow:
        role_actions.grant_role(uow, "amy", "super_admin")
    with services.db.write() as conn:
        conn.execute(update(members).where(members.c.id == amy).values(status="frozen"))
    with pytest.raises(OffboardError) as exc:
        with tenant_transaction(services, "acme") as uow:
            role_actions.remove_role(uow, "boss", "super_admin")
    assert exc.value.code == "last_super_admin"
    # Removing the frozen one's role does not change the count of active ones, so it is allowed.
    with tenant_transaction(services, "acme") as uow:
        role_actions.remove_role(uow, "amy", "super_admin")


# --- bad input: a stable code, and nothing changed (no audit event either) -----------------------


def _setup(services):
    t = make_tenant(services)
    a = add_department(services, "A")
    a1 = add_department(services, "A1", a)
    add_member(services, "amy", [a])
    return {"root": t.root_department_id, "a": a, "a1": a1}


BAD_INPUT = [
    ("duplicate userid", lambda u, d: member_actions.add_member(u, userid="amy", name="Amy 2"), "duplicate_userid"),
    ("duplicate userid differs only by spaces", lambda u, d: member_actions.add_member(u, userid=" amy ", name="Amy 2"), "duplicate_userid"),
    ("department under itself", lambda u, d: dept_actions.move_department(u, d["a"], d["a"]), "department_cycle"),
    ("department under its child", lambda u, d: dept_actions.move_department(u, d["a"], d["a1"]), "department_cycle"),
    ("unknown department for a member", lambda u, d: member_actions.add_member(u, userid="bob", name="Bob", department_ids=[9999]), "department_not_found"),
    ("unknown department to move", lambda u, d: dept_actions.move_department(u, 9999, d["root"]), "department_not_found"),
    ("unknown parent", lambda u, d: dept_actions.add_department(u, "X", 9999), "department_not_found"),
    ("unknown member", lambda u, d: member_actions.update_member(u, "ghost", changes={"name": "G"}), "member_not_found"),
    ("unknown member for a role", lambda u, d: role_actions.grant_role(u, "ghost", "hr"), "member_not_found"),
    ("malformed email on add", lambda u, d: member_actions.add_member(u, userid="bob", name="Bob", email="bob@"), "invalid_email"),
    ("malformed email on update", lambda u, d: member_actions.update_member(u, "amy", changes={"email": "amy at example"}), "invalid_email"),
    ("malformed email with a department change", lambda u, d: member_actions.update_member(u, "amy", changes={"email": "x"}, department_ids=[d["a1"]]), "invalid_email"),
    ("unknown role", lambda u, d: role_actions.grant_role(u, "amy", "king"), "invalid_choice"),
    ("admin role without scope", lambda u, d: role_actions.grant_role(u, "amy", "admin"), "scope_required"),
    ("admin scope of an unknown department", lambda u, d: role_actions.grant_role(u, "amy", "admin", scope=[9999]), "department_not_found"),
    ("demoting the last super admin", lambda u, d: role_actions.remove_role(u, "boss", "super_admin"), "last_super_admin"),
    ("removing a role not held", lambda u, d: role_actions.remove_role(u, "amy", "hr"), "role_missing"),
    ("manager cycle", lambda u, d: member_actions.update_member(u, "boss", changes={}, manager_userid="boss"), "manager_cycle"),
    # A refusal after an earlier change of the same unit of work takes that change back too.
    ("duplicate userid after adding a department", lambda u, d: (dept_actions.add_department(u, "New", d["root"]), member_actions.add_member(u, userid="amy", name="Amy 2")), "duplicate_userid"),
    (
        "last super admin after a move and a grant",
        lambda u, d: (dept_actions.move_department(u, d["a1"], d["root"]), role_actions.grant_role(u, "amy", "hr"), role_actions.remove_role(u, "boss", "super_admin")),
        "last_super_admin",
    ),
]


def test_inv_5_bad_input_is_refused_with_a_stable_code_and_changes_nothing(services):
    # One directory for the whole table (a refused change leaves it as it was, which is the
    # point); every case is tried and all mismatches are reported together.
    ids = _setup(services)
    before = snapshot(services)
    problems = []
    for case, change, code in BAD_INPUT:
        try:
            with tenant_transaction(services, "acme") as uow:
                change(uow, ids)
        except OffboardError as exc:
            if exc.code != code:
                problems.append(f"{case}: code {exc.code}, want {code}")
        else:
            problems.append(f"{case}: accepted, want {code}")
        after = snapshot(services)
        if after != before:
            problems.append(f"{case}: changed the database: {before} -> {after}")
            before = after
    assert problems == []
    assert _verify(services).ok


# --- every change writes exactly its events, in the same transaction ----------------------------


def test_inv_5_every_successful_change_writes_exactly_its_events(services):
    ids = _setup(services)
    steps = [
        (lambda u: dept_actions.add_department(u, "B", ids["root"]), ["department.added"]),
        (lambda u: member_actions.add_member(u, userid="bob", name="Bob", department_ids=[ids["a1"]]), ["member.added"]),
        (lambda u: member_actions.update_member(u, "bob", changes={"title": "Engineer"}, department_ids=[ids["a"]]), ["member.updated"]),
        (lambda u: dept_actions.move_department(u, ids["a1"], ids["root"]), ["department.moved"]),
        (lambda u: dept_actions.set_leader(u, ids["a"], "bob"), ["department.leader_set"]),
        (lambda u: role_actions.grant_role(u, "bob", "super_admin"), ["role.granted"]),
        (lambda u: role_actions.remove_role(u, "boss", "super_admin"), ["role.removed"]),
        (lambda u: role_actions.grant_role(u, "amy", "admin", scope=[ids["a"]], permissions=["audit_read"]), ["role.granted"]),
        (lambda u: token_actions.create_token(u, name="hr-sync", service=True, scopes=["plan"]), ["token.created"]),
        (lambda u: token_actions.revoke_token(u, 1), ["token.revoked"]),
        # Two changes in one unit of work: both events, in order, one transaction.
        (lambda u: (dept_actions.add_department(u, "C"), member_actions.add_member(u, userid="cy", name="Cy")), ["department.added", "member.added"]),
    ]
    for change, expected in steps:
        seq = audit_seq(services, "acme")
        with tenant_transaction(services, "acme") as uow:
            change(uow)
        assert actions_since(services, "acme", seq) == expected
        assert audit_seq(services, "acme") == seq + len(expected)
    verdict = _verify(services)
    assert verdict.ok and verdict.events == audit_seq(services, "acme")


def test_inv_5_a_change_that_changes_nothing_writes_no_event(services):
    ids = _setup(services)
    before = snapshot(services)
    with tenant_transaction(services, "acme") as uow:
        assert member_actions.update_member(uow, "amy", changes={"name": "Amy"}, department_ids=[ids["a"]])["changed"] == []
    assert snapshot(services) == before


def test_inv_5_an_exception_after_a_change_leaves_neither_the_change_nor_its_events(services):
    ids = _setup(services)
    before = snapshot(services)
    with pytest.raises(RuntimeError):
        with tenant_transaction(services, "acme") as uow:
            member_actions.add_member(uow, userid="bob", name="Bob", department_ids=[ids["a1"]])
            dept_actions.move_department(uow, ids["a1"], ids["root"])
            assert len(uow._events) == 2
            raise RuntimeError("boom")
    assert snapshot(services) == before
    with tenant_read(services, "acme") as (conn, tenant, _):
        assert conn.execute(select(members.c.id).where(members.c.tenant_id == tenant.id, members.c.userid == "bob")).first() is None
        assert tree_problems(conn, tenant.id) == []
    assert _verify(services).ok


def test_inv_5_after_commit_hooks_run_only_after_a_commit(services):
    _setup(services)
    ran = []
    with pytest.raises(RuntimeError):
        with tenant_transaction(services, "acme") as uow:
            uow.after_commit(lambda: ran.append("rolled back"))
            raise RuntimeError("boom")
    with tenant_transaction(services, "acme") as uow:
        dept_actions.add_department(uow, "Z")
        uow.after_commit(lambda: ran.append(audit_seq(services, "acme")))
        assert ran == []
    assert ran == [audit_seq(services, "acme")]


def test_inv_8_a_tenant_sees_only_its_own_departments_and_events(services):
    make_tenant(services, slug="acme")
    make_tenant(services, slug="globex")
    add_department(services, "Only in acme", slug="acme")
    with tenant_read(services, "globex") as (conn, tenant, actor):
        names = [d.name for d in list_departments(conn, tenant.id, actor)]
    assert names == ["Globex"]
    assert _verify(services, "acme").ok and _verify(services, "globex").ok
    with services.db.read() as conn:
        assert conn.execute(text("SELECT count(DISTINCT tenant_id) FROM audit_events")).scalar_one() == 2
