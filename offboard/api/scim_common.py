"""What SCIM's Users and Groups share at the HTTP edge: the weak ETags of their versions, and
the actions' refusals as the SCIM errors a client reads (RFC 7644 §3.12)."""

from __future__ import annotations

import re

from scim2_models import (
    ConflictException,
    ForbiddenException,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    SCIMException,
    UnauthorizedException,
    UniquenessException,
)

from offboard.actions.scim import PreconditionFailed
from offboard.domain.errors import Conflict, NotFound, OffboardError, Unauthorized, ValidationError

_VERSION = re.compile(r'^(?:W/)?"(\d{1,18})"$')
# The codes of a value another resource already holds: 409 with scimType uniqueness.
UNIQUENESS = {"duplicate_userid", "duplicate_external_id", "duplicate_department", "duplicate_department_external_id"}


class Locked(SCIMException):
    """The enterprise is frozen (R-ADM-4): every token of it waits for the operator's recovery."""

    status = 423


def etag(version: int) -> str:
    return f'W/"{version}"'


def version_of(etag: str | None) -> int | None:
    """The version an ETag names; one of another form names none this server gave."""
    if etag is None:
        return None
    found = _VERSION.match(etag.strip())
    return int(found.group(1)) if found else -1


def scim_error(exc: OffboardError) -> SCIMException:
    """An action's refusal as the SCIM error a client reads (RFC 7644 §3.12)."""
    detail = f"{exc.render('en')} ({exc.code})"
    if exc.code in UNIQUENESS:
        return UniquenessException(detail=detail)
    if isinstance(exc, PreconditionFailed):
        return PreconditionFailedException(detail=detail)
    if isinstance(exc, NotFound):
        return NotFoundException(detail=detail)
    if isinstance(exc, Conflict):
        return ConflictException(detail=detail)
    if isinstance(exc, ValidationError):
        return InvalidValueException(detail=detail)
    if isinstance(exc, Unauthorized):
        return UnauthorizedException(detail=detail)
    return ForbiddenException(detail=detail)
