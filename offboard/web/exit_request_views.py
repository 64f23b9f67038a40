"""What the console's pages show of exit requests (离职申请): the member's own on their page
(/me, offboard.web.routes; the filing form in offboard.web.exit_requests), steps with local
times. Shared by page modules, which never import each other."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from offboard.domain import exit_requests as flow
from offboard.domain.authz import Actor
from offboard.domain.policy import ExitAutomation, Policy
from offboard.queries import exit_requests as queries
from offboard.queries.exit_requests import ExitRequestItem
from offboard.store.rows import AnyRow
from offboard.web.exit_views import local_time


def automation(tenant: AnyRow) -> str:
    """How the enterprise's exits start (SPEC §6 exit_automation)."""
    return Policy.of(tenant.profile, tenant.policy).exit_automation.value


def approval_flow(tenant: AnyRow) -> bool:
    """The enterprise's exits start from an approved exit request."""
    return automation(tenant) == ExitAutomation.APPROVAL_FLOW


def request_dict(item: ExitRequestItem, tz: str) -> dict[str, Any]:
    """A request as a page reads it: local times beside the stored ones, each step's too."""
    data = asdict(item)
    data["created_local"] = local_time(item.created_at, tz)
    data["closed_local"] = local_time(item.closed_at, tz) if item.closed_at else None
    data["effective_local"] = local_time(item.effective_at, tz)
    for step in [*data.get("steps", []), *(data[k] for k in ("waiting", "last_decision") if data.get(k))]:
        step["since_local"] = local_time(step["since"], tz) if step["since"] else None
        step["decided_local"] = local_time(step["decided_at"], tz) if step["decided_at"] else None
    return data


def me_extras(conn: Connection, tenant: AnyRow, actor: Actor, now: datetime) -> dict[str, Any]:
    """For /me: whether the member leaves by an exit request here, and their latest request with
    its steps (the pending one, else the newest), for the page's 离职申请 card."""
    mine = queries.list_requests(conn, tenant, actor, mine=True, limit=5).items if actor.kind == "member" else []
    latest = queries.show_request(conn, tenant, actor, mine[0].id) if mine else None
    today = queries.today(tenant, now)
    return {
        "approval_flow": approval_flow(tenant),
        "my_request": request_dict(latest, tenant.timezone) if latest else None,
        "more_requests": len(mine) > 1,
        "leave_min": today.isoformat(),
        "leave_max": flow.latest_leave_date(today).isoformat(),
    }
