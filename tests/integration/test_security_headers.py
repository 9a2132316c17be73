"""Every page and endpoint of the app's route table answers with the security headers: a
Content-Security-Policy with a fresh nonce and no framing, no referrer to other sites, no MIME
sniffing; HSTS only when Payez is served over https. The widgets other sites embed are the one
exception to "no framing", and only their own answers are."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from starlette.routing import Route

from tests.integration.web_world import web_world

NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{24})'")


def every_route(routes: Iterable[object]) -> Iterator[Route]:
    """The app's routes, those of included routers too (kept wrapped by FastAPI)."""
    for route in routes:
        if isinstance(route, Route):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from every_route(inner.routes)


def _plain_get_paths(app: FastAPI) -> list[str]:
    return sorted(
        r.path
        for r in every_route(app.routes)
        if "GET" in (r.methods or set()) and "{" not in r.path
    )


def test_every_route_sends_the_headers_with_a_fresh_nonce(database_url: str) -> None:
    with web_world(database_url) as web:
        paths = _plain_get_paths(web.app)
        assert len(paths) > 30, paths
        client = web.browser().client
        nonces = set()
        for path in paths:
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code < 500, path
            policy = answer.headers.get("content-security-policy", "")
            found = NONCE.search(policy)
            assert found is not None, (path, policy)
            nonces.add(found[1])
            assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, path
            assert answer.headers["referrer-policy"] == "same-origin", path
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["x-frame-options"] == "DENY", path
            assert "strict-transport-security" not in answer.headers, path
        assert len(nonces) == len(paths)  # one nonce per response, never reused


EMBED_ROUTES = {"/embed/campaigns/{campaign_id}", "/embed/listings/{listing_id}"}


def test_only_the_embed_routes_may_be_framed(database_url: str) -> None:
    with web_world(database_url) as web:
        templates = sorted(
            r.path for r in every_route(web.app.routes) if "GET" in (r.methods or set())
        )
        assert set(templates) >= EMBED_ROUTES
        client = web.browser().client
        # Every parameter as "1": most answer "not found" or the login page, which must not be
        # framed either; the widgets' own "not found" is framed, like the widget.
        paths = {t: re.sub(r"\{[^}]+\}", "1", t) for t in templates}
        paths["/embed/unknown (no such route)"] = "/embed/unknown"
        for template, path in paths.items():
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code < 500, path
            policy = answer.headers.get("content-security-policy", "")
            if template in EMBED_ROUTES:
                assert "frame-ancestors *" in policy, path
                assert "x-frame-options" not in answer.headers, path
                assert "set-cookie" not in answer.headers, path
            else:
                assert "frame-ancestors 'none'" in policy, path
                assert answer.headers["x-frame-options"] == "DENY", path


def test_the_sites_that_may_frame_the_widgets_can_be_listed(sqlite_url: str) -> None:
    allowed = "https://restos.example https://*.restos.example"
    with web_world(sqlite_url, embed_frame_ancestors=allowed) as web:
        answer = web.browser().client.get("/embed/campaigns/1")
        assert f"frame-ancestors {allowed};" in answer.headers["content-security-policy"]
        assert "x-frame-options" not in answer.headers


def test_https_adds_strict_transport_security(database_url: str) -> None:
    with web_world(database_url, base_url="https://payez.example") as web:
        answer = web.browser().client.get("/")
        assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
