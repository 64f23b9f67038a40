"""Issue 11 items 3 and 4: a stolen account frozen at once (R-EXC-1), the backup activated in the
same transaction, the last super admin frozen only with force and the enterprise with them
(R-ADM-4, INV-1), every admin route and token of a frozen enterprise answering 423 until the
operator recovers it with the new admin's code; on PostgreSQL, two super admins freezing each
other at the same moment never leave the enterprise without one outside the frozen state."""

from __future__ import annotations

import threading

import pyotp
import pytest
from sqlalchemy import select

from offboard.actions import freeze as freeze_actions
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions import tokens as token_actions
from offboard.actions.auth import authenticate_bearer, authenticate_session, sign_in
from offboard.actions.context import tenant_transaction
from offboard.domain.errors import Conflict, OffboardError, TenantFrozen, Unauthorized
from offboard.queries import members as members_q
from offboard.store import repo, super_admins
from offboard.store.tables import audit_events, credentials, outbox, tenants
from tests.support.exits import TOTP_SECRETS, make_company, open_session, totp_now

PASSWORD = "correct horse battery staple"


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def _token(company, userid: str, *, service: bool = False) -> str:
    with tenant_transaction(company.services, company.slug, None if service else userid) as uow:
        return token_actions.create_token(uow, name=f"{userid} token", service=service, scopes=["read_directory"]).token


def _ranks(company) -> dict[str, str]:
    with company.services.db.read() as conn:
        return {h.userid: h.rank for h in super_admins.holders(conn, company.tenant_id)}


def _tenant_status(company) -> str:
    with company.services.db.read() as conn:
        return conn.execute(select(tenants.c.status).where(tenants.c.id == company.tenant_id)).scalar_one()


def test_r_exc_1_freeze_revokes_a_live_session_and_token_on_their_next_use_and_locks_sign_in(services):
    company = make_company(services)
    act(company, None, member_actions.set_credentials, "mona", password=PASSWORD)
    session = open_session(company, "mona")
    token = _token(company, "mona")
    assert authenticate_session(services, session).actor.userid == "mona"
    assert authenticate_bearer(services, token).actor.userid == "mona"

    frozen = act(company, "ivan", freeze_actions.freeze, "mona", reason="phone stolen")  # IT may freeze (SPEC §3.2)
    assert (frozen.sessions_revoked, frozen.tokens_revoked, frozen.backup_activated, frozen.tenant_frozen) == (1, 1, None, False)
    with pytest.raises(Unauthorized):
        authenticate_session(services, session)
    with pytest.raises(Unauthorized):
        authenticate_bearer(services, token)
    with pytest.raises(Unauthorized):
        sign_in(services, company.slug, "mona", PASSWORD, client="test")
    with services.db.read() as conn:
        assert repo.member_by_userid(conn, company.tenant_id, "mona").status == "frozen"
        assert conn.execute(select(credentials.c.locked_at).where(credentials.c.tenant_id == company.tenant_id, credentials.c.member_id == company["mona"])).scalar_one() is not None
        assert "member.frozen" in set(conn.execute(select(audit_events.c.action).where(audit_events.c.tenant_id == company.tenant_id)).scalars())
        assert "member.frozen" in set(conn.execute(select(outbox.c.topic).where(outbox.c.tenant_id == company.tenant_id)).scalars())
    # A second freeze, one's own account, or a member who may not freeze: refused clearly.
    with pytest.raises(Conflict) as again:
        act(company, "ivan", freeze_actions.freeze, "mona", reason="again")
    assert again.value.code == "member_not_active"
    with pytest.raises(Conflict) as own:
        act(company, "ivan", freeze_actions.freeze, "ivan", reason="test")
    assert own.value.code == "freeze_self"
    with pytest.raises(OffboardError) as nobody:
        act(company, "tina", freeze_actions.freeze, "sam", reason="test")
    assert nobody.value.status == 403

    # Unfreezing asks the person for their code; the member then signs in anew.
    with pytest.raises(Unauthorized):
        act(company, "boss", freeze_actions.unfreeze, "mona", totp="000000")
    act(company, "boss", freeze_actions.unfreeze, "mona", totp=totp_now("boss", services))
    assert sign_in(services, company.slug, "mona", PASSWORD, client="test").userid == "mona"
    with pytest.raises(Unauthorized):
        authenticate_session(services, session)  # what was revoked stays revoked (INV-7)


def test_r_exc_1_freezing_the_primary_super_admin_activates_the_backup_in_the_same_transaction(services):
    company = make_company(services)
    assert _ranks(company) == {"boss": "primary", "deputy": "backup"}
    frozen = act(company, "ivan", freeze_actions.freeze, "boss", reason="password leaked")
    assert frozen.backup_activated == "deputy"
    assert _ranks(company) == {"deputy": "primary"}
    with services.db.read() as conn:
        actions = list(conn.execute(select(audit_events.c.action).where(audit_events.c.tenant_id == company.tenant_id).order_by(audit_events.c.seq.desc()).limit(2)).scalars())
    assert set(actions) == {"admin.backup_activated", "member.frozen"}
    # The ranks swap: the frozen account no longer reads as the primary, and back it is the backup.
    act(company, "deputy", freeze_actions.unfreeze, "boss", totp=totp_now("deputy", services))
    assert _ranks(company) == {"deputy": "primary", "boss": "backup"}


