"""Issue 11 item 4, the rollback plan (R-EXC-1): every role, permission, token, policy and handover
change a stolen account made since a time, each with its inverse, shown first and applied only
with the applier's code as one audited transaction; what later events superseded is listed and
left alone; a changed plan, a wrong code or a result without a super admin (INV-1) keeps nothing."""

from __future__ import annotations

import json

import pyotp
import pytest
from sqlalchemy import select

from offboard.actions import freeze as freeze_actions
from offboard.actions import handover
from offboard.actions import policy as policy_actions
from offboard.actions import roles as role_actions
from offboard.actions import rollback
from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.cli.main import main
from offboard.domain.errors import Conflict, Forbidden, Unauthorized, ValidationError
from offboard.queries import audit as audit_q
from offboard.queries.rollback import rollback_plan
from offboard.store import repo, super_admins
from offboard.store.tables import api_tokens, audit_events, outbox, roles
from tests.support.exits import TOTP_SECRETS, make_company, totp_now


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def code(company, userid: str) -> str:
    company.services.clock.advance(seconds=31)  # a code is accepted once: a fresh 30 s step
    return totp_now(userid, company.services)


def plan(company, by: str, member: str, since: str, locale: str = "en"):
    with tenant_read(company.services, company.slug, by) as (conn, tenant, actor):
        return rollback_plan(conn, tenant, actor, member, since, company.services.clock.now(), locale)


def role_names(company, userid: str) -> set[str]:
    with company.services.db.read() as conn:
        return {r.role for r in repo.member_roles(conn, company.tenant_id, company[userid])}


def token_revoked(company, token_id: int) -> bool:
    with company.services.db.read() as conn:
        return conn.execute(select(api_tokens.c.revoked_at).where(api_tokens.c.tenant_id == company.tenant_id, api_tokens.c.id == token_id)).scalar_one() is not None


def ranks(company) -> dict[str, str]:
    with company.services.db.read() as conn:
        return {h.userid: h.rank for h in super_admins.holders(conn, company.tenant_id)}


def since_text(company) -> str:
    """Now, as the enterprise's clock reads it (Asia/Shanghai), to the minute."""
    from zoneinfo import ZoneInfo

    return company.services.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def stolen(services):
    """boss's account is stolen: since `since` it gave and took roles, made and revoked tokens,
    changed the policy and handed super-admin power to sam; then deputy froze it."""
    company = make_company(services, profile="dingtalk")
    ci = act(company, None, token_actions.create_token, name="ci", service=True, scopes=["read_directory"])
    services.clock.advance(minutes=5)
    since = since_text(company)
    services.clock.advance(minutes=1)
    act(company, "boss", role_actions.grant_role, "mona", "hr")  # undone: mona loses hr
    act(company, "boss", role_actions.remove_role, "hanna", "hr")  # undone: hanna gets hr back
    exfil = act(company, "boss", token_actions.create_token, name="exfil", service=True, scopes=["read_directory", "read_audit"])  # undone: revoked
    act(company, "boss", token_actions.revoke_token, ci.id)  # undone: reinstated
    act(company, "boss", policy_actions.set_policy, {"customer_limit": 999_999, "restore_window_hours": 1})
    act(company, "boss", role_actions.grant_role, "tina", "it")  # superseded: deputy removes it below
    act(company, "boss", role_actions.grant_role, "lone", "hr")
    act(company, "boss", role_actions.remove_role, "lone", "hr")  # unchanged: granted and removed again
    act(company, "boss", handover.start, to="sam", totp=code(company, "boss"))  # immediate: sam is primary
    services.clock.advance(minutes=2)
    act(company, "deputy", role_actions.remove_role, "tina", "it")
    act(company, "deputy", policy_actions.set_policy, {"restore_window_hours": 48})  # supersedes boss's change
    act(company, "deputy", freeze_actions.freeze, "boss", reason="account stolen")
    company.since, company.ci, company.exfil = since, ci.id, exfil.id
    return company


