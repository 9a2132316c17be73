"""In headless Chromium: an association and a merchant copy their widgets' snippets from the
pages where they manage them, paste them into a page of their own site (served from another
origin), and a visitor of that site sees the widgets drawn inside their frames with the right
figures in the visitor's language, a QR code that reads back to the link beside it, and a buy
button that opens the listing's post in a new tab; no cookie is left. Any other Payez page put
in a frame on that site is refused by the browser."""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Frame, Page

from payez.adapters.db.tables.payments import listings
from payez.sandbox.demo import LISTING_PRICE, LISTING_TITLE
from payez.service.campaigns import create_campaign
from tests.e2e.browser import chromium, phone, snapshot
from tests.e2e.service_world import ServiceWorld
from tests.e2e.test_browser_backoffice import PASSWORD, _log_in, world

pytestmark = pytest.mark.slow
__all__ = ["chromium", "world"]  # fixtures


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain static site on another loopback port (another origin): its address and root."""
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _copied_snippet(page: Page, base: str, email: str, path: str, code_id: str) -> str:
    """The owner logs in, opens the page where they manage the thing, and copies the code."""
    _log_in(page, base, email, path)
    page.locator(f"details:has(#{code_id}) summary").click()
    code = page.locator(f"#{code_id}")
    assert code.is_visible() and code.get_attribute("readonly") is not None
    return code.input_value()


def _host_page(root: Path, name: str, body: str) -> None:
    (root / name).write_text(
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Restos du quartier</title></head><body><h1>Notre site</h1>{body}</body></html>",
        encoding="utf-8",
    )


def _frame(page: Page, src: str) -> Frame:
    """The frame of ``src`` once its widget is drawn (lazy frames load as they near the view)."""
    page.frame_locator(f'iframe[src="{src}"]').locator("main").wait_for()
    handle = page.locator(f'iframe[src="{src}"]').element_handle()
    frame = handle.content_frame() if handle is not None else None
    assert frame is not None and frame.url == src, src
    return frame


def _text(frame: Frame, selector: str) -> str:
    return " ".join(
        frame.locator(selector).inner_text().replace("\u00a0", " ").replace("\u202f", " ").split()
    )


def _fits(frame: Frame, snippet: str) -> None:
    """The snippet's size holds the widget: no scroll bar inside the frame."""
    height = int(lxml.html.fragment_fromstring(snippet).get("height"))
    assert frame.evaluate("document.documentElement.scrollHeight") <= height
    assert frame.evaluate("document.documentElement.scrollWidth") <= frame.evaluate(
        "window.innerWidth"
    )


def _visit(chromium: Browser, url: str, locale: str) -> tuple[BrowserContext, Page]:
    context, page = phone(chromium, locale=locale)
    page.goto(url)
    page.wait_for_load_state("load")
    return context, page


