"""The API reference at /docs: read from the app's own spec, served with nothing from elsewhere
(the machine may be offline), and linked from every page's footer with the spec itself."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from payez.entrypoints.web.api_reference import reference_of, type_of
from tests.integration.web_world import WebWorld, web_world


class Links(HTMLParser):
    """Every URL a page makes the browser load or offer: script, link, img, iframe, a."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.scripts = 0
        self.anchors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.scripts += 1
        if tag in ("script", "img", "iframe", "source") and "src" in values:
            self.loaded.append(values["src"])
        if tag == "link" and "href" in values:
            self.loaded.append(values["href"])
        if tag == "a":
            self.anchors.append(values.get("href", ""))


def links_of(page: str) -> Links:
    parser = Links()
    parser.feed(page)
    return parser


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def test_docs_describe_every_operation_and_schema_with_nothing_from_elsewhere(
    web: WebWorld,
) -> None:
    browser = web.browser(**{"accept-language": "en"})
    spec = browser.client.get("/openapi.json").json()
    answer = browser.client.get("/docs")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    for path, item in spec["paths"].items():
        for method in item:
            assert f"{method.upper()} {path}" in page
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    for parameter in ("q", "page", "per_page", "payment_id"):
        assert f"<code>{parameter}</code>" in page
    assert "JSON API reference" in page and "Not one of your payments" in page
    found = links_of(page)
    # No script at all, and nothing loaded from another host (no CDN).
    assert found.scripts == 0
    assert all(not url.startswith(("http:", "https:", "//")) for url in found.loaded)
    assert "/openapi.json" in found.anchors
    french = web.browser().client.get("/docs?lang=fr").text
    assert "Opérations" in french and "obligatoire" in french


def test_the_former_docs_address_leads_to_the_reference(web: WebWorld) -> None:
    answer = web.browser().client.get("/api/docs", follow_redirects=False)
    assert answer.status_code in (301, 308)
    assert answer.headers["location"] == "/docs"


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/docs", "/settings"])
def test_every_page_footer_links_the_reference_and_the_spec(web: WebWorld, path: str) -> None:
    browser = web.browser()
    browser.sign_up("alice@example.org")
    anchors = links_of(browser.client.get(path).text).anchors
    assert "/docs" in anchors and "/openapi.json" in anchors


def test_types_read_from_a_spec() -> None:
    assert type_of({"$ref": "#/components/schemas/Payment"}) == (("Payment", "schema-Payment"),)
    assert type_of({"type": "array", "items": {"$ref": "#/components/schemas/Card"}}) == (
        ("Card", "schema-Card"),
        ("[]", ""),
    )
    assert type_of({"anyOf": [{"type": "string"}, {"type": "null"}]}) == (
        ("string", ""),
        (" | ", ""),
        ("null", ""),
    )
    assert type_of({"enum": ["sent", "received"], "type": "string"}) == (
        ('"sent" | "received"', ""),
    )
    reference = reference_of(
        {
            "info": {"title": "T", "version": "1"},
            "paths": {
                "/x/{id}": {
                    "get": {
                        "summary": "One x",
                        "parameters": [
                            {
                                "name": "id",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "integer", "minimum": 1},
                            }
                        ],
                        "responses": {"200": {"description": "OK"}},
                    }
                }
            },
        }
    )
    (operation,) = reference.operations
    assert (operation.method, operation.path) == ("GET", "/x/{id}")
    assert operation.anchor == "op-get-x--id-"
    (parameter,) = operation.parameters
    assert (parameter.location, parameter.required, parameter.notes) == ("path", True, "minimum: 1")
