"""The sandbox network as a FastAPI application, meant to be mounted at ``/sandbox``."""

from __future__ import annotations

import jinja2
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from payez.config import Settings
from payez.domain.errors import PayezError
from payez.ports.clock import Clock, SystemClock
from payez.sandbox.mail import pages as mail_pages
from payez.sandbox.network import api, oauth, streaming, timeline
from payez.sandbox.network.context import SandboxContext, StreamRegistry
from payez.sandbox.network.errors import error_body, http_status
from payez.sandbox.network.instance import sandbox_urls

MOUNT_PATH = "/sandbox"


def create_sandbox_app(
    engine: sa.Engine,
    settings: Settings,
    *,
    clock: Clock | None = None,
    poll_interval: float = 0.1,
    heartbeat_interval: float = 10.0,
    max_stream_seconds: float = 3600.0,
) -> FastAPI:
    """The sandbox social network on ``engine``'s database (tables from migrations 0003 and
    0014), its identity read from that database once, here; and the sandbox mailbox's pages
    (``/mail``, table from migration 0020).

    Mount it at ``/sandbox``; clients then use ``api_base_url=<base_url>/sandbox``. When a
    server starts stopping, call ``app.state.sandbox.streams.stop()`` (or ``close_all()``
    before a restart) so open streams end cleanly instead of holding the server up.
    """
    with engine.begin() as conn:
        urls = sandbox_urls(conn, settings.base_url.rstrip("/") + MOUNT_PATH)
    app = FastAPI(
        title="Payez sandbox network",
        summary="A small social network speaking the Mastodon client API.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    templates = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("payez.sandbox.network", "templates"),
                jinja2.PackageLoader("payez.sandbox.mail", "templates"),
            ]
        ),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.state.sandbox = SandboxContext(
        engine=engine,
        settings=settings,
        clock=clock or SystemClock(),
        urls=urls,
        templates=templates,
        poll_interval=poll_interval,
        heartbeat_interval=heartbeat_interval,
        max_stream_seconds=max_stream_seconds,
        streams=StreamRegistry(),
    )

    @app.exception_handler(PayezError)
    async def payez_error(_request: Request, exc: PayezError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=http_status(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        message = "Record not found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse({"error": message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": f"Validation failed: {exc.errors()}"}, status_code=422)

    app.include_router(api.router)
    app.include_router(oauth.router)
    app.include_router(streaming.router)
    app.include_router(timeline.router)
    app.include_router(mail_pages.router)
    return app
