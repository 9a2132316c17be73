"""``payez serve`` and ``payez worker``: the web app, the sandbox and the worker.

The web stack is imported when a command runs, so that other ``payez`` commands start fast.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from payez.config import Settings
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for

if TYPE_CHECKING:
    from fastapi import FastAPI


PortOption = Annotated[int | None, typer.Option("--port", help="HTTP port (default 8000)")]


def _settings(database_url: str | None, port: int | None) -> Settings:
    settings = settings_for(database_url)
    if port is not None and port != settings.port:
        # A different port moves the default base URL with it (links in replies use it).
        base = settings.base_url
        if base == f"http://{settings.host}:{settings.port}":
            base = f"http://{settings.host}:{port}"
        settings = settings.with_overrides(port=port, base_url=base)
    return settings


@app.command("serve")
def serve(
    database_url: DatabaseUrlOption = None,
    port: PortOption = None,
    worker: Annotated[bool, typer.Option(help="Run the worker in this process too.")] = True,
) -> None:
    """Start the web app, the sandbox network and (by default) the worker, in one process."""
    import uvicorn

    from payez.adapters.db.engine import make_engine
    from payez.adapters.db.migrate import migrate
    from payez.entrypoints.composition import oauth_clients_for, service_context_for
    from payez.entrypoints.web.app import create_app
    from payez.entrypoints.worker import Worker
    from payez.sandbox.bootstrap import wire_sandbox
    from payez.sandbox.network.app import create_sandbox_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _settings(database_url, port)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    wiring = wire_sandbox(engine, settings)
    ctx = service_context_for(settings, engine, wiring)
    clients = oauth_clients_for(settings, wiring)
    sandbox = create_sandbox_app(engine, settings)
    background = Worker(ctx) if worker else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background is not None:
            # The worker's network calls go to this very server: start it once we listen.
            threading.Timer(0.5, background.start).start()
        yield
        sandbox.state.sandbox.streams.close_all()
        if background is not None:
            background.shutdown()

    web = create_app(ctx, oauth_clients=clients, sandbox=sandbox)
    web.router.lifespan_context = lifespan
    typer.echo(f"Payez on {settings.base_url} (sandbox: {wiring.api_base_url}/)")
    uvicorn.run(web, host=settings.host, port=settings.port, log_level="warning")


@app.command("worker")
def worker(database_url: DatabaseUrlOption = None, port: PortOption = None) -> None:
    """Run only the worker, against the sandbox of a `payez serve` on --port."""
    from payez.adapters.db.engine import make_engine
    from payez.entrypoints.composition import service_context_for
    from payez.entrypoints.worker import Worker
    from payez.sandbox.bootstrap import wire_sandbox

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _settings(database_url, port)
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    wiring = wire_sandbox(engine, settings)
    background = Worker(service_context_for(settings, engine, wiring))
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    background.start()
    stopped.wait()
    background.shutdown()
