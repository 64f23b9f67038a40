"""Power changing hands (SPEC R-ADM-1..4, R-EXC-1): the states of a super admin's handover, the
powers held outside the role table (the old super admin's emergency window, a custodian's
escrow), and what a frozen account or enterprise may still do.

Plain data and rules; the actions in offboard.actions.handover and offboard.actions.freeze
apply them under the tenant lock.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum

from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, error
from offboard.domain.policy import AdminHandover, CustodianPowers

# The one-time acceptance link of a handover (the QR code the nominee scans) is good this long.
LINK_VALID = timedelta(hours=24)


def link_digest(secret: str) -> str:
    """What the database keeps of an acceptance link: its SHA-256, never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


class HandoverState(StrEnum):
    PENDING = "pending"  # waiting for the nominee (escrow: the custodian holds power meanwhile)
    COMPLETED = "completed"  # power moved; the emergency window, if any, runs from completed_at
    CANCELLED = "cancelled"  # dropped by the old super admin before the nominee accepted
    REVERTED = "reverted"  # undone by the old super admin inside the emergency window
    EXPIRED = "expired"  # the link lapsed unanswered


# R-ADM-2: revert the handover (checked by the handover itself), freeze an account, read the
# audit trail. Nothing else.
EMERGENCY_POWERS: frozenset[Action] = frozenset({Action.FREEZE, Action.READ_AUDIT})

# Feishu's escrow (临时托管): what a custodian may do while holding power, by the policy. Never
# the handover, the backup admin, the policy, role grants, tokens or a departed member's chats.
CUSTODIAN_POWERS: dict[CustodianPowers, frozenset[Action]] = {
    CustodianPowers.SECURITY: frozenset({Action.FREEZE, Action.READ_AUDIT, Action.READ_DIRECTORY, Action.PLAN_EXIT}),
    CustodianPowers.OPERATIONS: frozenset({Action.FREEZE, Action.READ_AUDIT, Action.READ_DIRECTORY, Action.PLAN_EXIT, Action.START_REMOVAL, Action.RESTORE, Action.INHERIT, Action.MANAGE_DIRECTORY}),
}


def completes_at_once(mode: AdminHandover) -> bool:
    """dingtalk: power moves on the old super admin's verification alone, no window."""
    return mode == AdminHandover.IMMEDIATE


def window_until(mode: AdminHandover, completed_at: datetime, days: int) -> datetime | None:
    """wecom: the old super admin keeps emergency powers `days` after the handover."""
    if mode != AdminHandover.DUAL_VERIFICATION or days <= 0:
        return None
    return completed_at + timedelta(days=days)


def check_link(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is None or now >= expires_at:
        raise error(Conflict, "handover_link_expired", "This acceptance link has expired; ask the super admin to start the handover again.")
