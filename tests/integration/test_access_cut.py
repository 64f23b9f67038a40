"""Issue 8 item 7, R-EXIT-1 and R-EXIT-6: the access cut as data. Every step cuts the member's
live access in one statement; restore applies the inverses, and revoked credentials stay revoked."""

from __future__ import annotations

from sqlalchemy import and_, event, func, select

from offboard.actions import roles as role_actions
from offboard.actions.context import tenant_transaction
from offboard.actions.restore import restore_exit
from offboard.store import access_cut
from offboard.store.tables import api_tokens, app_grants, attendance_records, audit_events, audit_side, devices, roles, sessions
from tests.support.exits import give_records, make_company, open_session, start, totp_now


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def _count(company, table, *where) -> int:
    with company.services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == company.tenant_id, *where)).scalar_one()


def test_r_exit_1_the_cut_is_one_registry_of_steps_each_with_its_inverse_but_credentials():
    assert [s.name for s in access_cut.STEPS] == ["sessions", "personal_tokens", "roles", "devices", "app_grants", "attendance"]
    assert {s.name for s in access_cut.STEPS if s.restore_values is None} == {"sessions", "personal_tokens"}


def test_r_exit_1_r_exit_6_cut_then_restore_through_the_registry(services):
    company = make_company(services)
    give_records(company, "leo")
    act(company, None, role_actions.grant_role, "leo", "it")
    open_session(company, "leo")
    leo = company["leo"]
    exit_ = start(company, "leo")
    assert _count(company, sessions, sessions.c.member_id == leo, sessions.c.revoked_at.is_(None)) == 0
    assert _count(company, roles, roles.c.member_id == leo, roles.c.status == "suspended") == 1
    assert _count(company, devices, devices.c.member_id == leo, devices.c.status == "wipe_pending") == 2
    assert _count(company, app_grants, app_grants.c.member_id == leo, app_grants.c.status == "reauth_required") == 2
    assert _count(company, attendance_records, attendance_records.c.member_id == leo, attendance_records.c.archived_at.is_(None)) == 0
    act(company, "hanna", restore_exit, exit_.id, totp=totp_now("hanna", services), reason="mistake")
    assert _count(company, roles, roles.c.member_id == leo, roles.c.status == "active") == 1
    assert _count(company, devices, devices.c.member_id == leo, devices.c.status == "active") == 2
    assert _count(company, app_grants, app_grants.c.member_id == leo, app_grants.c.status == "active", app_grants.c.revoked_at.is_(None)) == 2
    assert _count(company, attendance_records, attendance_records.c.member_id == leo, attendance_records.c.archived_at.is_(None)) == 1
    # INV-7: what was revoked stays revoked; the member signs in again
    assert _count(company, sessions, sessions.c.member_id == leo, sessions.c.revoked_at.is_(None)) == 0
    assert _count(company, api_tokens, api_tokens.c.member_id == leo, api_tokens.c.revoked_at.is_(None)) == 0


def test_r_exit_1_the_checklist_counts_what_each_step_left_from_the_same_registry(services):
    """Items 3, 6, 8 and 12 read their facts from access_cut.remaining: one count per step,
    named by the Facts field it fills, so a new step is counted by the checklist too."""
    from dataclasses import fields

    from offboard.queries.checklist import checklist
    from offboard.domain.authz import OPERATOR
    from offboard.domain.checklist import Facts
    from offboard.store import repo

    assert {s.fact for s in access_cut.STEPS} <= {f.name for f in fields(Facts)}
    company = make_company(services)
    give_records(company, "leo")
    act(company, None, role_actions.grant_role, "leo", "admin", scope=[company.departments["Legal"]])
    open_session(company, "leo")
    leo = company["leo"]
    with services.db.read() as conn:
        before = access_cut.remaining(conn, company.tenant_id, leo, services.clock.now())
    assert before == {"live_sessions": 1, "live_tokens": before["live_tokens"], "admin_roles": 1, "devices_not_wiped": 2, "unacknowledged_grants": 2, "unarchived_attendance": 1}
    exit_ = start(company, "leo", by=None)  # HR may not remove an admin (SPEC §3.2)
    with services.db.read() as conn:
        after = access_cut.remaining(conn, company.tenant_id, leo, services.clock.now())
        items = {i.key: i for i in checklist(conn, repo.tenant_by_id(conn, company.tenant_id), OPERATOR, exit_.id, services.clock.now()).items}
    # The cut revoked and archived; wipes and grants wait for IT, the admin role for a handover.
    assert after == {"live_sessions": 0, "live_tokens": 0, "admin_roles": 1, "devices_not_wiped": 2, "unacknowledged_grants": 2, "unarchived_attendance": 0}
    assert items["attendance_archived"].done and not items["admin_rights"].done and not items["third_party_reauth"].done
    assert items["access_revoked"].detail == {"sessions": 0, "tokens": 0, "devices": 2}


def test_r_exit_1_the_cut_reports_what_each_step_cut_in_one_statement_on_postgresql_and_only_the_needed_ones_on_sqlite(services):
    """The cut counts first (SQLite) or counts what its UPDATEs in WITH returned (PostgreSQL):
    either way the audit event names what each step changed, and a step with nothing to cut is
    not sent to SQLite."""
    company = make_company(services)
    give_records(company, "leo", grants=0)
    act(company, None, role_actions.grant_role, "leo", "it")
    open_session(company, "leo")
    open_session(company, "leo")
    sent: list[str] = []

    def record(conn, cursor, statement, *rest):
        sent.append(statement)

    event.listen(services.db.engine, "before_cursor_execute", record)
    start(company, "leo")
    event.remove(services.db.engine, "before_cursor_execute", record)
    with services.db.read() as conn:
        (details,) = conn.execute(
            select(audit_side.c.details)
            .join(audit_events, and_(audit_events.c.tenant_id == audit_side.c.tenant_id, audit_events.c.seq == audit_side.c.seq))
            .where(audit_events.c.tenant_id == company.tenant_id, audit_events.c.action == "member.access_cut")
        ).scalars()
    assert details["cut"] == {"sessions": 2, "personal_tokens": 0, "roles": 1, "devices": 2, "app_grants": 0, "attendance": 1}
    cut_updates = [s for s in sent if s.startswith(("UPDATE sessions", "UPDATE api_tokens", "UPDATE roles", "UPDATE devices", "UPDATE app_grants", "UPDATE attendance_records"))]
    if services.db.dialect == "sqlite":
        assert [s.split()[1] for s in cut_updates] == ["sessions", "roles", "devices", "attendance_records"]
    else:
        assert cut_updates == [] and sum(s.startswith("WITH cut_sessions") for s in sent) == 1
