"""Every page and endpoint of the app's route table answers with the security headers: a
Content-Security-Policy with a fresh nonce and no framing, no referrer to other sites, no MIME
sniffing; HSTS only when Payez is served over https."""

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


def test_https_adds_strict_transport_security(database_url: str) -> None:
    with web_world(database_url, base_url="https://payez.example") as web:
        answer = web.browser().client.get("/")
        assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
