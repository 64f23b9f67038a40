"""Issue 8 item 5, SPEC §6: the typed policy, shown beside the three presets and changed with
an audit of old and new values; out-of-range values are refused with the range, nothing changed."""

from __future__ import annotations

import re
from datetime import datetime

import pyotp
import pytest
from fastapi.testclient import TestClient

from offboard.actions import tokens as token_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.actions.members import set_credentials
from offboard.actions.policy import parse_assignments, set_policy
from offboard.queries.policy import show_policy
from offboard.api.app import create_app
from offboard.domain.errors import OffboardError
from tests.support.db import actions_since, audit_seq, snapshot
from tests.support.exits import TOTP_SECRETS, ledger, make_company, start


def _side_record(services, slug: str, action: str) -> dict:
    from sqlalchemy import select

    from offboard.store.tables import audit_events, audit_side, tenants

    with services.db.read() as conn:
        tid = conn.execute(select(tenants.c.id).where(tenants.c.slug == slug)).scalar_one()
        seq = conn.execute(select(audit_events.c.seq).where(audit_events.c.tenant_id == tid, audit_events.c.action == action).order_by(audit_events.c.seq.desc())).scalars().first()
        return conn.execute(select(audit_side.c.details).where(audit_side.c.tenant_id == tid, audit_side.c.seq == seq)).scalar_one()


def test_spec_6_policy_shows_every_setting_beside_the_three_presets(services):
    company = make_company(services, profile="wecom", policy={"customer_limit": 5000})
    with tenant_read(services, company.slug, "hanna") as (conn, tenant, actor):
        view = show_policy(conn, tenant, actor)
    by_key = {s.key: s for s in view.settings}
    assert view.profile == "wecom" and len(by_key) == 10
    assert by_key["customer_transfer"].presets == {"wecom": "async_24h", "dingtalk": "immediate", "feishu": "immediate"}
    assert by_key["admin_handover"].presets == {"wecom": "dual_verification", "dingtalk": "immediate", "feishu": "escrow"}
    assert by_key["customer_limit"].value == 5000 and by_key["customer_limit"].overridden
    assert view.overrides == {"customer_limit": 5000}
    assert by_key["chat_retention_days"].allowed == "180-36500 d"


def test_spec_6_a_change_is_audited_with_its_old_and_new_value_and_takes_effect_at_once(services):
    """Switching a wecom tenant's customers to immediate transfer: the next exit moves them at
    once instead of waiting 24 h (the actions read uow.policy, not a default of their own)."""
    company = make_company(services, profile="wecom")
    seq = audit_seq(services, company.slug)
    with tenant_transaction(services, company.slug, "boss") as uow:
        set_policy(uow, parse_assignments(["customer_transfer=immediate", "restore_window_hours=48", "customer_limit=20000"]))
    assert actions_since(services, company.slug, seq) == ["policy.changed"]
    details = _side_record(services, company.slug, "policy.changed")
    assert details["changes"] == {
        "customer_transfer": {"before": "async_24h", "after": "immediate"},
        "restore_window_hours": {"before": 24, "after": 48},
    }  # an unchanged value (customer_limit) is not recorded as a change
    exit_ = start(company, "leo")
    assert {row.state for row in ledger(company, exit_.id) if row.kind == "external_contact"} == {"done"}
    assert exit_.restore_until > exit_.effective_at
    window = datetime.fromisoformat(exit_.restore_until) - datetime.fromisoformat(exit_.effective_at)
    assert window.total_seconds() == 48 * 3600


@pytest.mark.parametrize(
    ("pair", "code", "words"),
    [
        ("chat_retention_days=179", "invalid_policy_value", "from 180 to 36500"),
        ("restore_window_hours=721", "invalid_policy_value", "from 1 to 720"),
        ("customer_limit=lots", "invalid_policy_value", "whole number"),
        ("customer_transfer=later", "invalid_policy_value", "async_24h, immediate"),
        ("colour=blue", "unknown_policy_setting", "customer_limit"),
        ("customer_limit", "invalid_assignment", "KEY=VALUE"),
    ],
)
def test_spec_6_bad_values_are_refused_with_the_allowed_range_and_nothing_changes(services, pair, code, words):
    company = make_company(services, profile="feishu")
    before = snapshot(services)
    with pytest.raises(OffboardError) as refused:
        with tenant_transaction(services, company.slug, "boss") as uow:
            set_policy(uow, parse_assignments([pair]))
    assert refused.value.code == code and words in refused.value.render("en")
    assert snapshot(services) == before


def test_spec_3_2_only_a_super_admin_or_the_operator_changes_the_policy(services):
    company = make_company(services)
    for userid in ("hanna", "ivan", "tina"):
        with pytest.raises(OffboardError) as refused:
            with tenant_transaction(services, company.slug, userid) as uow:
                set_policy(uow, {"customer_limit": 10})
        assert refused.value.code == "forbidden"
    with tenant_transaction(services, company.slug) as uow:  # the operator
        assert {s.key: s.value for s in set_policy(uow, {"customer_limit": 10}).settings}["customer_limit"] == 10


def test_spec_6_policy_over_http_and_in_the_console(services, clock):
    """GET and PATCH /api/v1/policy; the console page lists the three presets side by side and
    marks what this enterprise overrides."""
    company = make_company(services, profile="wecom")
    with tenant_transaction(services, company.slug, "boss") as uow:
        token = token_actions.create_token(uow, name="admin", service=False, scopes=["read_directory", "manage_admins"]).token
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    with TestClient(create_app(services)) as client:
        changed = client.patch("/api/v1/policy", headers=headers, json={"customer_limit": 8000})
        assert changed.status_code == 200 and changed.json()["overrides"] == {"customer_limit": 8000}
        refused = client.patch("/api/v1/policy", headers=headers, json={"customer_limit": True})
        assert refused.status_code == 422 and refused.json()["error"] == "invalid_policy_value"
        assert client.get("/api/v1/policy", headers=headers).json()["values"]["customer_limit"] == 8000

        with tenant_transaction(services, company.slug) as uow:
            set_credentials(uow, "hanna", password="pw-hanna-123456")
        client.get("/login")
        client.post("/login", data={"tenant": company.slug, "userid": "hanna", "password": "pw-hanna-123456", "pre": client.cookies["ob_pre"]})
        page = client.get("/login/totp")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        client.post("/login/totp", data={"code": pyotp.TOTP(TOTP_SECRETS["hanna"]).at(clock.now()), "csrf": csrf})
        html = client.get("/settings/policy", headers={"Accept-Language": "zh-CN"}).text
        for words in ("基于企业微信", "钉钉", "飞书", "异步：24 小时后自动接替，客户可拒绝", "与预设不同", "8000"):
            assert words in html, words
        assert "<select" not in html  # HR reads the policy; only a super admin changes it
