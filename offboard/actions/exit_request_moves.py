"""What exits that take effect do to exit requests (离职申请), in the same transaction, for one
leaver (offboard.actions.exits) or a bulk batch (offboard.actions.bulk_exits) alike:

- R-POST-2: approval tasks waiting on a leaver move so no process stalls. The waiting and upcoming
  steps naming a leaver go to that leaver's manager when active, else to HR; one statement for
  all the leavers, one audit event per request moved.
- A leaver's own pending request, overtaken by an exit of another kind (a removal, a bulk exit),
  is cancelled: nothing is left to decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from offboard.actions.context import UnitOfWork
from offboard.store import exit_requests as store


def after_exits(uow: UnitOfWork, leaver_ids: Sequence[int]) -> None:
    """Run once the leavers' status is exited (their access cut)."""
    conn, tid = uow.conn, uow.tenant_id
    for row in store.cancel_pending_of(conn, tid, leaver_ids, uow.now):
        uow.audit("exit_request.cancelled", [f"member:{row.member_id}", f"exit_request:{row.id}"], {})
    moved = store.move_steps_of(conn, tid, leaver_ids)
    if not moved:
        return
    owners = store.requesters(conn, tid, {m.request_id for m in moved})
    for request_id, group in groupby(moved, key=lambda m: m.request_id):
        steps = list(group)
        to = sorted({f"member:{m.to_id}" for m in steps if m.to_id is not None})
        details = {"steps": [{"position": m.position, "from": m.from_id, "to": m.to_id, "state": m.state} for m in steps]}
        # Targets: the requester, the request, the approver who left, then whom it moved to.
        targets = [f"member:{owners[request_id]}", f"exit_request:{request_id}", *sorted({f"member:{m.from_id}" for m in steps}), *to]
        uow.audit("exit_request.step_moved", targets, details)
