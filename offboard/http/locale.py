"""The locale of a request, one rule for the API and the console (SPEC §9)."""

from __future__ import annotations

from fastapi import Request

from offboard.i18n import request_locale


def locale_of(request: Request) -> str:
    """The language chosen in the console (its cookie), else Accept-Language: with the cookie
    set to en, an API error is in English too."""
    return request_locale(request.cookies, request.headers.get("accept-language"))
