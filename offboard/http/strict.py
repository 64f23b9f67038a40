"""Unknown query parameters are an error (a typo in a filter must not silently list everything).
SCIM's parameters are SCIM's (RFC 7644 §3.4.2): its service reads and refuses them itself."""

from __future__ import annotations

from fastapi import Request

from offboard.domain.errors import ValidationError, error


def no_unknown_query_params(request: Request) -> None:
    if request.url.path.startswith("/scim/"):
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = set(_query_names(dependant))
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise error(
            ValidationError,
            "unknown_parameter",
            "Unknown query parameter {name}; this address accepts: {known}.",
            name=unknown[0],
            known=", ".join(sorted(known)) or "none",
        )


def _query_names(dependant):
    for param in dependant.query_params:
        yield param.alias
    for sub in dependant.dependencies:
        yield from _query_names(sub)