def test_r_adm_4_inv_1_the_last_super_admin_is_frozen_only_with_force_and_the_enterprise_with_them(services):
    company = make_company(services)
    act(company, None, role_actions.remove_role, "deputy", "super_admin")
    service_token = _token(company, "any", service=True)
    with pytest.raises(Conflict) as refused:
        act(company, "ivan", freeze_actions.freeze, "boss", reason="stolen")
    assert refused.value.code == "last_super_admin" and "force" in refused.value.render("en")
    assert _tenant_status(company) == "active"

    frozen = act(company, "ivan", freeze_actions.freeze, "boss", reason="stolen, mid-incident", force=True)
    assert frozen.tenant_frozen and _tenant_status(company) == "frozen"
    # Admin work and every token of the enterprise answer 423 with how to recover.
    with pytest.raises(TenantFrozen) as paused:
        with tenant_transaction(services, company.slug, "hanna") as uow:
            members_q.list_members(uow.conn, uow.tenant_id, uow.actor)
    assert paused.value.status == 423 and "tenant recover" in paused.value.render("en")
    assert "运维人员" in paused.value.render("zh-CN")
    with pytest.raises(TenantFrozen):
        authenticate_bearer(services, service_token)
    with pytest.raises(TenantFrozen):
        act(company, "ivan", freeze_actions.freeze, "mona", reason="more")

    # The operator recovers it, with the new admin's current code from their enrolled authenticator.
    with pytest.raises(Unauthorized):
        freeze_actions.recover_tenant(services, company.slug, new_admin="deputy", totp="123456")
    assert _tenant_status(company) == "frozen"
    with pytest.raises(Conflict):
        freeze_actions.recover_tenant(services, company.slug, new_admin="boss", totp=totp_now("boss", services))  # frozen himself
    recovered = freeze_actions.recover_tenant(services, company.slug, new_admin="deputy", totp=totp_now("deputy", services))
    assert recovered.new_admin == "deputy" and _tenant_status(company) == "active"
    assert _ranks(company) == {"deputy": "primary"}
    assert authenticate_bearer(services, service_token).actor.kind == "service"
    with tenant_transaction(services, company.slug, "hanna") as uow:
        assert members_q.list_members(uow.conn, uow.tenant_id, uow.actor).total > 0
    with pytest.raises(Conflict):
        freeze_actions.recover_tenant(services, company.slug, new_admin="hanna", totp=totp_now("hanna", services))  # not frozen now


def test_r_adm_4_a_member_of_a_frozen_enterprise_may_still_plan_their_own_exit(services):
    from offboard.actions import exits as exit_actions

    company = make_company(services)
    act(company, None, role_actions.remove_role, "deputy", "super_admin")
    act(company, "ivan", freeze_actions.freeze, "boss", reason="incident", force=True)
    view = act(company, "tina", exit_actions.plan, "tina")
    assert view.member.userid == "tina"


