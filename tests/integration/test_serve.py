"""`offboard serve` and `offboard demo` hand uvicorn the application's import string (its factory
mode), so the command line never imports the API: served from a real SQLite file over HTTP, in
demo mode only when `offboard demo` serves it, and stopped by Ctrl+C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from offboard.cli.serve import APP, DEMO_APP


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _offboard(*args: str) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "OFFBOARD_")) or k == "OFFBOARD_KEY_FILE"}
    return subprocess.Popen([sys.executable, "-c", "from offboard.cli.main import main; main()", *args], env=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_serving(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in time")


def test_the_import_strings_name_the_factories_of_the_application():
    from offboard.api import app

    for target in (APP, DEMO_APP):
        module, _, name = target.partition(":")
        assert module == "offboard.api.app" and callable(getattr(app, name))


def test_serve_and_demo_answer_over_http_and_only_demo_lists_the_demo_accounts(tmp_path):
    db = str(tmp_path / "demo.db")
    built = _offboard("--db", db, "demo", "--no-serve")
    _, err = built.communicate(timeout=300)
    assert built.returncode == 0, err
    for command, demo in ((("serve", "--no-worker"), False), (("demo",), True)):
        port = _free_port()
        process = _offboard("--db", db, *command, "--port", str(port))
        try:
            _wait_until_serving(f"http://127.0.0.1:{port}", process)
            login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=10)
            assert login.status_code == 200
            assert ("zhangwei" in login.text) is demo  # the demo panel names the personas
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl+C
            process.communicate(timeout=30)
        assert process.returncode == 0


def test_serve_refuses_a_database_without_the_schema_before_serving(tmp_path):
    process = _offboard("--db", str(tmp_path / "none.db"), "serve", "--port", str(_free_port()))
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0 and "schema_missing" in err
    assert not (tmp_path / "none.db").exists()


def test_r_exit_7_serve_runs_a_confirmed_bulk_exit_within_seconds_not_at_the_next_sweep(tmp_path):
    """The console confirms a job and shows its progress: `offboard serve` runs it in its bulk
    thread (a look every second), not at its 30 s sweep of due work."""
    from sqlalchemy import select

    from offboard.actions import bulk_exits
    from offboard.actions.context import tenant_transaction
    from offboard.bootstrap import build
    from offboard.domain import bulk_file
    from offboard.store import schema
    from offboard.store.db import connect
    from offboard.store.tables import jobs
    from tests.support.exits import make_company

    db = str(tmp_path / "bulk.db")
    engine = connect(db)
    schema.upgrade(engine)
    engine.dispose()
    services = build(db)
    company = make_company(services, per_kind=1)
    with tenant_transaction(services, company.slug, "hanna") as uow:
        job_id = bulk_exits.create(uow, bulk_file.read(b"userid\nsam\nrita\n", "x.csv", "UTC"), "x.csv", bulk_exits.Defaults(reason_category="dismissal", reason="layoff"))
        bulk_exits.confirm(uow, job_id)

    def state() -> str:
        with services.db.read() as conn:
            return conn.execute(select(jobs.c.state).where(jobs.c.id == job_id)).scalar_one()

    port = _free_port()
    process = _offboard("--db", db, "serve", "--port", str(port))
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}", process)
        serving = time.monotonic()
        while state() == "running" and time.monotonic() - serving < 15:
            time.sleep(0.2)
        took = time.monotonic() - serving
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        services.db.dispose()
    assert state() == "done" and took < 10, (state(), took)
