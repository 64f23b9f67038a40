"""Structured logs: one JSON line per event, cheap and bounded on the request path.

structlog's default renderer draws rich tracebacks with every frame's local variables; on the
event loop one such traceback stalled every other request for seconds and wrote megabytes. Here
an exception is rendered as a plain traceback without locals, cut to MAX_TRACEBACK characters,
and no event is longer than MAX_EVENT characters however large its values are.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

MAX_TRACEBACK = 4000
MAX_VALUE = 500
MAX_EVENT = 8000
_configured = False


def _bounded(value: Any) -> Any:
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


def _exception(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    info = event.pop("exc_info", None)
    if info:
        if info is True:
            info = sys.exc_info()
        elif isinstance(info, BaseException):
            info = (type(info), info, info.__traceback__)
        if info[0] is not None:
            lines = traceback.format_exception(*info, limit=20, chain=False)
            text = "".join(lines)
            event["exception"] = text if len(text) <= MAX_TRACEBACK else "…" + text[-MAX_TRACEBACK:]
    return event


def _render(_logger: WrappedLogger, _name: str, event: EventDict) -> str:
    exception = event.pop("exception", None)
    line = {key: _bounded(value) for key, value in event.items()}
    if exception:
        line["exception"] = exception
    rendered = json.dumps(line, ensure_ascii=False, default=str)
    return rendered if len(rendered) <= MAX_EVENT else rendered[: MAX_EVENT - 1] + "…"


class _CurrentStderr:
    """sys.stderr as it is when a line is written, not as it was when logging was set up (a
    process that redirects it later, a test capturing it, still gets the lines)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(stream: TextIO | None = None, level: int = logging.INFO, *, force: bool = False) -> None:
    """Set structlog up once per process (again with force=True, as tests do to capture it)."""
    global _configured
    if _configured and not force:
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _exception,
            _render,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    _configured = True
