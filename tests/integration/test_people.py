"""Issue 9 item 2: the people picker's suggestions, on SQLite and PostgreSQL, in the demo company.

Only members who may receive a leaver's resources are offered (R-ORG-4): active, with no exit
scheduled or open, and not the leaver. A member is found by userid, name or the name's pinyin
(initials or in full); what is typed is text, never a pattern; a scoped admin is offered the
members of their scope only. Here IT's liuyang has left (open exit) and sunli leaves next week.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import and_, or_, select

from offboard.actions import exits as exit_actions
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.bootstrap import build
from offboard.demo import DEMO_SLUG, build_demo
from offboard.domain.errors import OffboardError
from offboard.domain.org import subtree_upper_bound
from offboard.queries import people
from offboard.store import repo
from offboard.store.tables import departments, member_departments
from tests.conftest import own_database
from tests.support.clock import FakeClock

SCOPED_ADMIN = "chenyun"  # a plain member of the demo, made admin of 华东销售部 below


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request, tmp_path_factory):
    with own_database(request, tmp_path_factory, "people") as url:
        services = build(url, clock=FakeClock())
        try:
            build_demo(services)
            with tenant_transaction(services, DEMO_SLUG, by="wangfang") as uow:
                exit_actions.start_exit(uow, "liuyang", type="removal", reason_category="resignation", reason="个人原因")
                exit_actions.start_exit(uow, "sunli", type="removal", reason_category="contract_end", reason="合同到期", effective_at=uow.now + timedelta(days=7))
                # Names and userids holding the characters a LIKE pattern gives a meaning to.
                for userid, name in (("a_b", "下划线甲"), ("axb", "下划线乙"), ("pct", "满分100%"), ("pct2", "满分1000"), ("bo", "Zed"), ("bob", "Yan"), ("abo", "Adam")):
                    member_actions.add_member(uow, userid=userid, name=name)
            with tenant_transaction(services, DEMO_SLUG) as uow:
                east_id = uow.conn.execute(select(departments.c.id).where(departments.c.tenant_id == uow.tenant_id, departments.c.name == "华东销售部")).scalar_one()
                role_actions.grant_role(uow, SCOPED_ADMIN, "admin", scope=[east_id])
            yield services
        finally:
            services.db.dispose()


def suggest(services, query: str, by: str = "wangfang", **kwargs) -> list[people.PersonChoice]:
    with tenant_read(services, DEMO_SLUG, by=by) as (conn, tenant, actor):
        return people.suggest(conn, tenant.id, actor, query, **kwargs)


def userids(services, query: str, by: str = "wangfang", **kwargs) -> list[str]:
    return [p.userid for p in suggest(services, query, by, **kwargs)]


def member_id(services, userid: str) -> int:
    with services.db.read() as conn:
        return repo.member_by_userid(conn, repo.tenant_by_slug(conn, DEMO_SLUG).id, userid).id


def test_issue_9_pinyin_initials_find_a_name_shown_with_department_and_title(demo):
    found = suggest(demo, "cj", limit=50)
    assert people.PersonChoice(member_id(demo, "chenjing"), "chenjing", "陈静", "华东销售部", "销售总监") in found
    assert len(found) > 1  # 陈静 is not the only cj of the company
    assert "chenjing" in userids(demo, "CJ", limit=50)  # case does not matter


def test_issue_9_full_pinyin_userid_and_name_find_a_member(demo):
    assert userids(demo, "chenjing") == ["chenjing"]
    assert userids(demo, "chen jing") == ["chenjing"]  # spaces between the syllables are allowed
    assert userids(demo, "zhaol")[0] == "zhaolei"
    assert userids(demo, "赵磊") == ["zhaolei"]
    assert "zhaolei" in userids(demo, "磊", limit=50)  # a part of the name


def test_issue_9_the_exact_userid_first_then_what_starts_with_the_query_then_what_contains_it(demo):
    found = userids(demo, "bo", limit=50)
    assert found[:2] == ["bo", "bob"]  # although "Yan" and "Zed" sort after "Adam"
    assert "abo" in found[2:]


def test_r_org_4_a_member_who_is_leaving_or_has_left_is_not_offered(demo):
    assert userids(demo, "liuyang") == []  # left: the exit took effect and is open
    assert userids(demo, "sunli") == []  # leaves next week: the exit is scheduled
    assert userids(demo, "孙丽") == []
    assert "liuyang" not in userids(demo, "ly", limit=50)


def test_r_org_4_the_leaver_is_excluded(demo):
    assert "zhaolei" in userids(demo, "zl", limit=50)
    assert "zhaolei" not in userids(demo, "zl", limit=50, exclude=member_id(demo, "zhaolei"))


def test_issue_9_percent_and_underscore_match_themselves(demo):
    assert userids(demo, "a_b") == ["a_b"]  # _ is not "any character": axb is not found
    assert userids(demo, "100%") == ["pct"]  # % is not "anything": 满分1000 is not found
    assert userids(demo, "%") == ["pct"]
    assert userids(demo, "\\") == []


def test_issue_9_an_empty_query_offers_no_one_and_a_long_one_is_refused(demo):
    assert suggest(demo, "") == [] and suggest(demo, "   ") == []
    with pytest.raises(OffboardError) as refused:
        suggest(demo, "x" * 65)
    assert refused.value.code == "query_too_long" and refused.value.status == 422
    with pytest.raises(OffboardError) as refused:
        suggest(demo, "zl", limit=51)
    assert refused.value.code == "invalid_limit"
    assert len(suggest(demo, "zhao", limit=3)) == 3


def test_spec_3_2_a_scoped_admin_is_offered_only_the_members_of_their_scope(demo):
    everyone = userids(demo, "zl", limit=50)
    scoped = userids(demo, "zl", by=SCOPED_ADMIN, limit=50)
    assert "zhaolei" in scoped and set(scoped) < set(everyone)
    with demo.db.read() as conn:
        tenant_id = repo.tenant_by_slug(conn, DEMO_SLUG).id
        east = conn.execute(select(departments.c.path).where(departments.c.tenant_id == tenant_id, departments.c.name == "华东销售部")).scalar_one()
        in_scope = set(
            conn.execute(
                select(member_departments.c.member_id)
                .join(departments, and_(departments.c.tenant_id == member_departments.c.tenant_id, departments.c.id == member_departments.c.department_id))
                .where(member_departments.c.tenant_id == tenant_id, or_(departments.c.path == east, and_(departments.c.path >= east, departments.c.path < subtree_upper_bound(east))))
            ).scalars()
        )
    assert {p.id for p in suggest(demo, "zl", by=SCOPED_ADMIN, limit=50)} <= in_scope
    assert {p.id for p in suggest(demo, "zl", limit=50)} - in_scope  # HR is offered people elsewhere too


def test_spec_3_2_a_member_without_a_role_may_not_search_the_directory(demo):
    with pytest.raises(OffboardError) as refused:
        suggest(demo, "zl", by="zhaolei")
    assert refused.value.status == 403


def test_issue_9_userids_typed_into_a_form_are_named_within_the_readers_scope(demo):
    with tenant_read(demo, DEMO_SLUG, by="wangfang") as (conn, tenant, actor):
        named = people.by_userids(conn, tenant.id, actor, ["zhaolei", "liuyang", "nobody", ""])
    assert {u: p.name for u, p in named.items()} == {"zhaolei": "赵磊", "liuyang": "刘洋"}  # one who left is still named
    assert named["zhaolei"].department == "华东销售部"
    with tenant_read(demo, DEMO_SLUG, by=SCOPED_ADMIN) as (conn, tenant, actor):
        assert set(people.by_userids(conn, tenant.id, actor, ["zhaolei", "wangfang"])) == {"zhaolei"}
