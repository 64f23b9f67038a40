"""Policy profiles of SPEC §6: the three platforms' behaviours as presets of one engine."""

from __future__ import annotations

from typing import Any

from offboard.domain.errors import ValidationError, error
from offboard.domain.vocabulary import Profile

_COMMON: dict[str, Any] = {
    "restore_window_hours": 24,
    "chat_retention_days": 180,
    "file_policy": "transfer",
    "customer_limit": 20000,
    "emergency_window_days": 7,
}

PRESETS: dict[Profile, dict[str, Any]] = {
    Profile.WECOM: {
        **_COMMON,
        "admin_handover": "dual_verification",
        "data_clearing": "whole_account",
        "exit_automation": "manual",
        "customer_transfer": "async_24h",
    },
    Profile.DINGTALK: {
        **_COMMON,
        "admin_handover": "immediate",
        "data_clearing": "selective",
        "exit_automation": "hr_sync",
        "customer_transfer": "immediate",
    },
    Profile.FEISHU: {
        **_COMMON,
        "admin_handover": "escrow",
        "data_clearing": "levels",
        "exit_automation": "approval_flow",
        "customer_transfer": "immediate",
    },
}

_CHOICES = {
    "admin_handover": {"dual_verification", "immediate", "escrow"},
    "data_clearing": {"whole_account", "selective", "levels"},
    "exit_automation": {"manual", "hr_sync", "approval_flow"},
    "customer_transfer": {"async_24h", "immediate"},
    "file_policy": {"transfer", "archive", "delete"},
}

# (minimum, maximum) of integer settings. Chat retention is the 180-day legal floor
# (R-LAW-2, configurable upward only); the restore window is at most 30 days (R-EXIT-6).
_BOUNDS = {
    "restore_window_hours": (1, 30 * 24),
    "chat_retention_days": (180, 36500),
    "customer_limit": (1, 1_000_000),
    "emergency_window_days": (0, 90),
}


def preset(profile: str) -> dict[str, Any]:
    try:
        return dict(PRESETS[Profile(profile)])
    except ValueError:
        raise error(
            ValidationError,
            "unknown_profile",
            "Unknown policy profile {profile}; choose one of: {choices}.",
            profile=profile,
            choices=", ".join(p.value for p in Profile),
        ) from None


def apply_overrides(policy: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return the policy with validated overrides; unknown keys and bad values are refused."""
    result = dict(policy)
    for key, value in overrides.items():
        if key in _BOUNDS:
            low, high = _BOUNDS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise error(
                    ValidationError,
                    "invalid_policy_value",
                    "Policy setting {key} must be a whole number from {low} to {high}.",
                    key=key,
                    low=low,
                    high=high,
                )
        elif key in _CHOICES:
            if value not in _CHOICES[key]:
                raise error(
                    ValidationError,
                    "invalid_policy_value",
                    "Policy setting {key} must be one of: {choices}.",
                    key=key,
                    choices=", ".join(sorted(_CHOICES[key])),
                )
        else:
            raise error(ValidationError, "unknown_policy_setting", "Unknown policy setting {key}.", key=key)
        result[key] = value
    return result
