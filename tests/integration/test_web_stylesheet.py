"""The design system's stylesheet: a file of the package, linked from every page by a URL
that carries a digest of its content, kept a year by browsers under that URL and revalidated
under any other."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources

import pytest

from payez.entrypoints.web.static import FOREVER, REVALIDATE, static_url
from tests.integration.web_world import WebWorld, web_world


@pytest.fixture
def web(sqlite_url: str) -> Iterator[WebWorld]:
    with web_world(sqlite_url) as world:
        yield world


def test_the_stylesheet_ships_in_the_package() -> None:
    css = resources.files("payez.entrypoints.web") / "static" / "payez.css"
    assert css.is_file() and "--pz-accent" in css.read_text()


@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page"])
def test_every_page_links_the_stylesheet_by_its_digest(web: WebWorld, path: str) -> None:
    page = web.browser().get(path)
    (href,) = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page.text)
    assert re.fullmatch(r"/static/payez\.css\?v=[0-9a-f]{16}", href)
    assert href == static_url("payez.css")
    assert "<style>" not in page.text


def test_the_linked_url_is_kept_a_year_and_any_other_revalidated(web: WebWorld) -> None:
    browser = web.browser()
    current = browser.get(static_url("payez.css"))
    assert current.status_code == 200
    assert current.headers["content-type"].startswith("text/css")
    assert current.headers["cache-control"] == FOREVER
    assert current.headers["x-content-type-options"] == "nosniff"
    for stale in ("/static/payez.css", "/static/payez.css?v=0123456789abcdef"):
        answer = browser.get(stale)
        assert answer.status_code == 200 and answer.headers["cache-control"] == REVALIDATE
    # Revalidation is cheap: the ETag answers 304.
    again = browser.get("/static/payez.css", headers={"if-none-match": current.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == REVALIDATE


def test_only_the_static_directory_is_served(web: WebWorld) -> None:
    browser = web.browser()
    assert browser.get("/static/../static.py").status_code == 404
    assert browser.get("/static/%2e%2e/static.py").status_code == 404
    assert browser.get("/static/missing.css").status_code == 404
