"""``payez serve`` and ``payez worker``: the web app, the sandbox and the worker.

The web stack is imported when a command runs, so that other ``payez`` commands start fast.
Both commands stop on SIGTERM or SIGINT within seconds and exit with status 0 (see
``entrypoints/stopping.py`` and ``entrypoints/web/server.py``); ``serve`` in several processes
stops them all the same way (``entrypoints/web/processes.py``).
"""

from __future__ import annotations

import gc
import logging
import socket
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from payez.config import Settings
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for
from payez.entrypoints.stopping import exit_without_stragglers, stop_on_signals

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from payez.sandbox.bootstrap import SandboxWiring

# After the server and the worker have stopped, what is left may run this long before it is
# abandoned: the whole stop stays well within the 10 s a supervisor usually grants.
STRAGGLER_SECONDS = 2.0

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
    """Start the web app, the sandbox network and (by default) the worker, in one process, or
    in PAYEZ_WEB_PROCESSES processes (PostgreSQL) with the worker in the first."""
    stop = threading.Event()
    with stop_on_signals(stop.set):
        _serve(database_url, port, worker, stop)


def _serve(database_url: str | None, port: int | None, worker: bool, stop: threading.Event) -> None:
    from payez.adapters.db.engine import make_engine, wait_for_database
    from payez.adapters.db.migrate import migrate
    from payez.entrypoints.web.processes import listening_socket, run_processes
    from payez.entrypoints.web.server import GRACEFUL_SECONDS
    from payez.sandbox.bootstrap import wire_sandbox

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _settings(database_url, port)
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    if not wait_for_database(engine, stop):
        engine.dispose()
        return
    migrate(settings.database_url)
    # Once for all the processes: each would otherwise register its own OAuth client, and a
    # sign-in begun on one process could not be finished on another.
    wiring = wire_sandbox(engine, settings)
    if settings.web_processes == 1:
        _serve_here(settings, engine, wiring, worker, stop)
        exit_without_stragglers(STRAGGLER_SECONDS)
        return
    engine.dispose()  # the processes open their own: no connection may cross a fork
    try:
        sock = listening_socket(settings.host, settings.port)
    except OSError as exc:
        typer.echo(f"Cannot listen on {settings.host}:{settings.port}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    _announce(settings, wiring)
    # Before the fork too: a collection in a process would otherwise write to every page of
    # what the processes share with the parent, copying it.
    _freeze_startup_objects()

    def serve_one(index: int) -> None:
        own = make_engine(settings.database_url, pool_size=settings.database_pool_size)
        _serve_here(settings, own, wiring, worker and index == 0, stop, sock=sock)
        exit_without_stragglers(STRAGGLER_SECONDS)

    with sock:
        status = run_processes(
            settings.web_processes,
            serve_one,
            stop,
            # A process's own worst case (the server, then the worker, then stragglers), and a
            # margin: a slow but orderly stop is never cut short.
            stop_seconds=2 * GRACEFUL_SECONDS + STRAGGLER_SECONDS + 2,
        )
    logging.getLogger("payez.server").info("stopped")
    if status:
        raise typer.Exit(status)


def _announce(settings: Settings, wiring: SandboxWiring) -> None:
    processes = settings.web_processes
    on = f", {processes} web processes" if processes > 1 else ""
    typer.echo(f"Payez on {settings.base_url} (sandbox: {wiring.api_base_url}/){on}")


def _serve_here(
    settings: Settings,
    engine: Engine,
    wiring: SandboxWiring,
    worker: bool,
    stop: threading.Event,
    sock: socket.socket | None = None,
) -> None:
    """The web app, the sandbox and (if ``worker``) the worker, in this process, on ``sock``
    (one of several processes) or on a socket of its own; returns once stopped."""
    import uvicorn

    from payez.entrypoints.composition import oauth_clients_for, service_context_for
    from payez.entrypoints.web.app import create_app
    from payez.entrypoints.web.server import GRACEFUL_SECONDS, Server
    from payez.entrypoints.worker import Worker
    from payez.sandbox.network import threads as sandbox_threads
    from payez.sandbox.network.app import create_sandbox_app

    ctx = service_context_for(settings, engine, wiring)
    clients = oauth_clients_for(settings, wiring)
    sandbox = create_sandbox_app(engine, settings)
    background = Worker(ctx, stop=stop) if worker else None

    def start_background() -> None:
        if background is not None:
            background.start()

    def stop_background() -> None:
        sandbox.state.sandbox.streams.stop()
        web.state.live_streams.stop()
        if background is not None:
            background.request_stop()

    web = create_app(ctx, oauth_clients=clients, sandbox=sandbox)
    config = uvicorn.Config(
        web,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    server = Server(config, stop=stop, on_listening=start_background, on_stopping=stop_background)
    if stop.is_set():  # asked to stop while starting up
        engine.dispose()
        return
    if sock is None:
        _announce(settings, wiring)
    _freeze_startup_objects()
    try:
        server.run(sockets=None if sock is None else [sock])
    finally:
        # Idle, the sandbox's threads would otherwise count as stragglers and hold the exit.
        sandbox_threads.shut_down()
        if background is not None:
            # The worker was told to stop when the server began stopping: it has had the
            # same time as the requests in flight, and gets no more.
            background.shutdown(GRACEFUL_SECONDS)
        engine.dispose()
    logging.getLogger("payez.server").info("stopped")


@app.command("worker")
def worker(database_url: DatabaseUrlOption = None, port: PortOption = None) -> None:
    """Run only the worker, against the sandbox of a `payez serve` on --port."""
    from payez.adapters.db.engine import make_engine, wait_for_database
    from payez.entrypoints.composition import service_context_for
    from payez.entrypoints.worker import Worker
    from payez.sandbox.bootstrap import wire_sandbox

    stop = threading.Event()
    with stop_on_signals(stop.set):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        settings = _settings(database_url, port)
        engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
        if not wait_for_database(engine, stop):
            engine.dispose()
            return
        wiring = wire_sandbox(engine, settings)
        background = Worker(service_context_for(settings, engine, wiring), stop=stop)
        _freeze_startup_objects()
        background.start()  # does nothing if a signal came meanwhile
        stop.wait()
        background.shutdown()
        engine.dispose()
        exit_without_stragglers(STRAGGLER_SECONDS)


def _freeze_startup_objects() -> None:
    """What start-up built (modules, the apps, their routes) lives as long as the process:
    leave it out of garbage collections. Besides shorter pauses, this spares a stopping process
    a final collection that takes seconds on a busy machine."""
    gc.collect()
    gc.freeze()
