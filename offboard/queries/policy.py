"""The tenant's policy (SPEC §6) as it is shown: each setting beside the three presets."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection

from offboard.domain.authz import Action, Actor, require
from offboard.domain.policy import PRESETS, SETTINGS, Policy
from offboard.domain.vocabulary import SuperAdminRank
from offboard.store import super_admins
from offboard.store.rows import AnyRow


@dataclass(frozen=True)
class SettingView:
    key: str
    label_en: str
    label_zh: str
    value: int | str
    presets: dict[str, int | str]  # profile -> value
    overridden: bool  # differs from the tenant's own profile
    allowed: str  # "1-720 h" or "transfer, archive, delete"


@dataclass(frozen=True)
class PolicyView:
    profile: str
    values: dict[str, int | str]  # every setting in force
    overrides: dict[str, int | str]  # the settings that differ from the tenant's own profile
    settings: list[SettingView]
    # The backup super admin's userid (R-ADM-3); None: nobody is set, and the policy view warns.
    backup_admin: str | None = None


def _allowed(key: str) -> str:
    setting = SETTINGS[key]
    if setting.choices is not None:
        return ", ".join(c.value for c in setting.choices)
    return f"{setting.low}-{setting.high}{(' ' + setting.unit) if setting.unit else ''}"


def view(tenant: AnyRow, policy: Policy) -> PolicyView:
    values, own = policy.as_dict(), PRESETS[tenant.profile].as_dict()
    presets = {profile.value: p.as_dict() for profile, p in PRESETS.items()}
    settings = [SettingView(key, s.label_en, s.label_zh, values[key], {p: presets[p][key] for p in presets}, values[key] != own[key], _allowed(key)) for key, s in SETTINGS.items()]
    return PolicyView(tenant.profile, {s.key: s.value for s in settings}, {s.key: s.value for s in settings if s.overridden}, settings)


def show_policy(conn: Connection, tenant: AnyRow, actor: Actor) -> PolicyView:
    """Anyone who may read the directory may read the rules it runs by."""
    require(actor, Action.READ_DIRECTORY)
    backup = next((h.userid for h in super_admins.holders(conn, tenant.id) if h.rank == SuperAdminRank.BACKUP), None)
    return replace(view(tenant, Policy.of(tenant.profile, tenant.policy)), backup_admin=backup)
