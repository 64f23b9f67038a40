"""Policy profiles of SPEC §6: the three platforms' behaviours as presets of one engine.

`Policy` is the typed, frozen form every action reads (`uow.policy`, loaded once per unit of
work). No default is written anywhere else: each setting, its range or choices and its words
for people live in SETTINGS, and the presets in PRESETS. A tenant stores its effective values;
what differs from its profile's preset is what it overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, TypedDict

from offboard.domain.errors import ValidationError, error
from offboard.domain.vocabulary import Profile


class AdminHandover(StrEnum):
    DUAL_VERIFICATION = "dual_verification"  # wecom: both verify, then a transition window
    IMMEDIATE = "immediate"  # dingtalk: no buffer
    ESCROW = "escrow"  # feishu: a custodian holds power until a successor accepts


class CustodianPowers(StrEnum):
    """What a custodian may do while holding power in escrow (offboard.domain.handover)."""

    SECURITY = "security"  # freeze accounts, read the audit trail and the directory, plan exits
    OPERATIONS = "operations"  # and also remove members, restore, inherit, keep the directory


class DataClearing(StrEnum):
    WHOLE_ACCOUNT = "whole_account"
    SELECTIVE = "selective"
    LEVELS = "levels"


class ExitAutomation(StrEnum):
    MANUAL = "manual"
    HR_SYNC = "hr_sync"
    APPROVAL_FLOW = "approval_flow"


class CustomerTransfer(StrEnum):
    ASYNC_24H = "async_24h"
    IMMEDIATE = "immediate"


class FilePolicy(StrEnum):
    TRANSFER = "transfer"
    ARCHIVE = "archive"
    DELETE = "delete"


@dataclass(frozen=True)
class Setting:
    key: str
    label_en: str
    label_zh: str
    choices: type[StrEnum] | None = None
    low: int | None = None
    high: int | None = None
    unit: str = ""

    def check(self, value: Any) -> Any:
        if self.choices is not None:
            try:
                return self.choices(value)
            except ValueError:
                raise error(
                    ValidationError,
                    "invalid_policy_value",
                    "Policy setting {key} must be one of: {choices}.",
                    key=self.key,
                    choices=", ".join(c.value for c in self.choices),
                ) from None
        low, high = self.low, self.high  # a setting without choices has both bounds
        if isinstance(value, bool) or not isinstance(value, int) or low is None or high is None or not low <= value <= high:
            raise error(
                ValidationError,
                "invalid_policy_value",
                "Policy setting {key} must be a whole number from {low} to {high}.",
                key=self.key,
                low=self.low,
                high=self.high,
            )
        return value

    def parse(self, text: str) -> Any:
        """A value typed as text (the CLI's KEY=VALUE)."""
        text = text.strip()
        if self.choices is None and (text.isascii() and text.lstrip("-").isdigit()):
            return self.check(int(text))
        return self.check(text)


# Chat retention is the 180-day legal floor (R-LAW-2, upward only); the restore window is at
# most 30 days (R-EXIT-6); the old super admin's transition window is at most 90 days (R-ADM-2).
SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("restore_window_hours", "Restore window", "误操作恢复期", low=1, high=30 * 24, unit="h"),
        Setting("chat_retention_days", "Chat retention after exit", "聊天记录留存期", low=180, high=36500, unit="d"),
        Setting("customer_transfer", "Customer transfer", "客户转接方式", choices=CustomerTransfer),
        Setting("customer_limit", "Customers per member at most", "每人客户上限", low=1, high=1_000_000),
        Setting("file_policy", "Files and documents of a leaver", "离职成员文件处理", choices=FilePolicy),
        Setting("admin_handover", "Super admin handover", "超级管理员交接方式", choices=AdminHandover),
        Setting("custodian_powers", "A custodian's powers in escrow", "临时托管人的权限", choices=CustodianPowers),
        Setting("emergency_window_days", "Old super admin's emergency window", "原管理员应急操作窗口", low=0, high=90, unit="d"),
        Setting("data_clearing", "Data clearing", "数据清除方式", choices=DataClearing),
        Setting("exit_automation", "How exits start", "离职触发方式", choices=ExitAutomation),
    )
}


