"""Restore a mistaken exit within its window (R-EXIT-6, R-EXC-2)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select, update

from offboard.actions.auth import second_factor_ok
from offboard.domain.errors import Unauthorized
from offboard.actions.context import UnitOfWork
from offboard.actions.members import target_of
from offboard.domain import validation as v
from offboard.domain.authz import Action
from offboard.domain.errors import Forbidden, ValidationError, error
from offboard.domain.lifecycle import check_restorable, next_exit_state, next_member_status
from offboard.domain.org import covered
from offboard.domain.vocabulary import PRESENT_STATUSES, LedgerState, ResourceKind, StepKind
from offboard.store import access_cut
from offboard.store import repo, steps
from offboard.store.locks import lock_member
from offboard.store.rows import AnyRow
from offboard.store.org import shift_headcounts
from offboard.store.tables import exits, members, transfer_ledger
from offboard.queries.exits import ExitSummary, exit_summary
from offboard.store.transfers import latest_rows, revert

L = transfer_ledger


@dataclass(frozen=True)
class KeptTransfer:
    """A transfer a restore did not revert: its resource changed since, or it is still waiting."""

    kind: str
    resource_id: int
    state: str
    to_member_id: int | None
    correlation_id: str


@dataclass(frozen=True)
class RestoredExit(ExitSummary):
    reverted: dict[str, int]  # resource kind -> rows reverted
    not_reverted: list[KeptTransfer]
    manager_cleared: bool  # the manager had left meanwhile: the member reports to nobody now


def restore_exit(uow: UnitOfWork, exit_id: int, *, totp: str, reason: str) -> RestoredExit:
    """Undo an exit: status, departments, roles, access, and every transfer whose resource is
    untouched since (one statement pair per kind); what was touched is reported, not forced."""
    conn, tid = uow.conn, uow.tenant_id
    row = repo.exit_by_id(conn, tid, exit_id)
    member = repo.member_by_id(conn, tid, row.member_id)
    uow.require(Action.RESTORE, target_of(conn, tid, member))
    if uow.actor.kind != "member":
        raise error(Forbidden, "person_required", "A restore is done by a person who re-verifies with their second factor: pass --by USERID --totp CODE.")
    reason = _reason(reason)
    check_restorable(row.state, uow.now, row.restore_until)
    assert uow.actor.member_id is not None, "a member actor has its member id"
    if not second_factor_ok(uow, uow.actor.member_id, totp):
        # Refused, but the wrong code counts against the second factor's throttle and is audited.
        uow.refuse(error(Unauthorized, "bad_totp", "That code is wrong, expired or already used; enter the current 6-digit code."))
    return _restore(uow, row, member, reason, {})


def restore_by_integration(uow: UnitOfWork, exit_id: int, *, reason: str) -> RestoredExit:
    """The restore an identity provider asks for by reactivating the member inside the restore
    window (SCIM `active: true`): authorised by the integration's token and its scim scope, the
    one restore that needs no person's second factor; its audit event says so (`integration`)."""
    conn, tid = uow.conn, uow.tenant_id
    row = repo.exit_by_id(conn, tid, exit_id)
    member = repo.member_by_id(conn, tid, row.member_id)
    uow.require(Action.RESTORE, target_of(conn, tid, member))
    uow.require(Action.SCIM)
    if uow.actor.kind != "service":
        raise error(Forbidden, "integration_required", "Only an identity provider's SCIM token restores without a second factor; a person restores with their 6-digit code.")
    check_restorable(row.state, uow.now, row.restore_until)
    return _restore(uow, row, member, _reason(reason), {"integration": "scim", "second_factor": None})


def _reason(reason: str) -> str:
    reason = v.clean(reason, "reason", multiline=True)
    if not reason or len(reason) > 2000:
        raise error(ValidationError, "reason_required", "Give the reason for the restore (1-2000 characters).")
    return reason


def _restore(uow: UnitOfWork, row: AnyRow, member: AnyRow, reason: str, how: dict[str, Any]) -> RestoredExit:
    conn, tid, now, exit_id = uow.conn, uow.tenant_id, uow.now, row.id
    lock_member(conn, tid, member.id)
    next_member_status(member.status, "restore")
    step_id = steps.begin(conn, tid, exit_id, StepKind.RESTORE, uow.actor.audit_id, now)
    for kind in ResourceKind:
        revert(conn, tid, exit_id, member.id, kind, step_id, now)
    # The manager may have left while this member was away: nobody reports to a departed member
    # (INV-2; a departed manager could never be finalized), so the report is unassigned (R-ORG-4).
    manager_gone = member.manager_id is not None and repo.member_by_id(conn, tid, member.manager_id).status not in PRESENT_STATUSES
    conn.execute(
        update(members)
        .where(members.c.tenant_id == tid, members.c.id == member.id)
        .values(status="active", exited_at=None, updated_at=now, version=members.c.version + 1, **({"manager_id": None} if manager_gone else {}))
    )
    access_cut.restore(conn, tid, member.id, row.effective_at, now)  # sessions and tokens stay revoked
    gain = covered(r.path for r in repo.member_department_rows(conn, tid, member.id))
    shift_headcounts(conn, tid, gain, ())  # and pending-dissolution departments are active again (R-ORG-1)
    conn.execute(update(exits).where(exits.c.tenant_id == tid, exits.c.id == exit_id).values(state=next_exit_state(row.state, "restore"), updated_at=now, version=exits.c.version + 1))
    reverted = steps.close(conn, tid, step_id)  # the restore step changes only the rows it reverts
    digests = {kind: steps.ledger_digest(conn, tid, step_id, ResourceKind(kind)) for kind in reverted}
    kept = [
        KeptTransfer(r.kind, r.resource_id, r.state, r.to_member_id, r.correlation_id)
        for r in conn.execute(select(L).where(latest_rows(tid, exit_id), L.c.state != LedgerState.REVERTED).order_by(L.c.kind, L.c.resource_id))
    ]
    uow.audit(
        "exit.restored",
        [f"member:{member.id}", f"exit:{exit_id}"],
        {"reason": reason, "reverted": reverted, "not_reverted": len(kept), "manager_cleared": manager_gone, "step_id": step_id, "ledger_digests": digests, **how},
    )
    uow.emit("member.restored", exit_id=exit_id, member_id=member.id)
    summary = exit_summary(conn, tid, exit_id)
    return RestoredExit(**{f.name: getattr(summary, f.name) for f in fields(ExitSummary)}, reverted=reverted, not_reverted=kept, manager_cleared=manager_gone)
