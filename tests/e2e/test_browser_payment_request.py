"""In headless Chromium: a member asks to be paid with a link, the QR code drawn on the page
reads back (with a real decoder) to that link, a payer opens it, follows the sandbox button to
the compose page with the command written and posts it; both sides see it paid."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser

from tests.e2e.browser import chromium, phone, snapshot
from tests.e2e.service_world import ServiceWorld
from tests.e2e.test_browser_backoffice import PASSWORD, _log_in, world

pytestmark = pytest.mark.slow
__all__ = ["chromium", "world"]  # fixtures, shared with the back-office browser tests


def test_a_request_link_read_from_its_qr_code_is_paid_from_the_sandbox(
    world: ServiceWorld, chromium: Browser
) -> None:
    base = world.settings.base_url
    world.give_login("alice", "alice@example.org", PASSWORD)
    world.give_login("bob", "bob@example.org", PASSWORD)

    requester, page = phone(chromium)
    _log_in(page, base, "alice@example.org", "/dashboard/requests")
    page.get_by_label("Montant").fill("12,50")
    page.get_by_label("Motif").fill("pour le ciné")
    page.get_by_label("une fois").check()
    page.get_by_role("button", name="Créer le lien").click()
    page.wait_for_url(re.compile(r".*/dashboard/requests/\d+$"))
    request_page = page.url
    link = page.locator("#request-link").inner_text()
    assert re.fullmatch(re.escape(base) + r"/r/[a-z0-9]{8}", link), link
    snapshot(page, "request-01-created")

    # The QR code as the screen shows it, read by a real decoder.
    shot = page.locator("#request-qr svg").screenshot()
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == link

    payer, phone_page = phone(chromium)
    phone_page.goto(barcode.text)
    assert "« pour le ciné »" in phone_page.content()
    assert phone_page.locator("#request-amount").inner_text().replace("\u00a0", " ") == "12,50 €"
    snapshot(phone_page, "request-02-opened")
    phone_page.locator("#pay-sandbox").click()
    phone_page.wait_for_url(f"{base}/sandbox/?text=*")
    code = link.rsplit("/", 1)[1]
    written = phone_page.locator("#status").input_value()
    assert written == f"@payez envoie 12,50\u00a0€ à @alice #r{code} pour le ciné"
    phone_page.locator("#account_id").select_option(label="@bob — Bob")
    snapshot(phone_page, "request-03-compose")
    phone_page.locator("form button[type=submit]").click()
    phone_page.wait_for_load_state()
    assert f"#r{code} pour le ciné" in phone_page.locator("main").inner_text()

    world.step()
    assert world.balance("alice") == 50_000 + 1250

    page.goto(request_page)
    assert page.locator("#request-state").inner_text().startswith("Payée")
    assert "@bob (sandbox)" in page.locator("#request-payments").inner_text()
    snapshot(page, "request-04-paid")
    phone_page.goto(barcode.text)
    assert phone_page.locator("#request-state").inner_text() == "Cette demande a déjà été payée."
    assert phone_page.locator("#pay-sandbox").count() == 0
    _log_in(phone_page, base, "bob@example.org", "/dashboard")
    history = phone_page.locator("#history").inner_text()
    assert "pour la demande « pour le ciné »" in history
    snapshot(phone_page, "request-05-payer-history")
    payer.close()
    requester.close()
