"""Public pages and the health check."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import exc as sa_exc

from payez.entrypoints.web.site import Site, language

log = logging.getLogger("payez.web")

THEME_COLOUR = "#0b5cad"
_DESCRIPTION = {
    "fr": "Payez, envoyez et donnez en publiant un message.",
    "en": "Pay, send and give by writing a post.",
}
# The icon fills its square (safe for "maskable": the mark stays inside the central 80 %).
ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
    f'<rect width="512" height="512" fill="{THEME_COLOUR}"/>'
    '<text x="256" y="340" font-family="system-ui,sans-serif" font-size="280" '
    'font-weight="700" text-anchor="middle" fill="#ffffff">P€</text>'
    "</svg>"
)


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

    @router.get("/manifest.webmanifest")
    def manifest(request: Request) -> JSONResponse:
        # What a phone needs to install Payez as an app: name, start page, colours, icons.
        lang = language(request)
        return JSONResponse(
            {
                # Who the installed app is, whatever its start page becomes later.
                "id": "/",
                "name": "Payez",
                "short_name": "Payez",
                "description": _DESCRIPTION[lang],
                "lang": lang,
                "start_url": "/dashboard",
                "scope": "/",
                "display": "standalone",
                "background_color": "#ffffff",
                "theme_color": THEME_COLOUR,
                "icons": [
                    {"src": "/icon.svg", "sizes": "any", "type": "image/svg+xml"},
                    {
                        "src": "/icon.svg",
                        "sizes": "any",
                        "type": "image/svg+xml",
                        "purpose": "maskable",
                    },
                ],
            },
            media_type="application/manifest+json",
        )

    @router.get("/icon.svg")
    def icon() -> Response:
        return Response(
            ICON_SVG,
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        return site.render(request, "home.html")

    return router