def test_inv_1_two_super_admins_freezing_each_other_at_once_never_leave_the_enterprise_without_one(pg_url, clock):
    """R-ADM-4 under concurrency, on PostgreSQL: each round, boss and deputy freeze each other in
    parallel; the tenant lock serializes them, the second finds its actor frozen or the other
    the last super admin, and exactly one of them stays active."""
    from offboard.bootstrap import build
    from tests.conftest import _empty_pg

    services = build(pg_url, clock=clock)
    try:
        for round_no in range(8):
            _empty_pg(pg_url)
            company = make_company(services, slug=f"race{round_no}")
            barrier = threading.Barrier(2)
            outcomes: dict[str, str] = {}

            def attempt(by: str, target: str) -> None:
                barrier.wait()
                try:
                    act(company, by, freeze_actions.freeze, target, reason="race")
                    outcomes[by] = "froze"
                except OffboardError as exc:
                    outcomes[by] = exc.code

            threads = [threading.Thread(target=attempt, args=("boss", "deputy")), threading.Thread(target=attempt, args=("deputy", "boss"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert sorted(outcomes.values())[0] == "actor_inactive" or sorted(outcomes.values()) == ["froze", "last_super_admin"], outcomes
            assert list(outcomes.values()).count("froze") == 1, outcomes
            assert len(_ranks(company)) == 1 and _tenant_status(company) == "active", outcomes
    finally:
        services.db.engine.dispose()


def test_r_adm_3_the_backup_super_admin_is_set_changed_and_removed_with_the_policy_view_warning_while_none(services):
    from offboard.actions import backup_admin
    from offboard.queries.policy import show_policy

    company = make_company(services)

    def shown_backup() -> str | None:
        with tenant_transaction(services, company.slug, "boss") as uow:
            return show_policy(uow.conn, uow.tenant, uow.actor).backup_admin

    assert shown_backup() == "deputy"
    changed = act(company, "boss", backup_admin.set_backup, "ivan")
    assert (changed.userid, changed.replaced) == ("ivan", "deputy")
    assert _ranks(company) == {"boss": "primary", "ivan": "backup"}
    for who, code in (("ivan", "already_backup"), ("boss", "already_super_admin")):
        with pytest.raises(Conflict) as refused:
            act(company, "boss", backup_admin.set_backup, who)
        assert refused.value.code == code
    with pytest.raises(OffboardError) as hr:
        act(company, "hanna", backup_admin.set_backup, "tina")
    assert hr.value.status == 403
    assert act(company, "boss", backup_admin.remove_backup) == "ivan"
    assert _ranks(company) == {"boss": "primary"} and shown_backup() is None
    with pytest.raises(Conflict) as none_left:
        act(company, "boss", backup_admin.remove_backup)
    assert none_left.value.code == "no_backup_admin"
    with services.db.read() as conn:
        actions = set(conn.execute(select(audit_events.c.action).where(audit_events.c.tenant_id == company.tenant_id)).scalars())
    assert {"admin.backup_set", "admin.backup_removed"} <= actions


def test_r_adm_3_r_exc_1_the_cli_warns_while_no_backup_is_set_and_freezes(services, capsys, monkeypatch):
    """`tenant policy show` ends with the warning (in Chinese too); `freeze` and `unfreeze` print
    what they did."""
    from offboard.actions import backup_admin
    from offboard.cli.main import main
    from offboard.cli.state import STATE

    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised on the SQLite file once")
    company = make_company(services)
    db = str(services.db.engine.url.database)

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, "--tenant", company.slug, *args])
        out, err = capsys.readouterr()
        assert done.value.code in (0, None), out + err
        return out

    monkeypatch.setattr(STATE, "locale", "en")
    assert "Backup super admin: deputy." in run("tenant", "policy", "show")
    act(company, "boss", backup_admin.remove_backup)
    monkeypatch.setattr(STATE, "locale", "zh-CN")
    assert "尚未设置备用超级管理员" in run("tenant", "policy", "show")
    monkeypatch.setattr(STATE, "locale", "en")
    open_session(company, "mona")
    assert "mona is frozen: 1 session(s) and 0 token(s) revoked" in run("freeze", "mona", "--reason", "laptop stolen", "--by", "ivan")
    code = pyotp.TOTP(TOTP_SECRETS["boss"]).now()  # the command runs on the system clock
    assert "mona is active again" in run("unfreeze", "mona", "--totp", code, "--by", "boss")


def test_r_exc_1_a_stolen_super_admin_frozen_while_handing_power_over_hands_nothing_after_the_freeze(pg_url, clock):
    """On PostgreSQL, each round deputy freezes boss while boss's account starts an immediate
    handover to mona: the tenant lock serializes them and the actor is re-read under it, so a
    handover either completes before the freeze or is refused; never after it."""
    from offboard.actions import handover
    from offboard.bootstrap import build
    from tests.conftest import _empty_pg

    services = build(pg_url, clock=clock)
    try:
        for round_no in range(8):
            _empty_pg(pg_url)
            company = make_company(services, slug=f"steal{round_no}", profile="dingtalk")
            clock.advance(seconds=31)
            boss_code = totp_now("boss", services)
            barrier = threading.Barrier(2)
            outcomes: dict[str, str] = {}

            def hand_over() -> None:
                barrier.wait()
                try:
                    outcomes["boss"] = act(company, "boss", handover.start, to="mona", totp=boss_code).state
                except OffboardError as exc:
                    outcomes["boss"] = exc.code

            def freeze_boss() -> None:
                barrier.wait()
                try:
                    act(company, "deputy", freeze_actions.freeze, "boss", reason="stolen")
                    outcomes["deputy"] = "froze"
                except OffboardError as exc:
                    outcomes["deputy"] = exc.code

            threads = [threading.Thread(target=hand_over), threading.Thread(target=freeze_boss)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert outcomes["deputy"] == "froze", outcomes
            with services.db.read() as conn:
                seqs = dict(
                    conn.execute(
                        select(audit_events.c.action, audit_events.c.seq).where(audit_events.c.tenant_id == company.tenant_id, audit_events.c.action.in_(["member.frozen", "admin.handover.completed"]))
                    ).all()
                )
            if outcomes["boss"] == "completed":
                assert seqs["admin.handover.completed"] < seqs["member.frozen"], (outcomes, seqs)
            else:
                assert outcomes["boss"] == "actor_inactive" and "admin.handover.completed" not in seqs, (outcomes, seqs)
    finally:
        services.db.engine.dispose()
