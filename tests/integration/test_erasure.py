"""R-LAW-1, R-LAW-2, INV-6, INV-9: an erasure request is answered with a schedule by the tenant's
data-clearing mode (whole_account, selective modules, levels L1-L4); what is due runs at once,
chat content waits for the end of its retention (six calendar months in the tenant's time zone)
and held records for the release, and the sweep runs them when due. Erasure pseudonymizes the
member, also in audit side records, and destroys their data key; the chain still verifies.
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from offboard.actions import chats, erasure, holds
from offboard.actions import checklist as cl
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.domain.data_lifecycle import pseudonym
from offboard.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from offboard.jobs import reconciler
from offboard.queries import audit as audit_q
from offboard.queries import data_lifecycle as data_q
from offboard.queries.audit_proofs import export_lines, signing
from offboard.audit.offline import verify_export
from offboard.store.audit_log import names_target
from offboard.store.tables import attendance_records, audit_events, audit_side, credentials, member_data_keys, members, messages
from tests.support.exits import finalize_member, give_records, make_company, start


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def view(company, ref="leo", by="boss") -> data_q.MemberData:
    with tenant_read(company.services, company.slug, by) as (conn, tenant, actor):
        return data_q.member_data(conn, tenant, actor, company[ref])


def steps(company, request_id: int) -> dict[str, tuple[str, str | None]]:
    with company.services.db.read() as conn:
        (request,) = data_q.requests_of(conn, company.tenant_id, request_id=request_id)
    return {s.step: (s.state, s.waiting_for) for s in request.steps}


def chain_ok(company) -> bool:
    with tenant_read(company.services, company.slug, "boss") as (conn, tenant, actor):
        return audit_q.verify_chain(conn, tenant, actor).ok


def count(company, table, column, userid="leo") -> int:
    with company.services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table).where(column == company[userid])).scalar_one()


def _side_about(company, userid: str, action: str) -> tuple[dict, dict | None]:
    """The side record (details, salts) of the first `action` event about `userid`."""
    with company.services.db.read() as conn:
        return tuple(
            conn.execute(
                select(audit_side.c.details, audit_side.c.salts)
                .join(audit_events, (audit_events.c.tenant_id == audit_side.c.tenant_id) & (audit_events.c.seq == audit_side.c.seq))
                .where(audit_events.c.tenant_id == company.tenant_id, audit_events.c.action == action, names_target(conn, f"member:{company[userid]}"))
                .order_by(audit_events.c.seq)
                .limit(1)
            ).one()
        )


def test_r_law_1_level_l2_revokes_access_and_pseudonymizes_the_profile_now_and_the_chain_still_verifies(services, clock):
    company = make_company(services, profile="feishu")
    finalize_member(company, clock)
    added_before, salts_before = _side_about(company, "leo", "member.added")
    assert added_before["name"] == "Leo" and salts_before and "name" in salts_before  # salted when written
    request_id = act(company, "hanna", erasure.request_erasure, "leo", level="L2", reason="本人申请删除个人信息", verified="离职员工书面申请,已核对身份证")
    assert steps(company, request_id) == {"access": ("done", None), "profile": ("done", None)}
    with services.db.read() as conn:
        leo = conn.execute(select(members).where(members.c.id == company["leo"])).one()
    assert (leo.name, leo.email, leo.mobile, leo.title, leo.sealed_profile) == (pseudonym(company.tenant_id, company["leo"]), None, None, None, None)
    assert leo.userid.startswith("erased-") and leo.status == "finalized"  # L2 does not erase the account
    assert count(company, credentials, credentials.c.member_id) == 0
    added, salts = _side_about(company, "leo", "member.added")
    assert added["name"] == leo.name and added["userid"] == leo.userid and added["email"] is None
    assert all(s.startswith("=") for s in salts.values())  # no salt left to test a guess against
    assert "Leo" not in json.dumps(added) and "leo@acme.example" not in json.dumps(added)
    assert chain_ok(company)
    assert count(company, member_data_keys, member_data_keys.c.member_id) == 1  # L2 keeps the chats readable


def test_r_law_1_an_exported_trail_verifies_offline_after_an_erasure_and_fails_when_an_erased_value_is_changed(services, clock):
    company = make_company(services, profile="feishu")
    finalize_member(company, clock)
    act(company, "hanna", erasure.request_erasure, "leo", level="L2", reason="本人申请", verified="书面申请")
    reconciler.reconcile(services)  # the erasure is privileged: a checkpoint follows
    with tenant_read(services, company.slug, "boss") as (conn, tenant, actor):
        lines = [json.dumps(line, ensure_ascii=False) for line in export_lines(conn, tenant, actor)]
        public_key = signing(conn, tenant, actor).verifier_key
    assert verify_export(lines, public_key).ok
    erased_at = next(i for i, line in enumerate(lines) if '"salts"' in line and "erased-" in line)
    event = json.loads(lines[erased_at])
    event["details"]["name"] = "Leo"  # an erased value "restored" in the copy
    tampered = [*lines[:erased_at], json.dumps(event, ensure_ascii=False), *lines[erased_at + 1 :]]
    assert verify_export(tampered, public_key).ok  # the value is not hashed once erased: the commitment is
    salted = dict(event["salts"])
    path = next(iter(salted))
    salted[path] = "=" + "0" * 64
    event["salts"] = salted
    forged = [*lines[:erased_at], json.dumps(event, ensure_ascii=False), *lines[erased_at + 1 :]]
    verdict = verify_export(forged, public_key)
    assert not verdict.ok and verdict.problem == "The details of event {seq} were changed after it was written."


def test_r_law_2_whole_account_erases_now_what_is_not_retained_and_the_chats_when_six_calendar_months_end(services, clock):
    company = make_company(services, policy={"data_clearing": "whole_account", "file_policy": "archive"})
    finalize_member(company, clock)
    with services.db.read() as conn:
        exited_at = conn.execute(select(members.c.exited_at).where(members.c.id == company["leo"])).scalar_one()
    request_id = act(company, "hanna", erasure.request_erasure, "leo", reason="整账户注销", verified="本人来电,已核对工号与手机号")
    schedule = steps(company, request_id)
    assert schedule["shred"] == ("pending", "retention") and schedule["chat"] == ("pending", "retention")
    assert schedule["approvals"] == ("kept", "compliant_deletion")
    assert all(schedule[s] == ("done", None) for s in ("access", "profile", "files", "calendar", "attendance"))
    assert count(company, attendance_records, attendance_records.c.member_id) == 0
    assert count(company, messages, messages.c.author_id) == 4  # retention wins (R-LAW-2)
    data = view(company)
    chat = next(k for k in data.kept if k.kind == "chat")
    assert chat.records == 4 and chat.why == "retention" and chat.until is not None
    assert chat.until >= exited_at + timedelta(days=180)
    # A day before the end nothing runs; the sweep after the end shreds and deletes.
    clock.advance(seconds=(chat.until - clock.now()).total_seconds() - 86400)
    assert reconciler.reconcile(services).erasure_steps == 0
    assert count(company, messages, messages.c.author_id) == 4
    clock.advance(days=2)
    report = reconciler.reconcile(services)
    assert report.erasure_steps == 2 and not report.failed
    assert count(company, messages, messages.c.author_id) == 0 and count(company, member_data_keys, member_data_keys.c.member_id) == 0
    with services.db.read() as conn:
        assert conn.execute(select(members.c.status).where(members.c.id == company["leo"])).scalar_one() == "erased"
    assert steps(company, request_id)["chat"] == ("done", None)
    assert chain_ok(company)
    assert reconciler.reconcile(services).erasure_steps == 0  # nothing done twice


def test_inv_9_after_level_l3_shreds_the_key_no_sealed_message_opens_and_each_is_named(services, clock):
    company = make_company(services, profile="feishu")
    finalize_member(company, clock)
    request_id = act(company, "hanna", erasure.request_erasure, "leo", level="L3", reason="本人申请", verified="书面申请")
    assert steps(company, request_id)["shred"] == ("pending", "retention")
    clock.advance(days=200)
    assert reconciler.reconcile(services).erasure_steps == 1
    assert count(company, messages, messages.c.author_id) == 4  # L3 keeps the ciphertext rows, unreadable
    page = act(company, "boss", chats.read_chats, company["leo"], reason="法务调取")
    assert page.total == 4 and all(line.body is None and f"message:{line.id}" in line.problem for line in page.lines)
    assert view(company).data_key == "destroyed"
    assert chain_ok(company)


def test_r_law_2_a_legal_hold_defers_erasure_until_it_is_released_and_the_next_sweep_runs_it(services, clock):
    """INV-6: nothing held is erased early, even long past its retention; the sweep after the
    release runs every step that waited."""
    company = make_company(services, profile="feishu")
    finalize_member(company, clock)
    hold_id = act(company, "boss", holds.place_hold, "leo", reason="劳动仲裁 2026-088 证据保全")
    request_id = act(company, "hanna", erasure.request_erasure, "leo", level="L4", reason="本人申请", verified="书面申请")
    schedule = steps(company, request_id)
    assert schedule["access"] == ("done", None)  # revoking access destroys no record
    assert all(schedule[s] == ("pending", "hold") for s in ("profile", "shred", "chat", "files", "calendar", "attendance"))
    clock.advance(days=400)
    assert reconciler.reconcile(services).erasure_steps == 0  # held past the retention: nothing early (INV-6)
    assert count(company, messages, messages.c.author_id) == 4 and count(company, attendance_records, attendance_records.c.member_id) == 1
    assert all(k.why == "hold" for k in view(company).kept)
    act(company, "boss", holds.release_hold, hold_id, reason="仲裁结案")
    assert reconciler.reconcile(services).erasure_steps == 6
    assert count(company, messages, messages.c.author_id) == 0
    with pytest.raises(Conflict) as exc:
        act(company, "boss", holds.release_hold, hold_id, reason="again")
    assert exc.value.code == "hold_released"


def test_r_law_2_a_hold_on_chats_alone_lets_the_rest_go(services, clock):
    company = make_company(services)  # dingtalk: selective
    finalize_member(company, clock)
    act(company, "boss", holds.place_hold, "leo", reason="内部调查", kinds=["chat"])
    request_id = act(company, "hanna", erasure.request_erasure, "leo", modules=["chat", "attendance"], reason="本人申请", verified="书面申请")
    assert steps(company, request_id) == {"shred": ("pending", "hold"), "chat": ("pending", "hold"), "attendance": ("done", None)}


def test_r_law_1_nothing_is_erased_inside_the_restore_window_and_it_runs_once_the_exit_is_finalized(services, clock):
    company = make_company(services, profile="feishu")
    give_records(company, "leo")
    eid = start(company, "leo", successor="sam").id
    request_id = act(company, "hanna", erasure.request_erasure, "leo", level="L2", reason="本人申请", verified="书面申请")
    assert steps(company, request_id) == {"access": ("pending", "finalization"), "profile": ("pending", "finalization")}
    assert view(company).name == "Leo"
    give = [("hanna", cl.close_reimbursements, "settled"), ("ivan", cl.acknowledge_grants, "told")]
    for by, fn, evidence in give:
        act(company, by, fn, eid, evidence)
    act(company, "ivan", cl.attest, eid, "access_revoked", "returned")
    act(company, "hanna", cl.signoff, eid, "hr")
    clock.advance(hours=25)
    act(company, "ivan", cl.signoff, eid, "it")
    assert reconciler.reconcile(services).erasure_steps == 2
    assert view(company).name == pseudonym(company.tenant_id, company["leo"])


def test_r_law_1_a_member_files_their_own_request_and_one_for_someone_else_needs_a_verification(services, clock):
    company = make_company(services, profile="feishu")
    request_id = act(company, "rita", erasure.request_erasure, "rita", level="L2", reason="离职后请删除我的资料")
    assert steps(company, request_id)["profile"] == ("pending", "finalization")  # still employed: after the exit
    with pytest.raises(ValidationError) as exc:
        act(company, "hanna", erasure.request_erasure, "tina", level="L1", reason="代为申请")
    assert exc.value.code == "verification_required"
    with pytest.raises(Forbidden):
        act(company, "sam", erasure.request_erasure, "tina", level="L1", reason="代为申请", verified="同事转告")
    with pytest.raises(Conflict) as exc:
        act(company, "rita", erasure.request_erasure, "rita", level="L1", reason="再次申请")
    assert exc.value.code == "erasure_already_requested"
    more = act(company, "rita", erasure.request_erasure, "rita", level="L4", reason="全部删除")
    assert "profile" not in steps(company, more) and "chat" in steps(company, more)  # only what was not asked yet


@pytest.mark.parametrize(
    ("profile", "kwargs", "code"),
    [
        ("dingtalk", {"modules": ["chat", "payroll"]}, "unknown_module"),
        ("dingtalk", {"modules": []}, "erasure_modules_required"),
        ("dingtalk", {"level": "L2"}, "erasure_scope_not_applicable"),
        ("feishu", {"level": "L5"}, "unknown_level"),
        ("feishu", {"modules": ["chat"]}, "erasure_scope_not_applicable"),
        ("whole_account", {"level": "L1"}, "erasure_scope_not_applicable"),
    ],
)
def test_r_law_1_a_request_the_mode_does_not_take_is_refused_and_changes_nothing(services, clock, profile, kwargs, code):
    company = make_company(services, policy={"data_clearing": "whole_account"}) if profile == "whole_account" else make_company(services, profile=profile)
    finalize_member(company, clock)
    with pytest.raises(ValidationError) as exc:
        act(company, "hanna", erasure.request_erasure, "leo", reason="申请", verified="书面申请", **kwargs)
    assert exc.value.code == code
    with services.db.read() as conn:
        assert conn.execute(select(members.c.name).where(members.c.id == company["leo"])).scalar_one() == "Leo"
    assert view(company).requests == []


def test_r_law_2_holds_need_the_legal_hold_permission_and_an_unknown_kind_is_refused(services, clock):
    company = make_company(services)
    with pytest.raises(Forbidden):
        act(company, "hanna", holds.place_hold, "leo", reason="调查")
    with pytest.raises(ValidationError) as exc:
        act(company, "boss", holds.place_hold, "leo", reason="调查", kinds=["chat", "payroll"])
    assert exc.value.code == "unknown_record_kind"
    with pytest.raises(NotFound):
        act(company, "boss", holds.release_hold, 999, reason="x")
