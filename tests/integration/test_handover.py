"""Issue 11 item 1: the super admin's handover in the three platforms' modes (R-ADM-1), with real
TOTP codes; the old super admin's emergency window and its lapse on the injected clock (R-ADM-2);
the custodian's escrow and its limited powers; refusals said clearly."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from offboard.actions import exits as exit_actions
from offboard.actions import freeze as freeze_actions
from offboard.actions import handover
from offboard.actions import roles as role_actions
from offboard.actions.context import tenant_transaction
from offboard.domain.errors import Conflict, NotFound, OffboardError, Unauthorized
from offboard.queries import audit as audit_q
from offboard.store import super_admins
from offboard.store.tables import outbox
from tests.support.exits import make_company, totp_now


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def code(company, userid: str) -> str:
    company.services.clock.advance(seconds=31)  # a code is accepted once: a fresh 30 s step
    return totp_now(userid, company.services)


def ranks(company) -> dict[str, str]:
    with company.services.db.read() as conn:
        return {h.userid: h.rank for h in super_admins.holders(conn, company.tenant_id)}


def topics(company) -> list[str]:
    with company.services.db.read() as conn:
        return list(conn.execute(select(outbox.c.topic).where(outbox.c.tenant_id == company.tenant_id, outbox.c.topic.like("admin.handover.%")).order_by(outbox.c.id)).scalars())


def test_r_adm_1_dingtalk_power_moves_at_once_on_one_verification_and_the_exit_has_no_blocker(services):
    company = make_company(services, profile="dingtalk")
    with pytest.raises(Unauthorized):
        act(company, "boss", handover.start, to="mona", totp="000000")
    done = act(company, "boss", handover.start, to="mona", totp=code(company, "boss"))
    assert (done.mode, done.state, done.window_until, done.link) == ("immediate", "completed", None, None)
    assert ranks(company) == {"mona": "primary", "deputy": "backup"}
    assert topics(company) == ["admin.handover.started", "admin.handover.completed"]
    plan = act(company, "hanna", exit_actions.plan, "boss")
    assert not [b for b in plan.blockers if "super_admin" in b.code]


def test_r_adm_1_r_adm_2_wecom_both_verify_then_the_old_admin_keeps_emergency_powers_that_lapse(services):
    company = make_company(services, profile="wecom")
    started = act(company, "boss", handover.start, to="mona", totp=code(company, "boss"))
    assert started.state == "pending" and started.link and started.link_expires_at is not None
    assert ranks(company) == {"boss": "primary", "deputy": "backup"}  # nothing moved yet
    # A second handover while one is pending, a nominee who is not a member, the wrong person accepting.
    with pytest.raises(Conflict) as again:
        act(company, "deputy", handover.start, to="tina", totp=code(company, "deputy"))
    assert again.value.code == "handover_pending"
    with pytest.raises(NotFound):
        act(company, "tina", handover.accept, totp=code(company, "tina"))
    with pytest.raises(NotFound):
        act(company, "mona", handover.accept, totp=code(company, "mona"), link="not-the-link")
    with pytest.raises(Unauthorized):
        act(company, "mona", handover.accept, totp="123456", link=started.link)
    done = act(company, "mona", handover.accept, totp=code(company, "mona"), link=started.link)
    assert done.state == "completed" and done.window_until is not None
    assert (done.window_until - done.completed_at).days == 7
    assert ranks(company) == {"mona": "primary", "deputy": "backup"}
    # The old super admin: freeze an account and read the audit trail, nothing else.
    act(company, "boss", freeze_actions.freeze, "tina", reason="phone lost")
    with tenant_transaction(services, company.slug, "boss") as uow:
        assert audit_q.events(uow.conn, uow.tenant, uow.actor, limit=5)
    with pytest.raises(OffboardError) as no_more:
        act(company, "boss", role_actions.grant_role, "sam", "hr")
    assert no_more.value.status == 403
    # After the window the powers are gone by themselves.
    services.clock.advance(days=7, seconds=1)
    with pytest.raises(OffboardError) as lapsed:
        act(company, "boss", freeze_actions.freeze, "sam", reason="late")
    assert lapsed.value.status == 403
    with pytest.raises(Conflict) as too_late:
        act(company, "boss", handover.revert, totp=code(company, "boss"))
    assert too_late.value.code == "no_emergency_window"


def test_r_adm_2_wecom_the_old_admin_reverts_inside_the_window_and_an_expired_link_is_refused(services):
    company = make_company(services, profile="wecom")
    started = act(company, "boss", handover.start, to="mona", totp=code(company, "boss"))
    act(company, "mona", handover.accept, totp=code(company, "mona"), link=started.link)
    reverted = act(company, "boss", handover.revert, totp=code(company, "boss"))
    assert reverted.state == "reverted" and ranks(company) == {"boss": "primary", "deputy": "backup"}
    assert topics(company)[-1] == "admin.handover.reverted"

    again = act(company, "boss", handover.start, to="tina", totp=code(company, "boss"))
    services.clock.advance(hours=24, seconds=1)
    with pytest.raises(Conflict) as expired:
        act(company, "tina", handover.accept, totp=code(company, "tina"), link=again.link)
    assert expired.value.code == "handover_link_expired"
    # An expired handover no longer blocks a new one; a pending one can be cancelled.
    third = act(company, "boss", handover.start, to="mona", totp=code(company, "boss"))
    assert act(company, "boss", handover.cancel, totp=code(company, "boss")).state == "cancelled"
    with pytest.raises(NotFound):
        act(company, "mona", handover.accept, totp=code(company, "mona"), link=third.link)


def test_r_adm_1_feishu_escrow_the_custodian_holds_limited_power_until_the_successor_accepts(services):
    company = make_company(services, profile="feishu")
    act(company, None, role_actions.remove_role, "deputy", "super_admin")
    started = act(company, "boss", handover.start, to="mona", custodian="ivan", totp=code(company, "boss"))
    assert started.state == "pending" and started.custodian_userid == "ivan"
    assert ranks(company) == {"ivan": "custodian"}  # INV-1: the custodian holds power meanwhile
    # The custodian's powers are the policy's (operations by default): exits yes, role grants no.
    act(company, "ivan", exit_actions.plan, "tina")
    with pytest.raises(OffboardError) as limited:
        act(company, "ivan", role_actions.grant_role, "sam", "hr")
    assert limited.value.status == 403
    # The old super admin holds nothing now and may leave: the plan has no super-admin blocker.
    plan = act(company, "hanna", exit_actions.plan, "boss")
    assert not [b for b in plan.blockers if "super_admin" in b.code]
    done = act(company, "mona", handover.accept, totp=code(company, "mona"))
    assert done.state == "completed" and done.window_until is None
    assert ranks(company) == {"mona": "primary"}


def test_r_adm_1_refusals_name_what_to_do(services):
    company = make_company(services, profile="wecom")
    for kwargs, expected in (
        ({"to": "boss"}, "handover_to_self"),
        ({"to": "mona", "custodian": "ivan"}, "custodian_not_in_mode"),
    ):
        with pytest.raises(Conflict) as refused:
            act(company, "boss", handover.start, totp=code(company, "boss"), **kwargs)
        assert refused.value.code == expected
    act(company, "ivan", freeze_actions.freeze, "tina", reason="lost")
    with pytest.raises(Conflict) as inactive:
        act(company, "boss", handover.start, to="tina", totp=code(company, "boss"))
    assert inactive.value.code == "member_not_active"
    with pytest.raises(OffboardError) as not_admin:
        act(company, "hanna", handover.start, to="mona", totp=code(company, "hanna"))
    assert not_admin.value.status == 403


def test_r_adm_1_a_console_session_past_five_minutes_starts_and_cancels_with_the_code_it_gives(services):
    """The code a handover asks for is its own second factor: a session whose last check is older
    than the re-verification window is not asked for another one first."""
    from offboard.actions.auth import authenticate_session
    from tests.support.exits import open_session

    company = make_company(services, profile="wecom")
    token = open_session(company, "boss")
    services.clock.advance(minutes=6)
    actor = authenticate_session(services, token).actor
    with tenant_transaction(services, company.slug, actor=actor) as uow:
        started = handover.start(uow, to="mona", totp=code(company, "boss"))
    assert started.state == "pending"
    with tenant_transaction(services, company.slug, actor=authenticate_session(services, token).actor) as uow:
        assert handover.cancel(uow, totp=code(company, "boss")).state == "cancelled"


def test_inv_1_handovers_started_at_once_by_both_super_admins_leave_one_pending_or_power_with_someone(pg_url, clock):
    """On PostgreSQL, each round boss and deputy start a handover at the same moment: in the wecom
    mode exactly one is pending and the other is refused as such; in the dingtalk mode (power moves
    at once) they hand power to each other, and the enterprise always ends with one super admin."""
    import threading

    from offboard.bootstrap import build
    from tests.conftest import _empty_pg

    services = build(pg_url, clock=clock)
    try:
        for round_no in range(6):
            _empty_pg(pg_url)
            profile = "wecom" if round_no % 2 == 0 else "dingtalk"
            company = make_company(services, slug=f"race{round_no}", profile=profile)
            clock.advance(seconds=31)
            codes = {who: totp_now(who, services) for who in ("boss", "deputy")}
            barrier = threading.Barrier(2)
            outcomes: dict[str, str] = {}

            def attempt(by: str, to: str) -> None:
                barrier.wait()
                try:
                    outcomes[by] = act(company, by, handover.start, to=to, totp=codes[by]).state
                except OffboardError as exc:
                    outcomes[by] = exc.code

            targets = {"boss": "mona", "deputy": "tina"} if profile == "wecom" else {"boss": "deputy", "deputy": "boss"}
            threads = [threading.Thread(target=attempt, args=(by, to)) for by, to in targets.items()]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            if profile == "wecom":
                assert sorted(outcomes.values()) == ["handover_pending", "pending"], outcomes
                assert ranks(company) == {"boss": "primary", "deputy": "backup"}
            else:
                # The second, serialized behind the first, finds its actor without the role (refused)
                # or hands the power straight back: either way exactly one super admin remains.
                assert "completed" in outcomes.values(), outcomes
                assert len(ranks(company)) == 1, (outcomes, ranks(company))
    finally:
        services.db.engine.dispose()


def test_r_adm_2_an_old_admin_who_left_signs_in_inside_the_window_and_the_reconciler_closes_it(services):
    """The old super admin leaves; inside the window they sign in again with password and code into
    a session with only the emergency powers; when the window runs out the reconciler closes it and
    revokes that session at once, audited; a second pass closes nothing."""
    from offboard.actions import members as member_actions
    from offboard.actions.auth import authenticate_session, sign_in, verify_second_factor
    from offboard.domain.authz import Action
    from offboard.jobs import reconciler
    from tests.support.exits import start

    password = "correct horse battery staple"
    company = make_company(services, profile="wecom")
    act(company, None, member_actions.set_credentials, "boss", password=password)
    started = act(company, "boss", handover.start, to="mona", totp=code(company, "boss"))
    act(company, "mona", handover.accept, totp=code(company, "mona"), link=started.link)
    start(company, "boss", by="hanna", successor="mona")
    signed = sign_in(services, company.slug, "boss", password, client="test")
    assert signed.stage == "password"
    token = verify_second_factor(services, signed.session_token, code(company, "boss"), client="test")
    actor = authenticate_session(services, token).actor
    assert actor.powers == {Action.FREEZE, Action.READ_AUDIT} and actor.emergency_until is not None

    assert reconciler.reconcile(services).windows_closed == 0  # still open
    services.clock.advance(days=7, seconds=1)
    report = reconciler.reconcile(services)
    assert report.windows_closed == 1 and report.as_dict()["windows_closed"] == 1
    with pytest.raises(OffboardError):
        authenticate_session(services, token)
    with services.db.read() as conn:
        row = super_admins.latest_handover(conn, company.tenant_id)
        assert row.window_closed_at is not None
    assert "admin.handover.window_closed" in topics_all(company)
    assert reconciler.reconcile(services).windows_closed == 0


def topics_all(company) -> list[str]:
    with company.services.db.read() as conn:
        return list(conn.execute(select(outbox.c.topic).where(outbox.c.tenant_id == company.tenant_id)).scalars())


def test_r_adm_1_r_adm_2_the_exit_plan_says_a_handover_waits_and_shows_the_old_admins_window(services):
    """Planning the exit of a super admin whose handover is pending names the successor it waits
    for; once accepted the plan has no super-admin blocker and warns of the emergency window with
    its end in the enterprise's time (Asia/Shanghai)."""
    company = make_company(services, profile="wecom")
    started = act(company, "boss", handover.start, to="mona", totp=code(company, "boss"))
    waiting = act(company, "hanna", exit_actions.plan, "boss")
    assert [b.code for b in waiting.blockers] == ["handover_pending"]
    assert "mona" in waiting.in_language("en").blockers[0].message
    done = act(company, "mona", handover.accept, totp=code(company, "mona"), link=started.link)
    after = act(company, "hanna", exit_actions.plan, "boss")
    assert not after.blockers
    window = next(w for w in after.in_language("zh-CN").warnings if w.code == "emergency_window")
    from zoneinfo import ZoneInfo

    assert done.window_until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") in window.message


