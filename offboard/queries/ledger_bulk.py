"""What a bulk action on an exit's ledger would do, before the person confirms it: how many rows
it applies to, by kind, how many of the chosen rows it leaves alone, and the first resources it
names. The same selection the action runs (offboard.actions.ledger_bulk), read, not written."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from offboard.actions.ledger_bulk import counts_by_kind, selected
from offboard.actions.members import target_of
from offboard.domain.authz import Action, Actor, require
from offboard.domain.ledger_bulk import BulkAction, Selection
from offboard.domain.vocabulary import LedgerState
from offboard.queries.resource_names import names_of
from offboard.store import repo
from offboard.store.transfers import chosen_rows

NAMED = 12  # resources named on the confirmation


@dataclass(frozen=True)
class BulkPreview:
    exit_id: int
    action: str
    applies: int  # rows the action would act on
    by_kind: dict[str, int]
    left_alone: int  # chosen rows it does not apply to (another state, or already with that acceptor)
    named: list[tuple[str, str]]  # (kind, resource name) of the first NAMED rows it applies to


def preview(conn: Connection, tenant_id: int, actor: Actor, exit_id: int, action: BulkAction, selection: Selection, *, to_id: int | None = None) -> BulkPreview:
    row = repo.exit_by_id(conn, tenant_id, exit_id)
    require(actor, Action.INHERIT, target_of(conn, tenant_id, repo.member_by_id(conn, tenant_id, row.member_id)))
    query = selected(tenant_id, exit_id, action, selection, not_to=to_id if action == BulkAction.REASSIGN else None)
    by_kind = counts_by_kind(conn, query)
    applies = sum(by_kind.values())
    left_alone = 0
    if not selection.everything:
        every = chosen_rows(tenant_id, exit_id, tuple(LedgerState), kinds=(selection.kind,) if selection.kind else (), correlation_ids=selection.correlation_ids).subquery()
        left_alone = conn.execute(select(func.count()).select_from(every)).scalar_one() - applies
    first = query.subquery()
    sample = conn.execute(select(first.c.kind, first.c.resource_id).order_by(first.c.id).limit(NAMED)).all()
    wanted: dict[str, set[int]] = {}
    for kind, rid in sample:
        wanted.setdefault(kind, set()).add(rid)
    names = names_of(conn, tenant_id, wanted)
    return BulkPreview(exit_id, action.value, applies, by_kind, left_alone, [(kind, names.get((kind, rid), f"#{rid}")) for kind, rid in sample])
