"""Public pages and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from payez.entrypoints.web.site import Site


def page_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    def healthz() -> JSONResponse:
        with site.ctx.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return JSONResponse({"status": "ok"})

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        return site.render(request, "home.html")

    return router
