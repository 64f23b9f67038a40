"""Issue 9: a refused form keeps what was typed, and cancelling a scheduled exit asks first."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from offboard.actions import exits as exit_actions
from offboard.actions.context import tenant_transaction
from tests.web.conftest import CSRF_INPUT

REASON = "选错了人，误删陈静"


def test_r_exit_6_a_wrong_code_keeps_the_typed_reason_of_the_restore(demo_company):
    client = demo_company.signed_in("wangfang")
    page = client.get(f"/exits/{demo_company.exit_id}").text
    csrf = CSRF_INPUT.search(page).group(1)
    refused = client.post(f"/exits/{demo_company.exit_id}/restore", data={"csrf": csrf, "totp": "000000", "reason": REASON})
    assert refused.status_code == 401
    textarea = re.search(r'<textarea name="reason"[^>]*>([^<]*)</textarea>', refused.text)
    assert textarea and html.unescape(textarea.group(1)) == REASON
    assert "bad_totp" in refused.text  # the code, as a small reference beside the sentence


def test_r_exit_8_cancelling_a_scheduled_exit_asks_first_and_names_the_member(demo_company):
    with tenant_transaction(demo_company.services, "demo", by="wangfang") as uow:
        scheduled = exit_actions.start_exit(uow, "sunli", type="removal", reason_category="contract_end", reason="合同到期", effective_at=uow.now + timedelta(days=7))
    page = demo_company.signed_in("wangfang").get(f"/exits/{scheduled.id}").text
    confirm = re.search(r'<details class="confirm" id="cancel-exit">(.*?)</details>', page, re.S)
    assert confirm, "the cancel button opens a confirmation first"
    assert "孙丽" in confirm.group(1) and "确定取消离职" in confirm.group(1) and f'action="/exits/{scheduled.id}/cancel"' in confirm.group(1)
