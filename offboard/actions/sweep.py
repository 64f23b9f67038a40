"""Due work (R-EXIT-8): scheduled exits, 24 h takeovers, restore windows ending. Every timer fires
on "due at or before now and not yet done", never on an exact match, so a worker that was down
catches up; running it twice does nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from offboard.actions.checklist import finalize
from offboard.actions.context import Services, tenant_transaction
from offboard.actions.exits import take_effect
from offboard.actions.inheritance import take_over_due
from offboard.domain.checklist import SIGNING_ROLES
from offboard.domain.errors import OffboardError
from offboard.domain.vocabulary import ExitState
from offboard.store.tables import exit_signoffs, exits, tenants


@dataclass
class SweepReport:
    took_effect: int = 0
    taken_over: int = 0
    finalized: int = 0
    failed: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"took_effect": self.took_effect, "taken_over": self.taken_over, "finalized": self.finalized, "failed": self.failed}


def sweep(services: Services) -> SweepReport:
    """One pass over every tenant; each exit in its own transaction, so one failure stops nothing else."""
    report = SweepReport()
    now = services.clock.now()
    with services.db.read() as conn:
        slugs = list(conn.execute(select(tenants.c.slug).order_by(tenants.c.id)).scalars())
        signed = select(func.count()).where(exit_signoffs.c.tenant_id == exits.c.tenant_id, exit_signoffs.c.exit_id == exits.c.id).scalar_subquery()
        due_exits = conn.execute(
            select(tenants.c.slug, exits.c.id).join(tenants, tenants.c.id == exits.c.tenant_id)
            .where(exits.c.state == ExitState.SCHEDULED, exits.c.effective_at <= now).order_by(exits.c.effective_at)
        ).all()
        due_final = conn.execute(
            select(tenants.c.slug, exits.c.id).join(tenants, tenants.c.id == exits.c.tenant_id)
            .where(exits.c.state == ExitState.OPEN, exits.c.restore_until <= now, signed >= len(SIGNING_ROLES))
        ).all()
    for slug, exit_id in due_exits:
        if _run(services, slug, lambda uow: take_effect(uow, exit_id), report, exit_id):
            report.took_effect += 1
    for slug in slugs:
        with tenant_transaction(services, slug) as uow:
            report.taken_over += take_over_due(uow)
    for slug, exit_id in due_final:
        if _run(services, slug, lambda uow: finalize(uow, exit_id), report, exit_id):
            report.finalized += 1
    return report


def _run(services: Services, slug: str, fn, report: SweepReport, exit_id: int) -> bool:
    try:
        with tenant_transaction(services, slug) as uow:
            fn(uow)
        return True
    except OffboardError as exc:  # recorded and retried on the next sweep; the others go on
        report.failed.append({"tenant": slug, "exit_id": exit_id, "error": exc.code, "message": exc.render("en")})
        return False
