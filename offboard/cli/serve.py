"""`offboard serve`: the REST API and the console over HTTP (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from offboard.cli.output import console
from offboard.cli.state import STATE
from offboard.i18n import translate


def run_server(host: str, port: int, *, demo: bool = False) -> None:
    import uvicorn

    from offboard.api.app import create_app

    app = create_app(STATE.services(), demo=demo)
    console.print(translate("Serving on {url} (API docs at {url}/docs). Press Ctrl+C to stop.", STATE.locale, url=f"http://{host}:{port}"))
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the console."""
    run_server(host, port)
