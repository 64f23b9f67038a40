"""REST: the dashboard's figures, as the console's overview draws them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from offboard.actions.context import tenant_read
from offboard.api.deps import TenantScope, services, tenant_scope
from offboard.queries.dashboard import Dashboard, dashboard

router = APIRouter(prefix="/api/v1")


@router.get("/dashboard", tags=["exits"], summary="Exits per month, open checklist items, restore windows ending, scheduled exits, customer transfers")
def get_dashboard(request: Request, scope: TenantScope = Depends(tenant_scope)) -> Dashboard:
    """Months are the last 12 in the enterprise's time zone, oldest first; every list behind a
    figure is `GET /api/v1/exits` with the matching filters (state, reason, department, from, to)."""
    with tenant_read(services(request), scope.slug, actor=scope.auth.actor) as (conn, tenant, actor):
        return dashboard(conn, tenant, actor, services(request).clock.now())
