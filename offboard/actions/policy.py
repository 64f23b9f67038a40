"""The tenant's policy (SPEC §6): shown beside the three presets, changed setting by setting
with the old and the new value in the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, update

from offboard.actions.context import UnitOfWork
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import ValidationError, error
from offboard.domain.policy import PRESETS, SETTINGS, Policy
from offboard.store.tables import tenants


@dataclass(frozen=True)
class SettingView:
    key: str
    label_en: str
    label_zh: str
    value: Any
    presets: dict[str, Any]  # profile -> value
    overridden: bool  # differs from the tenant's own profile
    allowed: str  # "1-720 h" or "transfer, archive, delete"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label_en": self.label_en, "label_zh": self.label_zh, "value": self.value, "presets": self.presets, "overridden": self.overridden, "allowed": self.allowed}


@dataclass(frozen=True)
class PolicyView:
    profile: str
    settings: list[SettingView]

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "values": {s.key: s.value for s in self.settings},
            "overrides": {s.key: s.value for s in self.settings if s.overridden},
            "settings": [s.as_dict() for s in self.settings],
        }


def _allowed(key: str) -> str:
    setting = SETTINGS[key]
    if setting.choices is not None:
        return ", ".join(c.value for c in setting.choices)
    return f"{setting.low}-{setting.high}{(' ' + setting.unit) if setting.unit else ''}"


def view(tenant: Row, policy: Policy) -> PolicyView:
    values, own = policy.as_dict(), PRESETS[tenant.profile].as_dict()
    presets = {profile.value: p.as_dict() for profile, p in PRESETS.items()}
    return PolicyView(
        tenant.profile, [SettingView(key, s.label_en, s.label_zh, values[key], {p: presets[p][key] for p in presets}, values[key] != own[key], _allowed(key)) for key, s in SETTINGS.items()]
    )


def show_policy(conn: Connection, tenant: Row, actor: Actor) -> PolicyView:
    """Anyone who may read the directory may read the rules it runs by."""
    require(actor, Action.READ_DIRECTORY)
    return view(tenant, Policy.of(tenant.profile, tenant.policy))


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE texts (the CLI) into typed values; each checked against its setting."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep:
            raise error(ValidationError, "invalid_assignment", "Write each change as KEY=VALUE, e.g. customer_limit=5000; got {pair!r}.", pair=pair)
        if key not in SETTINGS:
            Policy.of("wecom").changed({key: text})  # raises unknown_policy_setting with the list of keys
        changes[key] = SETTINGS[key].parse(text)
    return changes


def set_policy(uow: UnitOfWork, changes: Mapping[str, Any]) -> PolicyView:
    """Change settings (super admin or operator, SPEC §3.2); each change is audited with its
    old and new value. A value out of range names the range; nothing is changed then."""
    uow.require(Action.MANAGE_ADMINS)
    if not changes:
        raise error(ValidationError, "nothing_to_change", "Name at least one setting to change, e.g. customer_limit=5000.")
    before = uow.policy
    after = before.changed(changes)
    old, new = before.as_dict(), after.as_dict()
    diff = {k: {"before": old[k], "after": new[k]} for k in new if old[k] != new[k]}
    if diff:
        uow.conn.execute(update(tenants).where(tenants.c.id == uow.tenant_id).values(policy=new))
        uow.audit("policy.changed", [f"tenant:{uow.tenant_id}"], {"changes": diff})
        uow._policy = after
    return view(uow.tenant, after)
