"""What is kept of a member's records, until when and why, in HR's words: one table of sentences
for the console's data page and the compliance report (offboard.queries.data_lifecycle.Kept)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from offboard.domain.policy import Policy
from offboard.exports import words
from offboard.i18n import glossary, translate
from offboard.i18n import mark as _
from offboard.queries.data_lifecycle import MemberData

# How long a kind of record is kept, and why (offboard.queries.data_lifecycle.Kept.why).
UNTIL = {
    "employed": _("While employed"),
    "file_policy": _("By the file policy"),
    "compliant_deletion": _("Until a compliant deletion"),
    "until_erasure": _("Until an erasure request"),
    "hold": _("Until the hold is released"),
    "erased": _("Erased on {at}"),
}
WHY = {
    "employed": _("{name} still works here: nothing is erased before their exit is finalized."),
    "retention": _("Chat messages are kept {days} days after the exit, never less than six months (the enterprise's chat retention)."),
    "file_policy": _("Files left in the enterprise archive stay there by the file policy until an erasure request deletes them."),
    "compliant_deletion": _("Approval records and reimbursements are kept until a compliant deletion, whatever a request asks."),
    "until_erasure": _("Kept until an erasure request asks for them to be erased."),
    "hold": _("Under a legal hold: kept past every retention and erasure request until the hold is released."),
    "erased": _("Erased by an erasure request."),
}
NOTHING_KEPT = _("Nothing of this kind is kept.")
NOTHING_LEFT = ("retention", "file_policy", "compliant_deletion", "until_erasure")  # a reason to keep, with nothing to keep
OWN_EMPLOYED = _("You still work here: nothing is erased before your exit is finalized.")
SEAL = {
    "present": _("{n} message(s) sealed with the member's own data key: they open only through an audited read."),
    "destroyed": _("The data key was destroyed by an erasure request: the sealed records can no longer be opened by anyone."),
    "none": _("Nothing is sealed yet: chat messages and contact details are sealed when the exit is finalized."),
}


@dataclass(frozen=True)
class KeptRow:
    kind: str  # a record kind (glossary "record_kind")
    kind_words: str
    records: int
    until: str
    why: str
    state: str  # Kept.why: employed | retention | file_policy | compliant_deletion | until_erasure | hold | erased


def day(value: datetime | None, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d") if value else words.NOBODY


def kept_rows(data: MemberData, policy: Policy, tz: str, locale: str, *, own: bool = False) -> list[KeptRow]:
    """Each kind of the member's records: how many, kept until when, and why (`own`: in the
    words of the member reading about themself)."""
    erased_on = {s.step: s.done_at for r in data.requests for s in r.steps if s.state == "done"}
    rows = []
    for k in data.kept:
        if not k.records and k.why in NOTHING_LEFT:
            until, why = words.NOBODY, NOTHING_KEPT
        elif k.why == "retention":
            until, why = day(k.until, tz), WHY[k.why]
        else:
            until, why = translate(UNTIL[k.why], locale, at=day(erased_on.get(k.kind.value), tz)), WHY[k.why]
        why = OWN_EMPLOYED if own and k.why == "employed" else why
        said = translate(why, locale, name=data.name, days=policy.chat_retention_days)
        rows.append(KeptRow(k.kind.value, glossary.term("record_kind", k.kind.value, locale), k.records, until, said, k.why))
    return rows


def seal_words(data: MemberData, locale: str) -> str:
    return translate(SEAL[data.data_key], locale, n=data.sealed_messages)
