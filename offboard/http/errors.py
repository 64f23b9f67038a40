"""How every error is answered, by the API and by the console alike: its status, its stable code
and its message in the request's language (offboard.http.locale). The API answers JSON
{"error": code, "message": ...}; the console shows the same words on its error page. A 4xx
status for every refusal; a 500 is reserved for real bugs."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from offboard.domain.errors import OffboardError
from offboard.http.locale import locale_of
from offboard.i18n import translate
from offboard.i18n import mark as _

log = structlog.get_logger("offboard.api")


_HTTP_CODES = {
    400: ("bad_request", _("The request is malformed.")),
    401: ("unauthorized", _("Sign in or send a valid API token.")),
    403: ("forbidden", _("You may not do this.")),
    404: ("not_found", _("Nothing here: check the address.")),
    405: ("method_not_allowed", _("This address does not accept that method.")),
    406: ("not_acceptable", _("This address answers in JSON only.")),
    413: ("too_large", _("The request body is too large.")),
    415: ("unsupported_media_type", _("Send the body as JSON (Content-Type: application/json).")),
}


# Addresses that answer JSON, errors included; /people/suggest is the console script's.
_MACHINE_PREFIXES = ("/api/", "/scim/", "/healthz", "/metrics", "/openapi.json", "/docs", "/people/suggest")

ErrorPage = Callable[[Request, int, str, str], Response]
"""The console's page for an error: (request, status, code, message) -> the response."""


def error_response(request: Request, status: int, code: str, message: str, headers: dict | None = None):
    """JSON for machines; the console gets an error page (or an htmx fragment) in the same words."""
    page: ErrorPage | None = request.app.state.error_page
    if page is not None and not request.url.path.startswith(_MACHINE_PREFIXES):
        response = page(request, status, code, message)
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def failure(request: Request, exc: OffboardError) -> dict[str, str]:
    """A refusal shown inside a console page, beside the form that caused it."""
    return {"code": exc.code, "message": exc.render(locale_of(request))}


def install(app: FastAPI, *, page: ErrorPage | None = None) -> None:
    """The error handlers of the whole application; `page` is how the console shows an error
    (without one, every address answers JSON)."""
    app.state.error_page = page

    @app.exception_handler(OffboardError)
    async def _domain(request: Request, exc: OffboardError):
        retry_after = getattr(exc, "retry_after", None)  # a refusal that ends by itself says when
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return error_response(request, exc.status, exc.code, exc.render(locale_of(request)), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        message = translate("Invalid {field}: {problem}", locale_of(request), field=where, problem=first.get("msg", "invalid value"))
        return error_response(request, 422, "invalid_input", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code, template = _HTTP_CODES.get(exc.status_code, ("error", "The request could not be completed."))
        if isinstance(exc.detail, dict) and "error" in exc.detail:
            code, template = exc.detail["error"], exc.detail.get("message", template)
        return error_response(request, exc.status_code, code, translate(template, locale_of(request)), getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError):
        # A race lost against a unique constraint: the other request won; nothing was changed here.
        log.warning("integrity_conflict", path=request.url.path, detail=str(exc.orig)[:200])
        return error_response(request, 409, "conflict", translate("The change conflicts with another one made at the same time; reload and try again.", locale_of(request)))

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception):
        # A bug: one bounded log line with its traceback for the operator, a plain error for the
        # client. A plain `def`, so Starlette runs it in the thread pool: however slow rendering
        # the exception is, the event loop keeps answering other requests.
        log.error("unexpected_error", path=request.url.path, method=request.method, exc_info=exc)
        return error_response(request, 500, "internal_error", translate("Something went wrong on our side; the change was not made. The error is logged.", locale_of(request)))

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError):
        return error_response(request, 422, "invalid_input", translate("A value is out of range.", locale_of(request)))
