"""Installable on a phone: a web app manifest (name, start page, colours, icons) linked from
every page, in the visitor's language, and an icon that is a real SVG image."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest

from tests.integration.web_world import WebWorld, web_world


@pytest.fixture
def web(sqlite_url: str) -> Iterator[WebWorld]:
    with web_world(sqlite_url) as world:
        yield world


@pytest.mark.parametrize(
    ("language", "description"),
    [
        ("fr", "Payez, envoyez et donnez en publiant un message."),
        ("en", "Pay, send and give by writing a post."),
    ],
)
def test_the_manifest_names_the_app_in_the_visitors_language(
    web: WebWorld, language: str, description: str
) -> None:
    browser = web.browser(**{"accept-language": language})
    answer = browser.get("/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = answer.json()
    assert (manifest["name"], manifest["lang"], manifest["description"]) == (
        "Payez",
        language,
        description,
    )
    assert manifest["display"] == "standalone" and manifest["scope"] == "/"
    # The start page exists (a visitor not logged in is sent to log in, not to a 404).
    assert browser.get(manifest["start_url"]).status_code in (200, 303)
    purposes = {icon.get("purpose", "any") for icon in manifest["icons"]}
    assert purposes == {"any", "maskable"}
    for icon in manifest["icons"]:
        image = browser.get(icon["src"])
        assert image.status_code == 200 and image.headers["content-type"] == icon["type"]
        root = ElementTree.fromstring(image.content)
        assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 512 512"


@pytest.mark.parametrize("path", ["/", "/login", "/signup"])
def test_every_page_links_the_manifest_and_its_colour(web: WebWorld, path: str) -> None:
    page = web.browser().get(path)
    assert page.status_code == 200
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page.text
    assert '<meta name="theme-color" content="#0b5cad">' in page.text
