"""Giving the 6-digit code again without losing the form (issue 9): a SENSITIVE action
(authz.SENSITIVE) posted from a console form when the session's last second-factor check is
older than REVERIFY_AFTER is answered with the re-verification page, whose form posts back to
the same action URL with every submitted field carried as a hidden input and the code as
`reverify_code`. The action, receiving the code, checks it as POST /reverify does and, when it
is right, carries on in the same request: the person sees the action's own result.

Status of that page: 200 when it first asks for the code. The request was understood and the
answer is a form to finish it, not an error: nothing failed and nothing is refused yet (a 401
would also need a WWW-Authenticate challenge, which a form has none of). A code that is then
refused answers as POST /reverify does: the refusal's status (401 wrong, 423 locked, 429
throttled, with Retry-After when it ends by itself), on the same page, the fields still carried.

Read the form with `Depends(posted_form)`: it awaits `request.form()`, which Starlette parses
once and caches, so the route's own `Form(...)` parameters are still filled, `def` routes too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from offboard.actions.auth import Authenticated, authenticate_session, verify_second_factor
from offboard.domain.authz import Action
from offboard.domain.errors import OffboardError
from offboard.http.cookies import session_token
from offboard.http.csrf import check_csrf
from offboard.http.errors import failure
from offboard.web.rendering import render
from offboard.i18n import mark as _

if TYPE_CHECKING:
    from offboard.web.session import Console

CODE_FIELD = "reverify_code"
# A field that holds a secret is never written back into a page (a restore's `totp`, a password).
_SECRET_FIELD = re.compile(r"code|pass|totp|otp|secret", re.IGNORECASE)


# What the code finishes, in words, per action; GENERIC for an action not named here.
PURPOSES: dict[Action, str] = {
    Action.START_REMOVAL: _("Enter your 6-digit code to start the exit as planned."),
    Action.VOLUNTARY_EXIT: _("Enter your 6-digit code to confirm that you are leaving the enterprise."),
    Action.INHERIT: _("Enter your 6-digit code to assign the resources to their new owner."),
    Action.ATTEST_HR: _("Enter your 6-digit code to record this on the exit's checklist."),
    Action.ATTEST_IT: _("Enter your 6-digit code to record this on the exit's checklist."),
    Action.FREEZE: _("Enter your 6-digit code to unlock the member's sign-in."),
    Action.MANAGE_ADMINS: _("Enter your 6-digit code to save the policy."),
}
GENERIC = _("Enter your 6-digit code to finish what you submitted.")


@dataclass(frozen=True)
class PostedForm:
    """The fields of a posted form, in the order sent (a field sent twice appears twice), less
    the code and any field named like a secret; `code` is the re-verification code, if sent."""

    fields: tuple[tuple[str, str], ...]
    code: str | None


async def posted_form(request: Request) -> PostedForm:
    form = await request.form()
    code = form.get(CODE_FIELD)
    fields = tuple((name, value) for name, value in form.multi_items() if isinstance(value, str) and name != CODE_FIELD and not _SECRET_FIELD.search(name))
    return PostedForm(fields, code if isinstance(code, str) else None)


class CodeNeeded(Exception):
    """Stops a route that must first be given the code: answered with `response`, the page."""

    def __init__(self, response: Response) -> None:
        self.response = response


def give_code(request: Request, code: str) -> None:
    """The code of a signed-in session, checked for POST /reverify and for a carried form alike:
    the second factor's own throttle, lockout and replay rules (actions.auth.verify_second_factor)."""
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    verify_second_factor(request.app.state.services, token, code, client=request.client.host if request.client else "unknown")


def refusal_status(exc: OffboardError) -> int:
    return exc.status if exc.status in (401, 423, 429) else 400


def with_retry_after(exc: OffboardError, response: Response) -> Response:
    retry_after = getattr(exc, "retry_after", None)  # a refusal that ends by itself says when
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def finish(c: Console, action: Action, back: str, form: PostedForm, purpose: str | None = None) -> Authenticated:
    """For a session whose check is too old: without a code, ask for it (CodeNeeded with the
    page); with one, check it and return the session as it is now, verified. A code is only
    checked on a form of this site: the CSRF field is checked first, as the route did.
    `purpose` says what the code finishes when the action's own sentence (PURPOSES) does not."""
    request = c.request
    if form.code is None:
        raise CodeNeeded(page(c, action, back, form, purpose=purpose))
    token = session_token(request)
    assert token is not None, "the console dependency refused a request without a session"
    check_csrf(request, token, dict(form.fields).get("csrf"))
    try:
        give_code(request, form.code)
    except OffboardError as exc:
        raise CodeNeeded(with_retry_after(exc, page(c, action, back, form, error=failure(request, exc), status_code=refusal_status(exc), purpose=purpose))) from None
    return authenticate_session(request.app.state.services, token)


def page(c: Console, action: Action, back: str, form: PostedForm, *, error: dict | None = None, status_code: int = 200, purpose: str | None = None) -> Response:
    """The re-verification page posting back to the action that asked for it."""
    request = c.request
    return render(
        request,
        "reverify.html",
        status_code=status_code,
        c=c,
        target=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        carried=form.fields,
        code_field=CODE_FIELD,
        purpose=purpose or PURPOSES.get(action, GENERIC),
        back=back,
        lang_back=urlsplit(back).path,  # the action's URL answers POST only: switching language goes back to the form's page
        error=error,
    )
