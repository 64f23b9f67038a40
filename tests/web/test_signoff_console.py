"""SPEC §7 in the console: the sign-off button is disabled, with the reason beside it, while
the rule would refuse it (open checklist items, the same person signing twice)."""

from __future__ import annotations

import re

BUTTON = re.compile(r'<button class="primary" type="submit" name="role" value="(hr|it)"( disabled aria-describedby="signoff-why-\1")?>')
WHY = re.compile(r'<span class="hint" id="signoff-why-(hr|it)">([^<]+)</span>')


def test_spec_7_sign_off_is_disabled_with_the_reason_while_items_are_open(demo_company):
    """chenjing's exit has just taken effect: her customers wait, so HR may not sign off yet; the
    page says which items are open, in HR's words, and the button cannot be pressed."""
    page = demo_company.signed_in("wangfang").get(f"/exits/{demo_company.exit_id}?tab=checklist").text
    buttons = dict((role, bool(disabled)) for role, disabled in BUTTON.findall(page))
    assert buttons == {"hr": True}  # wangfang holds HR only
    why = dict(WHY.findall(page))
    assert set(why) == {"hr"} and "外部联系人移交确认" in why["hr"] and "external_contacts" not in why["hr"]
    english = demo_company.signed_in("zhaolei", locale="en")
    assert english.get(f"/exits/{demo_company.exit_id}").status_code == 403  # a successor reads no exit page