def test_r_exc_1_the_plan_lists_each_change_with_its_inverse_or_why_it_is_left_alone_and_changes_nothing(stolen):
    company = stolen
    shown = plan(company, "deputy", "boss", company.since)
    by_subject = {(i.subject, tuple(i.key)): i for i in shown.items}
    assert by_subject[("role", (str(company["mona"]), "hr"))].verdict == "undo"
    assert by_subject[("role", (str(company["mona"]), "hr"))].undo == "Remove the HR role from Mona"
    assert by_subject[("role", (str(company["hanna"]), "hr"))].undo == "Give Hanna the HR role back"
    assert by_subject[("token", (str(company.exfil),))].undo == 'Revoke API token "exfil"'
    assert by_subject[("token", (str(company.ci),))].undo == 'Reinstate API token "ci"'
    assert by_subject[("policy", ("customer_limit",))].verdict == "undo"
    superseded = by_subject[("policy", ("restore_window_hours",))]
    assert superseded.verdict == "superseded" and superseded.superseded_by is not None
    assert superseded.why.startswith("Changed again later: Deputy changed the policy")
    assert by_subject[("role", (str(company["tina"]), "it"))].verdict == "superseded"
    assert by_subject[("role", (str(company["lone"]), "hr"))].verdict == "unchanged"
    handed = next(i for i in shown.items if i.subject == "handover")
    assert handed.verdict == "undo" and handed.undo.startswith("Take super-admin power back from Sam")
    assert (shown.to_undo, shown.superseded, shown.unchanged) == (6, 2, 1)
    # Each change is told as the audit trail tells it, in the reader's language.
    assert by_subject[("role", (str(company["mona"]), "hr"))].changes[0].sentence == "Boss granted Mona the HR role"
    zh = plan(company, "deputy", "boss", company.since, locale="zh-CN")
    assert zh.digest == shown.digest
    zh_subject = {(i.subject, tuple(i.key)): i for i in zh.items}
    assert zh_subject[("role", (str(company["mona"]), "hr"))].undo == "移除 Mona 的 HR 角色"
    assert zh_subject[("token", (str(company.ci),))].undo == "恢复 API 令牌「ci」"
    assert zh_subject[("policy", ("restore_window_hours",))].why.startswith("之后已被再次更改：")
    # Nothing changed by looking.
    assert role_names(company, "mona") == {"hr"} and not token_revoked(company, company.exfil)
    assert ranks(company) == {"sam": "primary", "deputy": "backup"}


def test_r_exc_1_applying_undoes_the_plan_in_one_audited_transaction_and_a_second_apply_has_nothing_left(stolen):
    company = stolen
    shown = plan(company, "deputy", "boss", company.since)
    with pytest.raises(Conflict) as stale:
        act(company, "deputy", rollback.apply, "boss", since=company.since, totp=code(company, "deputy"), digest="0" * 16)
    assert stale.value.code == "rollback_plan_changed"
    with pytest.raises(Unauthorized):
        act(company, "deputy", rollback.apply, "boss", since=company.since, totp="000000", digest=shown.digest)
    assert role_names(company, "mona") == {"hr"}  # a wrong code keeps nothing

    done = act(company, "deputy", rollback.apply, "boss", since=company.since, totp=code(company, "deputy"), digest=shown.digest)
    assert done.undone == 6 and done.plan.digest == shown.digest
    assert role_names(company, "mona") == set()
    assert role_names(company, "hanna") == {"hr"}
    assert token_revoked(company, company.exfil) and not token_revoked(company, company.ci)
    with company.services.db.read() as conn:
        tenant = repo.tenant_by_id(conn, company.tenant_id)
        assert tenant.policy.get("customer_limit", None) != 999_999
        assert tenant.policy["restore_window_hours"] == 48  # deputy's later change stands
        boss_role = super_admins.super_admin_role(conn, company.tenant_id, company["boss"])
        assert boss_role is not None and boss_role.rank == "primary"  # back with boss, who stays frozen
        assert super_admins.super_admin_role(conn, company.tenant_id, company["sam"]) is None
        assert conn.execute(select(roles.c.id).where(roles.c.tenant_id == company.tenant_id, roles.c.member_id == company["tina"])).first() is None
        actions = list(conn.execute(select(audit_events.c.action).where(audit_events.c.tenant_id == company.tenant_id).order_by(audit_events.c.seq.desc()).limit(1)).scalars())
        assert actions == ["rollback.applied"]
        assert "member.rolled_back" in set(conn.execute(select(outbox.c.topic).where(outbox.c.tenant_id == company.tenant_id)).scalars())
        verdict = audit_q.verify_chain(conn, tenant, repo_actor(company, conn))
    assert verdict.ok
    assert ranks(company) == {"deputy": "backup"}  # boss is frozen and not counted; deputy holds power
    with pytest.raises(Conflict) as again:
        act(company, "deputy", rollback.apply, "boss", since=company.since, totp=code(company, "deputy"))
    assert again.value.code == "nothing_to_roll_back"
    # The rollback's own changes are the applier's: a rollback of boss shows them as superseding.
    after = plan(company, "deputy", "boss", company.since)
    assert after.to_undo == 0


