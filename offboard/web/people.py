"""The people picker's suggestions (issue 9 item 2): GET /people/suggest?q=&exclude= answers
JSON, [{"id", "userid", "name", "department", "title"}], for the console's script
(static/console.js) as the reader types. Every refusal is JSON too, never a page: a missing
session is a 401 (the script keeps what was typed), bad input a 422."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from offboard.domain.errors import Unauthorized, ValidationError, error
from offboard.queries import people
from offboard.web.session import Console, SignInRequired, console

router = APIRouter(include_in_schema=False)
MAX_ID = 2**63 - 1


def signed_in(request: Request) -> Console:
    """The console's session, or a 401 instead of the redirect to sign in a page would get."""
    try:
        return console(request)
    except SignInRequired:
        raise error(Unauthorized, "sign_in_required", "Sign in to the console again to search for people.") from None


@router.get("/people/suggest")
def suggest(
    c: Console = Depends(signed_in),
    q: Annotated[str, Query(max_length=people.MAX_QUERY)] = "",
    exclude: Annotated[str, Query(max_length=19, pattern=r"^[0-9]*$")] = "",
) -> list[dict[str, Any]]:
    """Who may receive a leaver's resources, matching what was typed; `exclude` is the leaver."""
    leaver = int(exclude) if exclude else None
    if leaver is not None and not 1 <= leaver <= MAX_ID:
        raise error(ValidationError, "invalid_id", "{value} is not a member id.", value=exclude)
    with c.read() as (conn, tenant, actor):
        found = people.suggest(conn, tenant.id, actor, q, exclude=leaver)
    return [asdict(p) for p in found]
