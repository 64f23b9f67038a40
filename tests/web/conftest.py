"""Browser tests: the demo company served by uvicorn on a free port, driven by Playwright in
Debian's Chromium (ECOSYSTEM.md). Without Chromium they skip, except under CI=true.

Console tests without a browser take `demo_company`: the same demo through the ASGI app
(TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import re
from dataclasses import dataclass

import pyotp
import pytest
from playwright.sync_api import expect
from fastapi.testclient import TestClient

from offboard.actions import exits as exit_actions
from offboard.actions.context import Services, tenant_transaction
from offboard.api.app import create_app
from offboard.bootstrap import build
from offboard.demo import DEMO_SLUG, build_demo
from offboard.demo.personas import password_for, totp_secret_for
from offboard.store import repo, schema
from offboard.store.db import connect
from tests.conftest import IN_CI, own_database
from tests.support.clock import FakeClock
from tests.support.live import serving

CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"Chromium not found at {CHROMIUM} (CI=true: browser tests must not skip)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


def sign_in_page(page, base: str, userid: str) -> None:
    """Sign a persona in through the console's forms, reading the code from the demo panel."""
    page.goto(f"{base}/login")
    page.fill("input[name=userid]", userid)
    page.fill("input[name=password]", password_for(userid))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if "/login/totp" in page.url:
        page.fill("input[name=code]", page.locator(f"code[data-userid='{userid}']").inner_text().strip())
        page.click("button[type=submit]")
    expect(page.locator("header.topbar")).to_be_visible()


def _serve_demo(path: Path, prepare=None, clock: FakeClock | None = None):
    """The demo company built in a fresh SQLite file and served in demo mode, as `offboard demo`
    serves it (after `prepare(services)`, when given; on `clock`, when the test moves time);
    yields its base URL."""
    db = connect(str(path))
    schema.upgrade(db)
    db.dispose()
    services = build(str(path), clock=clock)
    build_demo(services)
    if prepare is not None:
        prepare(services)
    try:
        with serving(create_app(services, demo=True)) as base:
            yield base
    finally:
        services.db.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The demo company shared by the browser tests of a session."""
    yield from _serve_demo(tmp_path_factory.mktemp("web") / "demo.db")


@pytest.fixture(scope="module")
def own_live_server(tmp_path_factory):
    """A demo company of the module's own, so its personas' one-time codes are its own too."""
    yield from _serve_demo(tmp_path_factory.mktemp("web-own") / "demo.db")


def start_demo_exits(services: Services) -> None:
    """The demo with exits in each state a page shows: chenjing removed by HR (open, zhaolei
    succeeds), sunli's exit scheduled for next week."""
    with tenant_transaction(services, DEMO_SLUG, by="wangfang") as uow:
        exit_actions.start_exit(uow, "chenjing", type="removal", reason_category="resignation", reason="个人原因", successor="zhaolei")
        exit_actions.start_exit(uow, "sunli", type="removal", reason_category="contract_end", reason="合同到期", effective_at=uow.now + timedelta(days=7))


@pytest.fixture(scope="module")
def live_server_with_exits(tmp_path_factory):
    """A demo company of the module's own with an open and a scheduled exit (start_demo_exits)."""
    yield from _serve_demo(tmp_path_factory.mktemp("web-exits") / "demo.db", start_demo_exits)


# --- the demo company through the ASGI app, on SQLite and PostgreSQL --------------------------------


@dataclass
class DemoCompany:
    """The demo enterprise with one exit more: HR (wangfang) removed chenjing, zhaolei succeeds."""

    services: Services
    clock: FakeClock
    app: object
    exit_id: int
    db_url: str

    def member_id(self, userid: str) -> int:
        with self.services.db.read() as conn:
            return repo.member_by_userid(conn, repo.tenant_by_slug(conn, DEMO_SLUG).id, userid).id

    def signed_in(self, userid: str, locale: str = "zh-CN") -> TestClient:
        """A console session of a persona (password, then its TOTP code when a role needs one).
        The clock moves to a fresh 30 s step first, so no code is refused as replayed."""
        self.clock.advance(seconds=31)
        client = TestClient(self.app, follow_redirects=False, headers={"Accept-Language": locale})
        client.get("/login")
        response = client.post("/login", data={"tenant": DEMO_SLUG, "userid": userid, "password": password_for(userid), "pre": client.cookies["ob_pre"]})
        assert response.status_code == 303, response.text
        if response.headers["location"].startswith("/login/totp"):
            csrf = CSRF_INPUT.search(client.get("/login/totp").text).group(1)
            code = pyotp.TOTP(totp_secret_for(userid)).at(self.clock.now())
            done = client.post("/login/totp", data={"code": code, "csrf": csrf})
            assert done.status_code == 303, done.text
        return client


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_company(request, tmp_path_factory):
    """Built once per test module and database; tests read it and add only audit-neutral rows."""
    with own_database(request, tmp_path_factory, "demo-asgi") as url:
        clock = FakeClock()
        services = build(url, clock=clock)
        try:
            build_demo(services)
            with tenant_transaction(services, DEMO_SLUG, by="wangfang") as uow:
                started = exit_actions.start_exit(uow, "chenjing", type="removal", reason_category="resignation", reason="个人原因", successor="zhaolei")
            yield DemoCompany(services, clock, create_app(services), started.id, url)
        finally:
            services.db.dispose()
