"""The 12-item exit checklist of SPEC §7, verified from the system's own facts wherever it
has them, attested with evidence where it cannot know, signed off by HR and IT."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from offboard.domain.errors import Conflict, Forbidden, OffboardError, Term, Terms, ValidationError, error
from offboard.domain.vocabulary import Role
from offboard.i18n.glossary import GLOSSARY


@dataclass(frozen=True)
class Item:
    number: int
    key: str
    title_zh: str
    title_en: str
    owner: Role  # HR or IT
    check: str  # system | attest | finalization


def _titles(key: str) -> tuple[str, str]:
    """An item's title in zh-CN and en, from the glossary every page and message uses."""
    zh, en = GLOSSARY["checklist_item"][key]
    return zh, en


ITEMS: tuple[Item, ...] = (
    Item(1, "external_contacts", *_titles("external_contacts"), Role.HR, "system"),
    Item(2, "customer_groups", *_titles("customer_groups"), Role.HR, "system"),
    Item(3, "attendance_archived", *_titles("attendance_archived"), Role.HR, "system"),
    Item(4, "reimbursements_closed", *_titles("reimbursements_closed"), Role.HR, "system"),
    Item(5, "approvals_moved", *_titles("approvals_moved"), Role.HR, "system"),
    Item(6, "admin_rights", *_titles("admin_rights"), Role.IT, "system"),
    Item(7, "self_built_apps", *_titles("self_built_apps"), Role.IT, "system"),
    Item(8, "third_party_reauth", *_titles("third_party_reauth"), Role.IT, "system"),
    Item(9, "documents", *_titles("documents"), Role.IT, "system"),
    Item(10, "calendars", *_titles("calendars"), Role.IT, "system"),
    Item(11, "chats_sealed", *_titles("chats_sealed"), Role.IT, "finalization"),
    Item(12, "access_revoked", *_titles("access_revoked"), Role.IT, "system"),
)
BY_KEY = {item.key: item for item in ITEMS}
SIGNING_ROLES = (Role.HR, Role.IT)


@dataclass(frozen=True)
class Facts:
    """Counts read from the database for one exit; zero means the item is satisfied."""

    open_by_kind: Mapping[str, Mapping[str, int]]  # kind -> {waiting|unassigned|refused|acceptor_full: n} in this exit
    owned_by_kind: Mapping[str, int]  # resources of a kind still owned by the leaver (waiting ones included)
    unarchived_attendance: int
    open_reimbursements: int
    admin_roles: int
    unacknowledged_grants: int
    live_sessions: int
    live_tokens: int
    devices_not_wiped: int
    sealed: bool
    attested: frozenset[str]  # custom items attested with evidence


@dataclass(frozen=True)
class Status:
    item: Item
    done: bool
    detail: Mapping[str, int]


def _open(facts: Facts, *kinds: str) -> dict[str, int]:
    """Per kind: resources waiting or unassigned in the exit, plus any the leaver still owns
    otherwise (a waiting one is still owned by the leaver: it is counted once)."""
    detail: dict[str, int] = {}
    for kind in kinds:
        states = facts.open_by_kind.get(kind, {})
        waiting = states.get("waiting", 0)
        detail[kind] = sum(states.values()) + max(0, facts.owned_by_kind.get(kind, 0) - waiting)
    return detail


def evaluate(facts: Facts, custom: tuple[Item, ...] = ()) -> list[Status]:
    details: dict[str, dict[str, int]] = {
        "external_contacts": _open(facts, "external_contact"),
        "customer_groups": _open(facts, "customer_group"),
        "attendance_archived": {"unarchived": facts.unarchived_attendance},
        "reimbursements_closed": {"open": facts.open_reimbursements},
        "approvals_moved": _open(facts, "approval_template", "approval_task"),
        "admin_rights": {"admin_roles": facts.admin_roles},
        "self_built_apps": _open(facts, "self_built_app"),
        "third_party_reauth": {"unacknowledged": facts.unacknowledged_grants},
        "documents": _open(facts, "document"),
        "calendars": _open(facts, "calendar"),
        "chats_sealed": {"sealed": int(facts.sealed)},
        "access_revoked": {"sessions": facts.live_sessions, "tokens": facts.live_tokens, "devices": facts.devices_not_wiped},
    }
    result = []
    for item in ITEMS:
        detail = details[item.key]
        done = facts.sealed if item.key == "chats_sealed" else not any(detail.values())
        result.append(Status(item, done, detail))
    for item in custom:
        result.append(Status(item, item.key in facts.attested, {}))
    return result


def open_items_for_signoff(statuses: list[Status]) -> list[Status]:
    """Sign-off needs every item done except 11, which finalization completes itself."""
    return [s for s in statuses if not s.done and s.item.key != "chats_sealed"]


def signoff_refusal(role: str, signer_id: int, signer_roles: set[str], existing: Mapping[str, int], statuses: list[Status]) -> OffboardError | None:
    """Why this signer may not sign off as `role` now, or None when they may (the two-person
    rule: one HR member and one different IT member, once every item but 11 is done)."""
    if role not in (r.value for r in SIGNING_ROLES):
        return error(ValidationError, "invalid_signoff_role", "Sign off as {hr} or {it}.", hr=Term("role", "hr"), it=Term("role", "it"))
    if role not in signer_roles:
        return error(Forbidden, "signoff_role_missing", "Signing off as {role} needs the {role} role.", role=Term("role", role))
    if role in existing:
        return error(Conflict, "already_signed", "This exit already has its {role} sign-off.", role=Term("role", role))
    if signer_id in existing.values():
        return error(Conflict, "same_signer", "HR and IT sign-offs must come from two different people.")
    still_open = open_items_for_signoff(statuses)
    if still_open:
        return error(
            Conflict,
            "checklist_open",
            "Sign-off needs every checklist item but 11 done; still open: {items}.",
            items=Terms("checklist_item", tuple(s.item.key for s in still_open)),
        )
    return None


def check_signoff(role: str, signer_id: int, signer_roles: set[str], existing: Mapping[str, int], statuses: list[Status]) -> None:
    refusal = signoff_refusal(role, signer_id, signer_roles, existing, statuses)
    if refusal is not None:
        raise refusal
