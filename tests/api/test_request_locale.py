"""SPEC §9 and issue 8 item 10: one locale rule for the API and the console. The language chosen
in the console (its cookie) wins over Accept-Language; without it, Accept-Language decides. The
same refusal answers in the same words, as JSON from the API and on the console's error page
(or its htmx fragment)."""

from __future__ import annotations

import html
import re

import pytest

from offboard.i18n import LANG_COOKIE
from tests.api.conftest import World, sign_in

http_layer_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

ZH = "zh-CN,zh;q=0.9"
EN = "en-US,en;q=0.9"
CASES = [  # (language cookie, Accept-Language, the locale both must answer in)
    ("en", ZH, "en"),
    ("zh-CN", EN, "zh-CN"),
    (None, ZH, "zh-CN"),
    (None, EN, "en"),
]
PAGE_LANG = re.compile(r'<html lang="([^"]+)"')
ALERT = re.compile(r'<div class="alert" role="alert">([^<]*?)\s*(?:<small class="ref">|</div>)')
CODE = re.compile(r'<small class="ref">[^<]*?(\S+)</small>')  # the code, a reference for support


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@http_layer_only
@pytest.mark.parametrize(("cookie", "accept", "expected"), CASES, ids=[f"cookie={c}-accept={a[:2]}" for c, a, _ in CASES])
def test_issue_8_spec_9_an_api_error_and_the_console_error_page_answer_in_one_language(world: World, client, cookie, accept, expected):
    sign_in(client, world, world.a, "super")
    if cookie is not None:
        client.cookies.set(LANG_COOKIE, cookie)
    missing = 2**62
    for api_path, console_path in (
        (f"/api/v1/members/{missing}", f"/members/{missing}"),  # a domain error (NotFound)
        ("/api/v1/nothing-here", "/nothing-here"),  # an HTTP error before any route
    ):
        api = client.get(api_path, headers={"Accept-Language": accept})
        assert api.status_code == 404 and api.headers["content-type"].startswith("application/json"), api.text[:300]
        message = api.json()["message"]
        assert _chinese(message) == (expected == "zh-CN"), (api_path, message)
        for extra in ({}, {"HX-Request": "true"}):
            page = client.get(console_path, headers={"Accept-Language": accept, **extra})
            assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), page.text[:300]
            assert html.unescape(ALERT.search(page.text).group(1)) == message, (console_path, extra)
            assert CODE.search(page.text).group(1) == api.json()["error"]
            if not extra:  # the whole page is in that language, not just the message
                assert PAGE_LANG.search(page.text).group(1) == expected
