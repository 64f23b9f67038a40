"""The seed's scenario on the demo company, end to end, on SQLite and PostgreSQL.

陈静 (chenjing), sales director, is removed by HR (王芳) with 赵磊 (zhaolei) as her successor.
Under the wecom profile her 6 customer groups stay restricted while the 24 h transfer waits;
a customer refuses one contact, which is inherited by another salesperson; the sweep takes
the rest over; HR closes her reimbursements, IT acknowledges the third-party grants and
attests the devices; HR and IT sign; once the restore window is over the sweep finalizes.
Meanwhile 孙丽 (sunli) is removed by mistake and restored within the window. Every
invariant holds at the end and the audit chain verifies (INV-1..5, INV-7).
"""

from __future__ import annotations

import pyotp
from sqlalchemy import func, select, update

from offboard.queries import checklist as cl_queries
from offboard.queries import exits as exit_queries
from offboard.actions import checklist as cl_actions
from offboard.actions import compliance
from offboard.actions import exits as exit_actions
from offboard.actions import inheritance
from offboard.actions import restore as restore_actions
from offboard.jobs import reconciler
from offboard.queries.audit import verify_chain
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.demo import build_demo
from offboard.demo.personas import totp_secret_for
from offboard.domain.authz import OPERATOR
from offboard.store.tables import (
    audit_events,
    customer_groups,
    departments,
    external_contacts,
    members,
    messages,
    tenants,
    transfer_ledger,
)
from tests.support.invariants import all_problems

SLUG = "demo"
WINDOW_HOURS = 72  # the demo tenant widens its restore window, so the sign-offs come before it ends


