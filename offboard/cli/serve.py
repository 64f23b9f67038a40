"""`offboard serve`: the REST API and the console over HTTP (uvicorn), with the sweep of due
work and the runner of confirmed bulk exits in the same process unless --no-worker (then run
`offboard worker`)."""

from __future__ import annotations

import os
import threading
from typing import Annotated

import structlog
import typer

from offboard.cli.output import console
from offboard.cli.state import STATE
from offboard.i18n import translate
from offboard.jobs.bulk import keep_running

log = structlog.get_logger("offboard.worker")


def _sweep_forever(stop: threading.Event, interval: int) -> None:
    from offboard.cli.jobs import run_once

    while not stop.wait(interval):
        try:
            report = run_once()
            box = report["outbox"]
            if report["took_effect"] or report["taken_over"] or report["finalized"] or report["windows_closed"] or report["erasure_steps"] or report["failed"] or box["delivered"] or box["failed"]:
                log.info("sweep", **report)
        except Exception:  # keep serving; the next pass retries (it is idempotent)
            log.exception("sweep_failed")


# uvicorn builds the application from its import string in the serving process, so this command
# never imports the API; the application finds the database in OFFBOARD_DATABASE_URL.
APP = "offboard.api.app:app_from_env"
DEMO_APP = "offboard.api.app:demo_app_from_env"


def run_server(host: str, port: int, *, demo: bool = False, worker: bool = True, interval: int = 30, processes: int = 1) -> None:
    import uvicorn

    from offboard.settings import WebSettings
    from offboard.store.db import resolve_url

    STATE.services()  # a database that is missing or not migrated is refused here, in the CLI's words
    WebSettings.from_env()  # and so is a malformed OFFBOARD_TRUSTED_PROXIES
    os.environ["OFFBOARD_DATABASE_URL"] = resolve_url(STATE.db)
    stop = threading.Event()
    if worker:
        threading.Thread(target=_sweep_forever, args=(stop, interval), name="offboard-sweep", daemon=True).start()
        # A bulk exit confirmed in the console starts within a second or two, not at the next sweep.
        threading.Thread(target=keep_running, args=(STATE.services(), stop), name="offboard-bulk", daemon=True).start()
    console.print(translate("Serving on {url} (API docs at {url}/docs). Press Ctrl+C to stop.", STATE.locale, url=f"http://{host}:{port}"))
    try:
        uvicorn.run(DEMO_APP if demo else APP, factory=True, host=host, port=port, log_level="warning", proxy_headers=False, workers=processes)
    finally:
        stop.set()


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not run due work in this process (run `offboard worker` instead).")] = False,
    interval: Annotated[int, typer.Option(help="Seconds between sweeps of due work.", min=1, max=3600)] = 30,
    workers: Annotated[int, typer.Option("--workers", help="API processes serving the same port; they hold no state (PostgreSQL for more than one).", min=1, max=64)] = 1,
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the console, and run due work.

    Behind a reverse proxy, list it in OFFBOARD_TRUSTED_PROXIES (addresses or networks) so the
    client address and https are taken from its X-Forwarded-For and X-Forwarded-Proto; set
    OFFBOARD_METRICS_TOKEN to scrape /metrics from anywhere but the loopback interface.
    """
    run_server(host, port, worker=not no_worker, interval=interval, processes=workers)
