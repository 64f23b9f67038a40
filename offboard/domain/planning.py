"""Planning an exit (R-EXIT-5, R-ORG-4): where each kind of resource goes and why, what
blocks the exit and what to watch. The domain resolves rules per kind from a snapshot; the
database then applies them per resource, set-based."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Set
from dataclasses import asdict, dataclass, field
from typing import Any, TypeGuard

from offboard.domain.policy import PRESETS, CustomerTransfer, Policy
from offboard.i18n.glossary import Term, Terms, stored
from offboard.domain.vocabulary import LedgerState, MemberStatus, Profile, ResourceKind

K = ResourceKind

# R-ORG-4: the fallback of each kind when nobody is named and there is no manager.
FALLBACK: dict[ResourceKind, str] = {
    K.DOCUMENT: "archive",
    K.SELF_BUILT_APP: "archive",
    K.CALENDAR: "delete",
    K.INTERNAL_GROUP: "first_member",
    K.CUSTOMER_GROUP: "unassigned",
    K.EXTERNAL_CONTACT: "unassigned",
    K.DIRECT_REPORT: "unassigned",
    K.DEPARTMENT_LEADER: "unassigned",
    K.APPROVAL_TEMPLATE: "unassigned",
    K.APPROVAL_TASK: "unassigned",
}
CUSTOMER_KINDS = (K.EXTERNAL_CONTACT, K.CUSTOMER_GROUP)
NEAR_LIMIT = 0.9


@dataclass(frozen=True)
class Person:
    """A member considered as an acceptor."""

    member_id: int
    userid: str
    status: str
    leaving: bool = False  # has an open exit, or leaves in the same batch
    customers: int = 0  # external contacts owned now (for the customer limit)


@dataclass(frozen=True)
class Snapshot:
    """What the planner needs to know, read from the database in a few queries."""

    member_id: int
    userid: str
    status: str
    holds_super_admin: bool
    active_super_admins: int
    has_backup_super_admin: bool
    manager: Person | None
    owned: Mapping[ResourceKind, int]
    people: Mapping[int, Person]  # the successor and named acceptors, by id
    emptied_departments: tuple[str, ...] = ()  # names of departments the exit brings to zero
    recent_personal_tokens: int = 0
    handover_pending_to: str | None = None  # the successor a handover from the leaver waits for (R-ADM-1)
    emergency_until: str | None = None  # the end of the leaver's emergency window, enterprise time (R-ADM-2)
    policy: Policy = field(default_factory=lambda: PRESETS[Profile.WECOM])


@dataclass(frozen=True)
class Choices:
    successor_id: int | None = None
    acceptors: Mapping[ResourceKind, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"successor_id": self.successor_id, "acceptors": {k.value: v for k, v in sorted(self.acceptors.items())}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Choices:
        return cls(data.get("successor_id"), {ResourceKind(k): int(v) for k, v in (data.get("acceptors") or {}).items()})


@dataclass(frozen=True)
class Issue:
    code: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """As a plan stores it: a vocabulary value keeps its kind (offboard.i18n.glossary.stored)."""
        return {"code": self.code, "template": self.template, "params": {k: stored(v) for k, v in self.params.items()}}


@dataclass(frozen=True)
class KindPlan:
    kind: ResourceKind
    count: int
    destination: str  # member | archive | delete | first_member | unassigned
    acceptor_id: int | None
    reason: str  # acceptor | successor | manager | fallback | file_policy
    state: LedgerState  # the ledger state each resource of the kind starts in


@dataclass(frozen=True)
class ExitPlan:
    member_id: int
    kinds: tuple[KindPlan, ...]
    blockers: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    choices: Choices

    @property
    def ok(self) -> bool:
        return not self.blockers

    def kind(self, kind: ResourceKind) -> KindPlan:
        return next(k for k in self.kinds if k.kind == kind)

    def body(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "choices": self.choices.to_dict(),
            "kinds": [{**asdict(k), "kind": k.kind.value, "state": k.state.value} for k in self.kinds],
            "blockers": [i.as_dict() for i in self.blockers],
            "warnings": [i.as_dict() for i in self.warnings],
        }


def digest(plan_body: Mapping[str, Any], fingerprint: Mapping[str, Any]) -> str:
    """The plan's digest also covers a fingerprint of the data it was computed from, so an
    exit refuses a plan whose data changed since (plan_stale)."""
    payload = json.dumps({"plan": plan_body, "data": fingerprint}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _usable(person: Person | None, leaver_id: int) -> TypeGuard[Person]:
    return person is not None and person.status == MemberStatus.ACTIVE and not person.leaving and person.member_id != leaver_id


def _named_problem(person: Person | None, ref: int, leaver_id: int, role: Term) -> Issue | None:
    if person is None:
        return Issue("acceptor_invalid", "The {role} {ref} is not a member of this enterprise.", {"role": role, "ref": ref})
    if person.member_id == leaver_id:
        return Issue("acceptor_is_leaver", "The {role} cannot be the person who is leaving.", {"role": role})
    if person.status != MemberStatus.ACTIVE:
        return Issue("acceptor_invalid", "The {role} {userid} is {status}; choose an active member.", {"role": role, "userid": person.userid, "status": Term("member_status", person.status)})
    if person.leaving:
        return Issue("acceptor_leaving", "The {role} {userid} is leaving too; choose someone who stays.", {"role": role, "userid": person.userid})
    return None


def plan_exit(snapshot: Snapshot, choices: Choices, batch: Set[int] = frozenset()) -> ExitPlan:
    """Resolve every kind (R-ORG-4: named acceptor, successor, manager, fallback) with blockers and warnings.

    `batch` holds the members leaving in the same bulk exit (R-EXIT-7): one of them named as an
    acceptor or successor is passed over for the next rule, with a warning, not a blocker.
    """
    leaver = snapshot.member_id
    blockers: list[Issue] = []
    warnings: list[Issue] = []
    if snapshot.status not in (MemberStatus.ACTIVE, MemberStatus.FROZEN):
        blockers.append(Issue("member_not_present", "{userid} is {status}; only a current member can leave.", {"userid": snapshot.userid, "status": Term("member_status", snapshot.status)}))
    if snapshot.holds_super_admin:
        # R-EXIT-3: a super admin hands over first; the last one can never leave.
        if snapshot.active_super_admins <= 1:
            blockers.append(Issue("last_super_admin", "{userid} is the last active super admin; name another super admin before removing this one.", {"userid": snapshot.userid}))
        elif snapshot.handover_pending_to:
            blockers.append(
                Issue(
                    "handover_pending",
                    "{userid}'s super-admin handover to {to} waits for {to} to accept; the exit can go ahead once it is accepted (or cancel it and hand over otherwise).",
                    {"userid": snapshot.userid, "to": snapshot.handover_pending_to},
                )
            )
        else:
            blockers.append(Issue("super_admin_not_handed_over", "{userid} is a super admin: hand the role over (or have another super admin remove it) before the exit.", {"userid": snapshot.userid}))
    if snapshot.emergency_until:
        warnings.append(
            Issue(
                "emergency_window",
                "{userid} handed super-admin power over and keeps emergency powers (freeze an account, read the audit trail, take the power back) until {until}, also after leaving: they may sign in again with password and code until then.",
                {"userid": snapshot.userid, "until": snapshot.emergency_until},
            )
        )
    named: dict[int, Term] = {}
    if choices.successor_id is not None:
        named[choices.successor_id] = Term("plan_role", "successor")
    for kind, ref in choices.acceptors.items():
        named.setdefault(ref, Term("plan_role", f"acceptor.{kind.value}"))
    for ref, role in named.items():
        if ref in batch and ref != leaver:
            person = snapshot.people.get(ref)
            warnings.append(Issue("acceptor_in_batch", "The {role} {userid} leaves in the same batch; the next rule decides instead.", {"role": role, "userid": person.userid if person else ref}))
            continue
        problem = _named_problem(snapshot.people.get(ref), ref, leaver, role)
        if problem:
            blockers.append(problem)

    async_customers = snapshot.policy.customer_transfer == CustomerTransfer.ASYNC_24H
    file_policy = snapshot.policy.file_policy
    kinds: list[KindPlan] = []
    for kind in ResourceKind:
        count = int(snapshot.owned.get(kind, 0))
        kinds.append(_resolve(kind, count, snapshot, choices, async_customers, file_policy, batch))

    unassigned = [k.kind.value for k in kinds if k.count and k.destination == "unassigned"]
    if unassigned:
        warnings.append(Issue("unassigned_resources", "No acceptor for: {kinds}; they stay unassigned until someone inherits them.", {"kinds": Terms("resource_kind", tuple(unassigned))}))
    if snapshot.emptied_departments:
        warnings.append(
            Issue("departments_pending_dissolution", "These departments will have nobody left and become pending dissolution: {names}.", {"names": ", ".join(snapshot.emptied_departments)})
        )
    if not snapshot.has_backup_super_admin:
        warnings.append(Issue("no_backup_admin", "The enterprise has no backup super admin (AB roles, R-ADM-3)."))
    if snapshot.recent_personal_tokens:
        warnings.append(
            Issue("personal_tokens_in_use", "{n} personal API token(s) of the leaver were used in the last 30 days; integrations using them will stop.", {"n": snapshot.recent_personal_tokens})
        )
    contact_plan = next(k for k in kinds if k.kind == K.EXTERNAL_CONTACT)
    if contact_plan.count and contact_plan.acceptor_id is not None:
        person = snapshot.people.get(contact_plan.acceptor_id) or snapshot.manager
        limit = snapshot.policy.customer_limit
        if person is not None and person.customers + contact_plan.count >= NEAR_LIMIT * limit:
            over = max(0, person.customers + contact_plan.count - limit)
            warnings.append(
                Issue(
                    "acceptor_near_limit",
                    "{userid} would hold {total} customers (limit {limit}); {over} of them would be refused because the acceptor is full.",
                    {"userid": person.userid, "total": person.customers + contact_plan.count, "limit": limit, "over": over},
                )
            )
    return ExitPlan(leaver, tuple(kinds), tuple(blockers), tuple(warnings), choices)


def _resolve(kind: ResourceKind, count: int, snap: Snapshot, choices: Choices, async_customers: bool, file_policy: str, batch: Set[int]) -> KindPlan:
    if kind == K.DOCUMENT and file_policy in ("archive", "delete"):
        destination = "archive" if file_policy == "archive" else "delete"
        return KindPlan(kind, count, destination, None, "file_policy", _state_of(destination, kind, async_customers))
    for reason, ref in (("acceptor", choices.acceptors.get(kind)), ("successor", choices.successor_id)):
        if ref is not None and ref not in batch:
            person = snap.people.get(ref)
            if _usable(person, snap.member_id):
                return KindPlan(kind, count, "member", ref, reason, _state_of("member", kind, async_customers))
            return KindPlan(kind, count, "unassigned", None, reason, LedgerState.UNASSIGNED)  # a blocker names why
    if _usable(snap.manager, snap.member_id):
        return KindPlan(kind, count, "member", snap.manager.member_id, "manager", _state_of("member", kind, async_customers))
    destination = FALLBACK[kind]
    return KindPlan(kind, count, destination, None, "fallback", _state_of(destination, kind, async_customers))


def _state_of(destination: str, kind: ResourceKind, async_customers: bool) -> LedgerState:
    if destination == "member":
        # R-ORG-2: under the wecom profile a customer transfer waits for the 24 h takeover.
        return LedgerState.WAITING if async_customers and kind in CUSTOMER_KINDS else LedgerState.DONE
    return {
        "archive": LedgerState.KEPT,
        "delete": LedgerState.DELETED,
        "first_member": LedgerState.DONE,
        "unassigned": LedgerState.UNASSIGNED,
    }[destination]
