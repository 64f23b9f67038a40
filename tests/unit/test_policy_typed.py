"""Issue 8 item 5: one typed Policy holds every setting and its default (SPEC §6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from offboard.domain.errors import OffboardError
from offboard.domain.policy import PRESETS, SETTINGS, Policy

ROOT = Path(__file__).resolve().parents[2] / "offboard"


def test_spec_6_no_module_reads_a_policy_setting_with_a_default_of_its_own():
    """`tenant.policy.get("customer_limit", 20000)` in three modules was the old way."""
    pattern = re.compile(r"policy(\.get\(|\[[\"'])")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in ROOT.rglob("*.py") if p.name != "policy.py" for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_spec_6_every_setting_has_a_value_in_every_preset_and_presets_are_frozen():
    for policy in PRESETS.values():
        assert set(policy.as_dict()) == set(SETTINGS)
        with pytest.raises(AttributeError):
            policy.customer_limit = 1  # type: ignore[misc]


def test_spec_6_stored_values_load_over_the_preset_and_stale_keys_are_ignored():
    policy = Policy.of("dingtalk", {"customer_limit": 9, "retired_setting": "x"})
    assert policy.customer_limit == 9 and policy.customer_transfer == "immediate"
    assert policy.overrides("dingtalk") == {"customer_limit": 9}
    with pytest.raises(OffboardError) as bad:
        Policy.of("dingtalk", {"customer_limit": 0})
    assert bad.value.code == "invalid_policy_value"
