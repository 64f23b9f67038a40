"""Bulk actions on an exit's transfer ledger (issue: the console's bulk actions): which rows each
action applies to, and a selection of rows checked one by one or "every row that matches".

An action applies to the newest ledger row of each resource only: a row that a later inheritance
superseded is history, not work."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from offboard.domain import validation as v
from offboard.domain.errors import Terms, ValidationError, error
from offboard.domain.vocabulary import LedgerState, ResourceKind

MAX_CHOSEN = 10_000  # rows checked one by one in one request; "every matching row" has no cap


class BulkAction(StrEnum):
    RESULT = "result"  # record what the platform reported for waiting transfers (R-ORG-2)
    REASSIGN = "reassign"  # hand waiting transfers to another acceptor instead
    INHERIT = "inherit"  # give unassigned resources to an acceptor (离职继承, R-ORG-5)


UNASSIGNED = (LedgerState.UNASSIGNED, LedgerState.REFUSED, LedgerState.ACCEPTOR_FULL)
APPLIES: dict[BulkAction, tuple[LedgerState, ...]] = {
    BulkAction.RESULT: (LedgerState.WAITING,),
    BulkAction.REASSIGN: (LedgerState.WAITING,),
    BulkAction.INHERIT: UNASSIGNED,
}
RESULTS = (LedgerState.DONE, LedgerState.REFUSED, LedgerState.ACCEPTOR_FULL)


@dataclass(frozen=True)
class Selection:
    """Rows checked by their correlation ids, or every row of the exit (of `kind`) the action
    applies to."""

    correlation_ids: tuple[str, ...] = ()
    kind: ResourceKind | None = None
    everything: bool = False
    state: LedgerState | None = None  # with `everything`: only the rows in this state

    def states(self, action: BulkAction) -> tuple[LedgerState, ...]:
        """The states of the rows the action applies to, within this selection's state filter."""
        return tuple(s for s in APPLIES[action] if self.state is None or s == self.state)

    @classmethod
    def of(cls, correlation_ids: list[str] | tuple[str, ...] | None, *, kind: str | None = None, everything: bool = False, state: str | None = None) -> Selection:
        ids = tuple(dict.fromkeys(i.strip() for i in correlation_ids or () if i and i.strip()))
        if not everything and not ids:
            raise error(ValidationError, "nothing_chosen", "Choose at least one row of the ledger, or every row that matches the filter.")
        if len(ids) > MAX_CHOSEN:
            raise error(ValidationError, "too_many_chosen", "At most {max} rows can be checked one by one; choose every row that matches the filter instead.", max=MAX_CHOSEN)
        if any(len(i) > 36 for i in ids):
            raise error(ValidationError, "invalid_correlation_id", "A correlation id has at most 36 characters.")
        chosen_kind = ResourceKind(v.choice(kind, ResourceKind, "kind")) if kind else None
        chosen_state = LedgerState(v.choice(state, LedgerState, "state")) if state and everything else None
        return cls(() if everything else ids, chosen_kind, everything, chosen_state)


def action_of(value: str) -> BulkAction:
    return BulkAction(v.choice(value, BulkAction, "action"))


def result_of(value: str | None) -> LedgerState:
    """The outcome to record; there is no default, so nobody records "done" by leaving a field alone."""
    if not value:
        raise error(ValidationError, "result_required", "Choose the outcome to record.")
    state = LedgerState(v.choice(value, LedgerState, "state"))
    if state not in RESULTS:
        raise error(ValidationError, "invalid_result", "A transfer result is one of: {choices}.", choices=Terms("ledger_state", tuple(s.value for s in RESULTS)))
    return state
