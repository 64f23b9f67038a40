"""Domain errors: a stable, language-neutral code, an HTTP status and an actionable message.

The message is an English template (also the msgid of the zh-CN catalogue); parameters are
filled in at rendering time so every entry point (CLI, REST, console) shows the same text. A
parameter that is a vocabulary value (a state, a kind, a role, checklist items) is passed as a
`Term` or `Terms`, so the reader sees its word in their language, not its key; the code stays
the machine's handle.
"""

from __future__ import annotations

from typing import TypeVar

from offboard.i18n.glossary import Term, Terms

__all__ = ["Conflict", "Forbidden", "NotFound", "OffboardError", "Term", "Terms", "TenantFrozen", "Unauthorized", "ValidationError", "error"]


class OffboardError(Exception):
    code = "error"
    status = 400
    template = "The request could not be completed."

    def __init__(self, template: str | None = None, /, **params: object) -> None:
        if template is not None:
            self.template = template
        self.params = params
        super().__init__(self.render("en"))

    def render(self, locale: str = "en") -> str:
        from offboard.i18n import translate

        return translate(self.template, locale, **self.params)

    def to_dict(self, locale: str = "en") -> dict[str, object]:
        return {"error": self.code, "message": self.render(locale)}


class ValidationError(OffboardError):
    code = "invalid_input"
    status = 422


class NotFound(OffboardError):
    code = "not_found"
    status = 404


class Conflict(OffboardError):
    code = "conflict"
    status = 409


class Unauthorized(OffboardError):
    code = "unauthorized"
    status = 401


class Forbidden(OffboardError):
    code = "forbidden"
    status = 403


class TenantFrozen(OffboardError):
    code = "tenant_frozen"
    status = 423
    template = "This enterprise is frozen: it has no active super admin, so admin work is paused. An operator restores it by naming a new super admin (offboard tenant recover --new-admin USERID)."


E = TypeVar("E", bound=OffboardError)


def error(base: type[E], code: str, template: str, **params: object) -> E:
    """Build an error of a base kind with a specific stable code."""
    err = base(template, **params)
    err.code = code
    return err
