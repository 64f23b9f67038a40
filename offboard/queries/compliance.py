"""The compliance report of a member's exit (SPEC §8, R-LAW-1..4): what of their data is kept,
sealed, erased or exported, under which rule, until when, who accessed it, and every audit
event about the member and their exits with its RFC 9162 inclusion proof in a signed
checkpoint, checked here and checkable by anyone with the verifier key alone: SHA-256(0x00 ||
core) is the leaf, the proof leads from it to the root the checkpoint signs.

Reads a bounded number of events (the newest MAX_EVENTS, shown oldest first) in one query, and the tree nodes of
their proofs a chunk of events per query.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from offboard.audit import merkle, note
from offboard.domain.authz import Action, Actor, require
from offboard.queries import audit_text as text
from offboard.queries.audit import resolve
from offboard.queries.data_lifecycle import MemberData, member_data
from offboard.store import audit_log, audit_tree, repo
from offboard.store.audit_tree import StoredCheckpoint
from offboard.store.rows import AnyRow
from offboard.store.tables import exits

FORMAT = "offboard-compliance-report/1"
MAX_EVENTS = 2000
CHUNK = 200  # events whose proof nodes are read in one query

# The rule each kind of event carries out (SPEC §4-§8): the report's "under which rule".
RULES: dict[str, str] = {
    "exit.planned": "R-ORG-4",
    "exit.started": "R-EXIT-1",
    "exit.scheduled": "R-EXIT-8",
    "exit.cancelled": "R-EXIT-8",
    "exit.rescheduled": "R-EXIT-8",
    "exit.took_effect": "R-EXIT-1",
    "member.access_cut": "R-EXIT-1",
    "exit.resources_moved": "R-ORG-4",
    "transfer.result": "R-ORG-5",
    "transfer.results": "R-ORG-5",
    "transfer.reassigned": "R-ORG-5",
    "transfer.taken_over": "R-ORG-5",
    "exit.inherited": "R-ORG-5",
    "exit.restored": "R-EXIT-6",
    "reimbursements.closed": "SPEC §7",
    "grants.acknowledged": "R-POST-1",
    "devices.wiped": "SPEC §7",
    "checklist.attested": "SPEC §7",
    "exit.signed_off": "SPEC §7",
    "exit.finalized": "R-LAW-3",
    "exit.exported": "SPEC §8",
    "chats.read": "R-DATA-1",
    "chats.exported": "R-DATA-1",
    "hold.placed": "R-LAW-2",
    "hold.released": "R-LAW-2",
    "erasure.requested": "R-LAW-1",
    "erasure.done": "R-LAW-1",
    "data.subject_access": "R-LAW-1",
    "data.backup_export": "R-DATA-4",
    "report.exported": "SPEC §8",
}
# Events that take the member's data out of the system, or read it.
ACCESSES = frozenset({"chats.read", "chats.exported", "data.subject_access", "data.backup_export", "exit.exported", "report.exported"})
# Events whose details hold a reason a person typed (others name a rule's path there, a key).
REASONED = frozenset({"exit.started", "exit.scheduled", "exit.cancelled", "exit.restored", "chats.read", "chats.exported", "hold.placed", "hold.released", "erasure.requested", "data.backup_export"})
# Why a kind of record is kept (queries.data_lifecycle.Kept.why), as the rule that keeps it.
KEPT_RULES: dict[str, str] = {
    "employed": "R-LAW-2",
    "retention": "R-LAW-2",
    "file_policy": "R-DATA-2",
    "compliant_deletion": "R-DATA-3",
    "until_erasure": "R-LAW-1",
    "hold": "R-LAW-2",
    "erased": "R-LAW-1",
}


@dataclass(frozen=True)
class ProvenEvent:
    seq: int
    at: str  # in the enterprise's time zone
    action: str
    sentence: str
    rule: str | None
    reason: str | None  # the reason stated with it (a chat read, a hold, an erasure request)
    core: str  # the hashed core, exactly
    leaf_hash: str  # base64 of SHA-256(0x00 || core)
    proof: list[str]  # base64, leaf first; empty when the event is not in the checkpoint yet
    proven: bool  # the proof leads from the leaf to the checkpoint's root


@dataclass(frozen=True)
class ExitSummary:
    id: int
    type: str
    reason_category: str
    trigger: str
    state: str
    effective_at: datetime
    restore_until: datetime | None
    finalized_at: datetime | None


@dataclass(frozen=True)
class ComplianceReport:
    format: str
    enterprise: str
    timezone: str
    generated_at: datetime
    data: MemberData
    kept_rules: dict[str, str]  # record kind -> the rule it is kept or erased under
    names: dict[str, str]  # who placed the holds and filed the requests: audit id -> name
    exits: list[ExitSummary]
    events: list[ProvenEvent]
    checkpoint: str | None  # the signed note every proof leads to
    signed_size: int
    verifier_key: str | None  # checks the checkpoint's signature
    unproven: int  # events not in the checkpoint (signed by the next one)
    truncated: bool  # more than MAX_EVENTS events: the newest are shown

    @property
    def accesses(self) -> list[ProvenEvent]:
        return [e for e in self.events if e.action in ACCESSES]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _proofs(conn: Connection, tenant_id: int, seqs: list[int], signed: StoredCheckpoint | None) -> dict[int, list[bytes]]:
    """The inclusion proof of each event in the checkpoint, the nodes of CHUNK events per read."""
    if signed is None:
        return {}
    inside = [s for s in seqs if s <= signed.size]
    proofs: dict[int, list[bytes]] = {}
    for lo in range(0, len(inside), CHUNK):
        ranges = {seq: merkle.inclusion_ranges(seq - 1, signed.size) for seq in inside[lo : lo + CHUNK]}
        nodes = audit_tree.read_nodes(conn, tenant_id, {n for r in ranges.values() for n in merkle.needed(r)})
        proofs.update({seq: merkle.prove(r, lambda _wanted: nodes) for seq, r in ranges.items()})
    return proofs


def compliance_report(conn: Connection, tenant: AnyRow, actor: Actor, ref: int | str, *, now: datetime, locale: str) -> ComplianceReport:
    """The report of `ref` (a member id or userid) as of now, proofs relative to the latest checkpoint."""
    require(actor, Action.READ_AUDIT)
    member = repo.member_ref(conn, tenant.id, ref)
    data = member_data(conn, tenant, actor, member.id)
    exit_rows = list(conn.execute(select(exits).where(exits.c.tenant_id == tenant.id, exits.c.member_id == member.id).order_by(exits.c.id)))
    refs = (f"member:{member.id}", *(f"exit:{e.id}" for e in exit_rows))
    stored = audit_log.about(conn, tenant.id, refs, MAX_EVENTS + 1)
    truncated, stored = len(stored) > MAX_EVENTS, stored[-MAX_EVENTS:]
    signed = audit_tree.latest_checkpoint(conn, tenant.id)
    keys = audit_tree.signing_keys(conn, tenant.id)
    verifier = note.verifier_key(keys[0].name, bytes.fromhex(keys[0].public_key)) if keys else None
    extras = {e.core.seq: text.detail_refs(e.core.action, e.side_details) for e in stored}
    people = {r.requested_by for r in data.requests} | {h.placed_by for h in data.holds} | {h.released_by for h in data.holds if h.released_by}
    parties = resolve(conn, tenant.id, people | {e.core.actor for e in stored} | {t for e in stored for t in e.core.targets} | {r for x in extras.values() for r in x}, locale)
    proofs = _proofs(conn, tenant.id, [e.core.seq for e in stored], signed)
    tz = tenant.timezone
    events = []
    for e in stored:
        c, details = e.core, e.side_details or {}
        leaf = bytes.fromhex(e.hash)
        proof = proofs.get(c.seq, [])
        proven = signed is not None and c.seq in proofs and merkle.verify_inclusion(c.seq - 1, signed.size, leaf, proof, signed.root)
        reason = details.get("reason") if c.action in REASONED else None
        said = text.sentence(c.action, parties[c.actor], [parties[t] for t in c.targets], details, locale, tz, [parties[r] for r in extras[c.seq]])
        events.append(
            ProvenEvent(
                c.seq,
                text.tenant_time(c.at, tz, seconds=True),
                c.action,
                said,
                RULES.get(c.action),
                reason if isinstance(reason, str) else None,
                c.encode().decode(),
                _b64(leaf),
                [_b64(p) for p in proof],
                proven,
            )
        )
    return ComplianceReport(
        FORMAT,
        tenant.name,
        tz,
        now,
        data,
        {k.kind.value: KEPT_RULES[k.why] for k in data.kept},
        {ref: parties[ref].name for ref in people},
        [ExitSummary(e.id, e.type, e.reason_category, e.trigger, e.state, e.effective_at, e.restore_until, e.finalized_at) for e in exit_rows],
        events,
        signed.note if signed else None,
        signed.size if signed else 0,
        verifier,
        sum(1 for e in events if not e.proven),
        truncated,
    )
