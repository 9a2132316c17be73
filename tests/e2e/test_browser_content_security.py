"""In headless Chromium: Payez's Content-Security-Policy runs the inline script a page wrote
with this response's nonce, and refuses one injected without it (or with a stale nonce), and
refuses to be framed by another site."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser

from payez.config import load_settings
from payez.entrypoints.web.security_headers import csp_nonce, security_headers_middleware
from tests.e2e.browser import chromium
from tests.integration.network_server import ServedApp

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the fixture


@pytest.fixture
def served() -> Iterator[ServedApp]:
    app = FastAPI()
    app.middleware("http")(security_headers_middleware(load_settings({})))
    seen: list[str] = []

    @app.get("/page", response_class=HTMLResponse)
    def page(request: Request) -> str:
        nonce = csp_nonce(request)
        stale = seen[-1] if seen else "none"
        seen.append(nonce)
        add = "document.getElementById('out').textContent +="
        return (
            "<!doctype html><html><body><p id=out>none</p>"
            f"<script nonce='{nonce}'>{add} ' ours'</script>"
            f"<script>{add} ' injected'</script>"
            f"<script nonce='{stale}'>{add} ' stale'</script>"
            "</body></html>"
        )

    server = ServedApp(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_only_the_responses_own_inline_script_runs(served: ServedApp, chromium: Browser) -> None:
    page = chromium.new_page()
    page.goto(served.url + "/page")
    page.reload()  # the second response: the first one's nonce is now stale
    assert page.locator("#out").inner_text() == "none ours"
    page.close()


def test_a_payez_page_is_not_shown_in_another_sites_frame(
    served: ServedApp, chromium: Browser
) -> None:
    page = chromium.new_page()
    page.set_content(f"<iframe id=f src='{served.url}/page'></iframe>")
    page.wait_for_timeout(1000)
    frame = page.frame_locator("#f")
    assert frame.locator("#out").count() == 0  # blocked: no document from Payez inside
    page.close()
