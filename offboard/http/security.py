"""HTTP hardening that applies to every answer: security headers, bounded bodies, strict JSON,
and the client address and scheme taken from a reverse proxy only when it is trusted.

These are plain ASGI middlewares (no per-request task or body copy beyond what they check),
so they cost next to nothing on the request path.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from offboard.domain import bulk_file
from offboard.i18n import request_locale, translate
from offboard.i18n import mark as _

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 1024 * 1024  # no request of the API or the console needs more ...
# ... but a departures file (R-EXIT-7): the reader's own limit, which it answers itself, and room
# around it: the console's upload form, or the API's JSON with the file in base64 (4 characters
# for 3 bytes), which is also room for as many departures as a file may hold, given as a list.
LIMITS = {"/exits/bulk": bulk_file.MAX_BYTES + MAX_BODY, "/api/v1/exits/bulk": bulk_file.MAX_BYTES * 4 // 3 + MAX_BODY}

# The console vendors its scripts and styles (SPEC: no CDN), so nothing else needs to run.
CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
# FastAPI's Swagger UI at /docs and ReDoc at /redoc load from jsDelivr and start with an inline
# script; these pages hold no personal data, only the API's description.
_DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {_DOCS_CDN}; style-src 'self' 'unsafe-inline' {_DOCS_CDN}; "
    "img-src 'self' data: https://fastapi.tiangolo.com; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_STATIC = "/static/"


class SecurityHeaders:
    """CSP, framing, sniffing and referrer rules on every answer; `Cache-Control: no-store` on
    everything but the vendored static files, since pages and API answers carry personal data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path.startswith(("/docs", "/redoc")) else CONSOLE_CSP
        static = path.startswith(_STATIC)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or static]
                headers += [
                    (b"content-security-policy", csp.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _is_json(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class StrictBodies:
    """Refuse a body over MAX_BODY (413) and a JSON object that names a key twice (422): JSON
    parsers silently keep the last one, so `{"member_id": 5, "member_id": 7}` would act on 7."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        limit = LIMITS.get(scope.get("path", ""), MAX_BODY)
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(scope, send, 413, "too_large", _("The request body is too large (at most {limit} KiB)."), limit=limit // 1024)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and _is_json(scope):
            try:
                parsed = json.loads(body, object_pairs_hook=_no_duplicates)
                # "\ud800" is valid JSON but no character: it would fail deep in the database driver.
                json.dumps(parsed, ensure_ascii=False).encode("utf-8")
            except _DuplicateKey as exc:
                await _refuse(scope, send, 422, "duplicate_key", _("The JSON body names {key} more than once; send each field once."), key=exc.key[:64])
                return
            except UnicodeEncodeError:
                await _refuse(scope, send, 422, "invalid_character", _("The JSON body holds an unpaired surrogate escape (\\uD800-\\uDFFF), which is no character; send valid UTF-8 text."))
                return
            except (ValueError, RecursionError):
                pass  # not JSON at all: the route's own parser answers with its usual 422

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send, status: int, code: str, template: str, **params: Any) -> None:
    from starlette.requests import cookie_parser

    headers = {k: v.decode("latin-1") for k, v in scope.get("headers", [])}
    locale = request_locale(cookie_parser(headers.get(b"cookie", "")), headers.get(b"accept-language"))
    message = translate(template, locale, **params)
    if getattr(getattr(scope.get("app"), "state", None), "error_page", None) is not None:
        # The application's own answer: the console's error page for a form, JSON for the API.
        from starlette.requests import Request

        from offboard.http.errors import error_response

        await error_response(Request(scope), status, code, message)(scope, _nothing, send)
        return
    payload = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def install(app: Any, *, trusted_proxies: tuple[str, ...] = ()) -> None:
    """Middlewares run outermost last-added: the proxy fix first, so everything after it (the
    throttle's client address, the Secure flag of cookies) sees the real client and scheme."""
    app.add_middleware(StrictBodies)
    app.add_middleware(SecurityHeaders)
    if trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))
