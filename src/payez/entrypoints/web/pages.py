"""Public pages and the health check."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import exc as sa_exc

from payez.entrypoints.web.site import Site

log = logging.getLogger("payez.web")


def page_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    def healthz() -> JSONResponse:
        # A load balancer reads the status: 503 takes this instance out of rotation while its
        # database is unreachable, and the body says why, for the person looking.
        try:
            with site.ctx.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except sa_exc.DBAPIError as exc:
            log.warning("healthz: the database is unreachable: %s", type(exc.orig).__name__)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        return site.render(request, "home.html")

    return router