@dataclass(frozen=True)
class Policy:
    restore_window_hours: int
    chat_retention_days: int
    customer_transfer: CustomerTransfer
    customer_limit: int
    file_policy: FilePolicy
    admin_handover: AdminHandover
    custodian_powers: CustodianPowers
    emergency_window_days: int
    data_clearing: DataClearing
    exit_automation: ExitAutomation

    @classmethod
    def of(cls, profile: str, stored: Mapping[str, Any] | None = None) -> Policy:
        """The tenant's policy: its profile's preset with the stored values over it. Stored
        values were checked when written; a key of an older version is ignored."""
        values = asdict(PRESETS[_profile(profile)])
        for key, value in (stored or {}).items():
            if key in SETTINGS:
                values[key] = SETTINGS[key].check(value)
        return cls(**values)

    def changed(self, changes: Mapping[str, Any]) -> Policy:
        """A copy with `changes` applied; an unknown key or a bad value is refused, nothing changed."""
        values = asdict(self)
        for key, value in changes.items():
            if key not in SETTINGS:
                raise error(
                    ValidationError,
                    "unknown_policy_setting",
                    "Unknown policy setting {key}; the settings are: {keys}.",
                    key=key,
                    keys=", ".join(SETTINGS),
                )
            values[key] = SETTINGS[key].check(value)
        return Policy(**values)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: (v.value if isinstance(v := getattr(self, f.name), StrEnum) else v) for f in fields(self)}

    def overrides(self, profile: str) -> dict[str, Any]:
        """What differs from the profile's preset."""
        base = PRESETS[_profile(profile)].as_dict()
        return {k: v for k, v in self.as_dict().items() if base[k] != v}


class _Common(TypedDict):
    restore_window_hours: int
    chat_retention_days: int
    file_policy: FilePolicy
    customer_limit: int
    emergency_window_days: int
    custodian_powers: CustodianPowers


_COMMON = _Common(restore_window_hours=24, chat_retention_days=180, file_policy=FilePolicy.TRANSFER, customer_limit=20000, emergency_window_days=7, custodian_powers=CustodianPowers.OPERATIONS)

PRESETS: dict[Profile, Policy] = {
    Profile.WECOM: Policy(
        **_COMMON, admin_handover=AdminHandover.DUAL_VERIFICATION, data_clearing=DataClearing.WHOLE_ACCOUNT, exit_automation=ExitAutomation.MANUAL, customer_transfer=CustomerTransfer.ASYNC_24H
    ),
    Profile.DINGTALK: Policy(
        **_COMMON, admin_handover=AdminHandover.IMMEDIATE, data_clearing=DataClearing.SELECTIVE, exit_automation=ExitAutomation.HR_SYNC, customer_transfer=CustomerTransfer.IMMEDIATE
    ),
    Profile.FEISHU: Policy(
        **_COMMON, admin_handover=AdminHandover.ESCROW, data_clearing=DataClearing.LEVELS, exit_automation=ExitAutomation.APPROVAL_FLOW, customer_transfer=CustomerTransfer.IMMEDIATE
    ),
}


def _profile(profile: str) -> Profile:
    try:
        return Profile(profile)
    except ValueError:
        raise error(
            ValidationError,
            "unknown_profile",
            "Unknown policy profile {profile}; choose one of: {choices}.",
            profile=profile,
            choices=", ".join(p.value for p in Profile),
        ) from None


def preset(profile: str) -> dict[str, Any]:
    """The preset of a profile as plain values (a copy)."""
    return PRESETS[_profile(profile)].as_dict()


def apply_overrides(policy: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values with validated overrides; unknown keys and bad values are refused."""
    base = Policy(**{k: SETTINGS[k].check(v) for k, v in policy.items() if k in SETTINGS})
    return base.changed(overrides).as_dict()
