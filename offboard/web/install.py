"""The console's pages mounted on the application, with its static files, its error page and the
redirect to sign in."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from offboard.web import audit, bulk, compliance, data, exit_requests, exits, exports, handover, people, rollback, routes, settings, webhooks
from offboard.web.rendering import HERE, render
from offboard.web.reverify import CodeNeeded
from offboard.web.session import SignInRequired


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    """An error met outside a form: the error page, or its fragment for an htmx request."""
    template = "_error_fragment.html" if request.headers.get("hx-request") else "error.html"
    return render(request, template, status_code=status, code=code, message=message)


def install(app: FastAPI) -> None:
    app.include_router(routes.router)
    app.include_router(bulk.router)  # before exits.router: /exits/bulk is not /exits/{exit_id}
    app.include_router(exits.router)
    app.include_router(exit_requests.router)
    app.include_router(exports.router)
    app.include_router(settings.router)
    app.include_router(webhooks.router)
    app.include_router(audit.router)
    app.include_router(people.router)
    app.include_router(rollback.router)
    app.include_router(handover.router)
    app.include_router(data.router)
    app.include_router(compliance.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired):
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": exc.target})
        return RedirectResponse(exc.target, status_code=303)

    @app.exception_handler(CodeNeeded)
    async def _code_needed(request: Request, exc: CodeNeeded):
        return exc.response  # the page asking for the code, posting back to the same form
