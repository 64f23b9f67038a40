"""The tenant's policy (SPEC §6): shown beside the three presets, changed setting by setting
with the old and the new value in the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update

from offboard.actions.context import UnitOfWork
from offboard.domain.authz import Action
from offboard.queries.policy import PolicyView, view
from offboard.domain.errors import ValidationError, error
from offboard.domain.policy import SETTINGS, Policy
from offboard.store.tables import tenants


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