def repo_actor(company, conn):
    from offboard.actions.context import resolve_actor

    return resolve_actor(conn, company.tenant_id, "deputy", now=company.services.clock.now())


def test_r_exc_1_a_pending_escrow_handover_is_cancelled_and_power_comes_back_from_the_custodian(services):
    company = make_company(services, profile="feishu", policy={"admin_handover": "escrow"})
    services.clock.advance(minutes=5)
    since = since_text(company)
    services.clock.advance(minutes=1)
    act(company, "boss", handover.start, to="sam", custodian="ivan", totp=code(company, "boss"))
    assert ranks(company) == {"deputy": "backup", "ivan": "custodian"}
    shown = plan(company, "deputy", "boss", since)
    assert [(i.subject, i.verdict) for i in shown.items] == [("handover", "undo")]
    assert shown.items[0].undo == "Cancel the handover to Sam"
    act(company, "deputy", rollback.apply, "boss", since=since, totp=code(company, "deputy"), digest=shown.digest)
    assert ranks(company) == {"boss": "primary", "deputy": "backup"}
    with services.db.read() as conn:
        assert super_admins.pending_handover(conn, company.tenant_id) is None


def test_inv_1_a_rollback_that_would_leave_no_super_admin_keeps_nothing(services):
    company = make_company(services, profile="dingtalk")
    services.clock.advance(minutes=5)
    since = since_text(company)
    services.clock.advance(minutes=1)
    act(company, "boss", role_actions.grant_role, "mona", "super_admin", rank="primary")
    act(company, "boss", freeze_actions.freeze, "deputy", reason="test")  # a freeze is not a change a rollback undoes
    act(company, "mona", freeze_actions.freeze, "boss", reason="account stolen")
    assert ranks(company) == {"mona": "primary"}
    shown = plan(company, "mona", "boss", since)
    assert [(i.subject, i.verdict) for i in shown.items] == [("role", "undo")]
    with pytest.raises(Conflict) as vacuum:
        act(company, "mona", rollback.apply, "boss", since=since, totp=code(company, "mona"), digest=shown.digest)
    assert vacuum.value.code == "last_super_admin"
    assert ranks(company) == {"mona": "primary"}


def test_r_exc_1_refusals_are_clear(stolen):
    company = stolen
    with pytest.raises(ValidationError) as bad:
        plan(company, "deputy", "boss", "yesterday")
    assert bad.value.code == "invalid_since"
    with pytest.raises(ValidationError) as future:
        plan(company, "deputy", "boss", "2999-01-01")
    assert future.value.code == "since_in_future"
    with pytest.raises(Forbidden):
        plan(company, "hanna", "boss", company.since)  # HR may not see or undo admins' changes
    with pytest.raises(Forbidden) as operator:
        act(company, None, rollback.apply, "boss", since=company.since, totp="123456")
    assert operator.value.code == "person_required"
    nothing = plan(company, "deputy", "rita", company.since)
    assert nothing.items == [] and nothing.to_undo == 0


def test_r_exc_1_cli_shows_the_plan_then_applies_it_with_the_code(stolen, capsys, monkeypatch):
    """`offboard rollback` prints the plan (in Chinese too) and changes nothing; `--apply` with the
    plan's digest and the applier's code undoes it."""
    from offboard.cli.state import STATE

    company = stolen
    if company.services.db.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised on the SQLite file once")
    db = str(company.services.db.engine.url.database)

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, "--tenant", company.slug, "rollback", "boss", "--since", company.since, "--by", "deputy", *args])
        out, err = capsys.readouterr()
        assert done.value.code in (0, None), out + err
        return out

    monkeypatch.setattr(STATE, "locale", "zh-CN")
    out = run()
    assert "移除 Mona 的 HR 角色" in out and "6 项将撤销" in out and "--apply" in out
    assert role_names(company, "mona") == {"hr"}
    data = json.loads(run("--json"))
    assert data["to_undo"] == 6
    monkeypatch.setattr(STATE, "locale", "en")
    applied = run("--apply", "--plan", data["digest"], "--totp", pyotp.TOTP(TOTP_SECRETS["deputy"]).now())  # the command runs on the system clock
    assert "Rolled back: 6 change(s) undone" in applied
    assert role_names(company, "mona") == set()