def test_r_adm_1_the_cli_starts_shows_and_accepts_a_handover(services, capsys):
    """`handover start`, `handover status` (a read: the parties and the super admins may see it,
    another member is refused) and `handover accept`, each party with their own code."""
    import json

    import pyotp

    from offboard.cli.main import main
    from tests.support.exits import TOTP_SECRETS

    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised on the SQLite file once")
    company = make_company(services, profile="wecom")
    db = str(services.db.engine.url.database)

    def run(*args: str, expect: int = 0) -> str:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, "--tenant", company.slug, *args])
        out, err = capsys.readouterr()
        assert (done.value.code or 0) == expect, out + err
        return out + err

    now = lambda userid: pyotp.TOTP(TOTP_SECRETS[userid]).now()  # noqa: E731  (the CLI runs on the system clock)
    started = run("handover", "start", "--by", "boss", "--to", "mona", "--totp", now("boss"))
    assert "from boss to mona" in started and "offboard handover accept --by mona" in started
    assert "pending" in json.loads(run("handover", "status", "--by", "mona", "--json"))["state"]
    refused = run("handover", "status", "--by", "leo", expect=1)
    assert "You may not manage admins" in refused
    run("handover", "accept", "--by", "mona", "--totp", now("mona"))
    shown = json.loads(run("handover", "status", "--by", "boss", "--json"))
    assert (shown["state"], shown["from_userid"], shown["to_userid"], shown["link"]) == ("completed", "boss", "mona", None)
    assert ranks(company)["mona"] == "primary"