def test_widgets_pasted_on_another_site_show_there_and_no_other_page_does(
    world: ServiceWorld, chromium: Browser, other_site: tuple[str, Path]
) -> None:
    base = world.settings.base_url
    site, root = other_site
    restos_id = world.give_login("restos", "restos@example.org", PASSWORD)
    world.give_login("boutique", "boutique@example.org", PASSWORD)
    campaign_id = create_campaign(
        world.ctx,
        restos_id,
        title="Repas chauds pour l'hiver",
        description="Chaque euro finance un repas.",
        goal="100",
        starts_on=date.today().isoformat(),
        ends_on=(date.today() + timedelta(days=30)).isoformat(),
    )
    world.post("bob", "@payez donne 25 € à @restos")
    world.step()
    with world.engine.connect() as conn:
        listing_id, post_id = conn.execute(
            sa.select(listings.c.id, listings.c.post_id).where(listings.c.title == LISTING_TITLE)
        ).one()

    owner, page = phone(chromium)
    campaign_snippet = _copied_snippet(
        page, base, "restos@example.org", "/association", f"embed-code-campaign-{campaign_id}"
    )
    snapshot(page, "embed-01-association-snippet")
    owner.close()
    owner, page = phone(chromium)
    listing_snippet = _copied_snippet(
        page,
        base,
        "boutique@example.org",
        f"/merchant/listings/{listing_id}/orders",
        f"embed-code-listing-{listing_id}",
    )
    owner.close()
    campaign_src = f"{base}/embed/campaigns/{campaign_id}"
    listing_src = f"{base}/embed/listings/{listing_id}"
    assert f'src="{campaign_src}"' in campaign_snippet
    assert f'src="{listing_src}"' in listing_snippet
    _host_page(root, "widgets.html", campaign_snippet + listing_snippet)

    visitor, page = _visit(chromium, f"{site}/widgets.html", "fr-FR")
    campaign = _frame(page, campaign_src)
    assert _text(campaign, "#embed-title") == "Repas chauds pour l'hiver"
    assert _text(campaign, "#embed-raised") == "25,00 € collectés sur 100,00 € (25 %)"
    assert campaign.locator("#embed-progress").get_attribute("value") == "25"
    assert _text(campaign, ".embed-command") == "@payez donne 10 € à @restos"
    shot = campaign.locator("svg.qr").screenshot()
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert barcode.text == campaign.locator("#embed-qr").get_attribute("href")
    assert barcode.text == f"{base}/campaigns/{campaign_id}"
    _fits(campaign, campaign_snippet)

    listing = _frame(page, listing_src)
    assert _text(listing, "#embed-title") == LISTING_TITLE
    assert _text(listing, "#embed-price") == LISTING_PRICE.format("fr").replace("\u00a0", " ")
    assert _text(listing, ".embed-command") == "@payez j'achète"
    _fits(listing, listing_snippet)
    snapshot(page, "embed-02-other-site")
    assert visitor.cookies(base) == []  # nothing left by the widgets

    # The button leaves the frame: the listing's post, in a new tab of its own.
    with visitor.expect_page() as opened:
        listing.locator("#embed-buy").click()
    post = opened.value
    post.wait_for_load_state()
    assert post.url == f"{base}/sandbox/@boutique/{post_id}"
    assert LISTING_TITLE in post.locator("main").inner_text()
    assert page.url == f"{site}/widgets.html"  # the visitor is still on the site
    visitor.close()

    english, page = _visit(chromium, f"{site}/widgets.html", "en-GB")
    campaign = _frame(page, campaign_src)
    assert _text(campaign, "#embed-raised") == "€25.00 raised of €100.00 (25%)"
    assert _text(campaign, ".embed-command") == "@payez give €10 to @restos"
    assert _text(_frame(page, listing_src), "#embed-price") == LISTING_PRICE.format("en")
    english.close()

    # Any other page, put in a frame the same way, is refused: nothing of it is drawn.
    refused = {
        "campaign": f"{base}/campaigns/{campaign_id}",
        "dashboard": f"{base}/dashboard",
        "listing": f"{base}/listings/{listing_id}",
    }
    _host_page(
        root,
        "framed.html",
        "".join(
            f'<iframe id="{name}" src="{src}" width="340" height="300"></iframe>'
            for name, src in refused.items()
        )
        + campaign_snippet,
    )
    visitor, page = _visit(chromium, f"{site}/framed.html", "fr-FR")
    assert _text(_frame(page, campaign_src), "#embed-title") == "Repas chauds pour l'hiver"
    for name in refused:
        handle = page.locator(f"#{name}").element_handle()
        inner = handle.content_frame() if handle is not None else None
        assert inner is not None, name
        # In place of a refused document, Chromium draws its own error page.
        assert inner.url.startswith("chrome-error://"), (name, inner.url)
        drawn = inner.content()
        assert "Payez" not in drawn and "Repas chauds" not in drawn, name
    snapshot(page, "embed-03-refused")
    visitor.close()
