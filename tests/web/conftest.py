"""Browser tests: the demo company served by uvicorn on a free port, driven by Playwright in
Debian's Chromium (ECOSYSTEM.md). Without Chromium they skip, except under CI=true."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from offboard.bootstrap import build
from offboard.demo import build_demo
from offboard.store import schema
from offboard.store.db import connect
from tests.conftest import IN_CI

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The demo company served in demo mode, as `offboard demo` serves it."""
    import uvicorn

    from offboard.api.app import create_app

    path = tmp_path_factory.mktemp("web") / "demo.db"
    db = connect(str(path))
    schema.upgrade(db)
    db.dispose()
    services = build(str(path))
    build_demo(services)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(services, demo=True), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    services.db.dispose()