def test_seed_scenario_chenjing_leaves_and_a_mistaken_exit_is_restored(services, clock):
    build_demo(services)
    with services.db.write() as conn:
        policy = conn.execute(select(tenants.c.policy).where(tenants.c.slug == SLUG)).scalar_one()
        conn.execute(update(tenants).where(tenants.c.slug == SLUG).values(policy={**policy, "restore_window_hours": WINDOW_HOURS}))

    def act(by, fn, *args, **kwargs):
        with tenant_transaction(services, SLUG, by) as uow:
            return fn(uow, *args, **kwargs)

    def read(fn):
        with tenant_read(services, SLUG, "wangfang") as (conn, tenant, actor):
            return fn(conn, tenant, actor)

    def q(query):
        return read(lambda conn, tenant, actor: conn.execute(query).all())

    def ids(*userids):
        rows = dict(q(select(members.c.userid, members.c.id).where(members.c.userid.in_(userids))))
        return [rows[u] for u in userids]

    chenjing, zhaolei, pengshuai = ids("chenjing", "zhaolei", "pengshuai")
    reports = [r[0] for r in q(select(members.c.userid).where(members.c.manager_id == chenjing).order_by(members.c.id))]
    assert len(reports) == 9 and "zhaolei" in reports
    other_sales = next(u for u in reports if u != "zhaolei")
    (other_id,) = ids(other_sales)
    start_seq = read(lambda conn, tenant, actor: tenant.audit_seq)

    # --- plan, then exit by the plan --------------------------------------------------------------
    plan = act("wangfang", exit_actions.plan, "chenjing", successor="zhaolei")
    assert plan.ok, plan.blockers
    kinds = {k.kind: k for k in plan.kinds}
    assert (kinds["external_contact"].count, kinds["external_contact"].state) == (72, "waiting")
    assert (kinds["customer_group"].count, kinds["customer_group"].state) == (6, "waiting")
    assert kinds["direct_report"].count == 9
    assert {k.acceptor for k in plan.kinds if k.count} == {"zhaolei"}
    exit_ = act("wangfang", exit_actions.start_exit, "chenjing", type="removal", reason_category="resignation", reason="个人原因离职", plan_id=plan.plan_id)
    eid = exit_.id
    assert (exit_.state, exit_.trigger, exit_.member.status) == ("open", "hr", "exited")

    groups = q(select(customer_groups.c.owner_id, customer_groups.c.restricted, customer_groups.c.restricted_reason).where(customer_groups.c.name.like("华东大客户群%")))
    assert groups == [(chenjing, True, "transfer_waiting")] * 6
    # The acceptor among her reports now reports to her own manager; the other 8 to him.
    assert q(select(members.c.manager_id).where(members.c.id == zhaolei)) == [(pengshuai,)]
    assert q(select(func.count()).where(members.c.manager_id == zhaolei, members.c.status == "active")) == [(8,)]
    assert q(select(departments.c.leader_id).where(departments.c.name == "华东销售部")) == [(zhaolei,)]

    # --- a customer refuses; the contact goes to another salesperson ---------------------------
    clock.advance(hours=1)
    refused_id, cid = q(
        select(transfer_ledger.c.resource_id, transfer_ledger.c.correlation_id)
        .where(transfer_ledger.c.exit_id == eid, transfer_ledger.c.kind == "external_contact")
        .order_by(transfer_ledger.c.resource_id)
        .limit(1)
    )[0]
    assert act("wangfang", inheritance.record_result, cid, "refused").state == "refused"
    assert q(select(external_contacts.c.owner_id).where(external_contacts.c.id == refused_id)) == [(None,)]
    assert act("wangfang", inheritance.inherit, eid, "external_contact", other_sales).count == 1

    # --- the mistaken exit of sunli, restored within the window -----------------------------------
    legal_before = q(select(departments.c.id, departments.c.headcount, departments.c.status).order_by(departments.c.id))
    mistaken = act("wangfang", exit_actions.start_exit, "sunli", type="removal", reason_category="other", reason="误操作")
    assert q(select(departments.c.headcount, departments.c.status).where(departments.c.name == "法务合规部")) == [(0, "pending_dissolution")]
    clock.advance(minutes=5)
    code = pyotp.TOTP(totp_secret_for("wangfang")).at(clock.now())
    restored = act("wangfang", restore_actions.restore_exit, mistaken.id, totp=code, reason="选错了人，误删孙丽")
    assert restored.state == "restored" and restored.not_reverted == []
    assert q(select(members.c.status).where(members.c.userid == "sunli")) == [("active",)]
    assert q(select(departments.c.id, departments.c.headcount, departments.c.status).order_by(departments.c.id)) == legal_before

    # --- 24 h after the exit the waiting transfers are taken over ------------------------------------
    clock.advance(hours=22, minutes=54)  # 23 h 59 min after the exit
    assert reconciler.reconcile(services).as_dict()["taken_over"] == 0
    clock.advance(minutes=1)
    report = reconciler.reconcile(services).as_dict()
    assert (report["taken_over"], report["failed"]) == (71 + 6, [])
    groups = q(select(customer_groups.c.owner_id, customer_groups.c.restricted).where(customer_groups.c.name.like("华东大客户群%")))
    assert groups == [(zhaolei, False)] * 6
    checklist = read(lambda conn, tenant, actor: cl_queries.checklist(conn, tenant, actor, eid, clock.now()))
    items = {i.key: i for i in checklist.items}
    assert items["external_contacts"].detail == {"external_contact": 1}  # the re-assigned one still waits
    assert items["customer_groups"].done
    clock.advance(hours=1)
    assert reconciler.reconcile(services).as_dict()["taken_over"] == 1
    assert q(select(external_contacts.c.owner_id).where(external_contacts.c.id == refused_id)) == [(other_id,)]
    assert q(select(func.count()).where(external_contacts.c.owner_id == zhaolei)) == [(48 + 71,)]

    # --- HR and IT close their items and sign ---------------------------------------------------------
    assert act("wangfang", cl_actions.close_reimbursements, eid, "财务系统已结清 2 笔报销 (单号 BX-1, BX-2)") == 2
    assert act("liuyang", cl_actions.acknowledge_grants, eid, "已通知纷享销客等应用重新授权") == 3
    act("liuyang", cl_actions.attest, eid, "access_revoked", "笔记本已归还 IT 仓库，手机已远程擦除")
    checklist = read(lambda conn, tenant, actor: cl_queries.checklist(conn, tenant, actor, eid, clock.now()))
    assert checklist.open_for_signoff == []
    assert [i.key for i in checklist.items if not i.done] == ["chats_sealed"]
    act("wangfang", cl_actions.signoff, eid, "hr")
    signed = act("liuyang", cl_actions.signoff, eid, "it")
    assert set(signed.signoffs) == {"hr", "it"} and signed.state == "open"

    # --- the window passes; the sweep finalizes ------------------------------------------------------
    assert reconciler.reconcile(services).as_dict()["finalized"] == 0
    clock.advance(hours=WINDOW_HOURS - 25)  # exactly the end of the window
    report = reconciler.reconcile(services).as_dict()
    assert (report["finalized"], report["failed"]) == (1, [])
    summary = read(lambda conn, tenant, actor: exit_queries.exit_summary(conn, tenant.id, eid))
    assert (summary.state, summary.member.status) == ("finalized", "finalized")
    assert q(select(func.count(), func.count(messages.c.retained_until)).where(messages.c.author_id == chenjing)) == [(40, 40)]
    with tenant_read(services, SLUG) as (conn, tenant, _):
        assert all_problems(conn, tenant.id) == {}
        verdict = verify_chain(conn, tenant, OPERATOR)
        assert verdict.ok, verdict
        actions = set(conn.execute(select(audit_events.c.action).where(audit_events.c.tenant_id == tenant.id, audit_events.c.seq > start_seq)).scalars())
    assert {
        "exit.planned",
        "exit.started",
        "exit.resources_moved",
        "member.access_cut",
        "exit.took_effect",
        "transfer.result",
        "exit.inherited",
        "exit.restored",
        "transfer.taken_over",
        "reimbursements.closed",
        "grants.acknowledged",
        "devices.wiped",
        "exit.signed_off",
        "exit.finalized",
    } <= actions

    # --- the compliance report of her exit shows every step with its proof (SPEC §8) -------------------
    report = act("zhangwei", compliance.compliance_report, "chenjing", fmt="json", locale="zh-CN")
    steps = {e.action for e in report.events}
    assert (actions - {"exit.restored"}) <= steps  # sunli's restore is about sunli
    assert report.unproven == 0 and all(e.proven and e.proof for e in report.events)
    assert report.data.name == "陈静" and report.data.data_key == "present" and report.data.sealed_messages == 40
    assert {e.id for e in report.exits} == {eid} and report.kept_rules["chat"] == "R-LAW-2"
