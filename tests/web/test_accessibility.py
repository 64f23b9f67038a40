"""Issue 9 (phones and accessibility): every console page, signed in as HR and as the super
admin, in both languages, at a laptop's width and at a phone's (390 px), is scanned by axe-core
(the axe-playwright-python package bundles it) in Chromium. No serious or critical violation;
at 390 px nothing makes the page wider than the screen. A screenshot of each page at 390 px is
saved under the test's output folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from offboard.i18n import LANG_COOKIE
from tests.web.conftest import sign_in_page

AXE = Axe()
WIDTHS = {"laptop": 1280, "phone": 390}
LANGUAGES = {"zh-CN": "zh-CN,zh;q=0.9", "en": "en"}


def _first_link(page: Page, base: str, listing: str, pattern: str) -> str | None:
    page.goto(base + listing)
    for href in page.locator("main a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))"):
        if re.fullmatch(pattern, href or ""):
            return href
    return None


def _pages(page: Page, base: str) -> list[str]:
    """Every page of the console's menu, and one of each page behind a list."""
    paths = [a for a in page.locator("nav.nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")]
    paths += ["/me", "/me/data"]
    member = _first_link(page, base, "/members", r"/members/\d+")
    paths += [member, f"{member}/exit", f"{member}/rollback", f"{member}/data"] if member else []
    page.goto(base + "/exits")
    paths += page.locator("main a[href^='/exits/']").evaluate_all("els => [...new Set(els.map(e => e.getAttribute('href')))]")
    exits = [p for p in paths if re.fullmatch(r"/exits/\d+", p)]
    assert len(exits) >= 2, paths  # the open and the scheduled exit
    return paths + [f"{exits[0]}?tab={tab}" for tab in ("handover", "checklist", "timeline")]


def _serious(results) -> list[str]:
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


@pytest.mark.parametrize("userid", ["wangfang", "zhangwei"])  # HR and the super admin
def test_issue_9_every_page_passes_axe_and_fits_a_phone(browser: Browser, live_server_with_exits: str, output_path: str, userid: str):
    """One session per persona (a sign-in uses up the current code); the language cookie
    switches the console between Chinese and English."""
    context = browser.new_context(extra_http_headers={"Accept-Language": LANGUAGES["zh-CN"]}, viewport={"width": WIDTHS["laptop"], "height": 900})
    page = context.new_page()
    sign_in_page(page, live_server_with_exits, userid)
    problems: dict[str, list[str]] = {}
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    paths = _pages(page, live_server_with_exits)
    for lang, path, (width_name, width) in ((lang, path, w) for lang in LANGUAGES for path in paths for w in WIDTHS.items()):
        context.add_cookies([{"name": LANG_COOKIE, "value": lang, "url": live_server_with_exits}])
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server_with_exits + path)
        page.wait_for_load_state()
        found = _serious(AXE.run(page))
        if width_name == "phone":
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                found.append(f"the page is {overflow} px wider than a {width} px screen")
            page.screenshot(path=str(out / f"{userid}-{lang}-{path.strip('/').replace('/', '_') or 'overview'}-{width}.png"), full_page=True)
        if found:
            problems[f"{path} ({lang}) at {width} px"] = found
    context.close()
    assert problems == {}, "\n".join(f"{where}:\n  " + "\n  ".join(items) for where, items in problems.items())


def test_issue_9_the_menu_collapses_on_a_phone_and_opens_with_the_keyboard(browser: Browser, live_server_with_exits: str, output_path: str):
    context = browser.new_context(extra_http_headers={"Accept-Language": LANGUAGES["zh-CN"]}, viewport={"width": 390, "height": 800})
    page = context.new_page()
    sign_in_page(page, live_server_with_exits, "wangfang")
    page.wait_for_load_state("load")  # console.js has set the toggle up (on DOMContentLoaded)
    toggle = page.locator("header.topbar .menu-toggle")
    expect(toggle).to_be_visible()
    expect(page.locator("nav.nav")).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.locator("nav.nav")).to_be_visible()
    links = page.locator("nav.nav a")
    assert links.count() >= 5
    heights = links.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    assert max(heights) < 60, heights  # one line per entry, not one character per line
    page.screenshot(path=str(Path(output_path) / "menu-open-390.png"))
    context.close()
