"""The ASGI application: REST API, console and metrics, built around one Services object.

The composition root: the only module that imports both offboard.api and offboard.web (the
console); they share offboard.http and never import each other."""

from __future__ import annotations

import time

from fastapi import Depends, FastAPI, Request
from prometheus_client import Counter, Histogram

from offboard import __version__, logs
from offboard.actions.context import Services
from offboard.api import approvals, dashboard, data, departures, directory, exit_requests, exits, jobs, policy, power, rollback, scim, system, webhooks
from offboard.bootstrap import build
from offboard.crypto.signing import load_or_create_key
from offboard.http import errors, security
from offboard.http.strict import no_unknown_query_params
from offboard.settings import WebSettings
from offboard.web import install as console

REQUESTS = Counter("offboard_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("offboard_http_request_seconds", "HTTP request latency", ["method", "route"])


class OffboardAPI(FastAPI):
    """Starlette re-raises an unexpected error after its handler answered it, so that the server
    logs it again: uvicorn would write a second, multi-line traceback on the event loop. The
    handler in offboard.http.errors has already logged it as one bounded line, so stop it here."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            if scope["type"] != "http":
                raise


def create_app(services: Services, *, demo: bool = False, settings: WebSettings | None = None) -> FastAPI:
    logs.configure()
    settings = settings or WebSettings()
    app = OffboardAPI(
        title="offboard",
        version=__version__,
        description="The exit lifecycle of enterprise members: directory, exits, inheritance, audit. Authenticate with `Authorization: Bearer <token>` (create one with `offboard token create`).",
        dependencies=[Depends(no_unknown_query_params)],
    )
    app.state.services = services
    app.state.demo = demo
    app.state.settings = settings
    with services.db.write() as conn:
        app.state.cookie_key = load_or_create_key(conn)
    errors.install(app, page=console.error_page)
    app.include_router(directory.router)
    app.include_router(exits.router)
    app.include_router(jobs.router)
    app.include_router(departures.router)
    app.include_router(exit_requests.router)
    app.include_router(dashboard.router)
    app.include_router(policy.router)
    app.include_router(system.router)
    app.include_router(rollback.router)
    app.include_router(power.router)
    app.include_router(data.router)
    app.include_router(approvals.router)
    app.include_router(webhooks.router)
    app.include_router(scim.router)

    console.install(app)

    @app.middleware("http")
    async def _metrics(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        LATENCY.labels(request.method, path).observe(time.perf_counter() - start)
        return response

    security.install(app, trusted_proxies=settings.trusted_proxies)
    return app


def app_from_env() -> FastAPI:
    """The application as `offboard serve` runs it, built by uvicorn in the serving process from
    the import string `offboard.api.app:app_from_env` (its factory mode, which also allows
    several workers): the database of OFFBOARD_DATABASE_URL, the web settings of the environment."""
    return create_app(build(), settings=WebSettings.from_env())


def demo_app_from_env() -> FastAPI:
    """The same in demo mode, as `offboard demo` serves it: the sign-in page lists the demo
    accounts. Only the import string chooses it; no environment variable turns it on."""
    return create_app(build(), demo=True, settings=WebSettings.from_env())
