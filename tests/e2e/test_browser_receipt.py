"""In headless Chromium: a donor downloads the tax receipt of last year's donations."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from payez.service.account_summary import account_summary
from payez.service.campaigns import save_association_profile, save_donor_settings
from tests.e2e.browser import chromium, phone, snapshot
from tests.e2e.service_world import ServiceWorld
from tests.e2e.test_browser_backoffice import PASSWORD, _log_in, world

pytestmark = pytest.mark.slow
__all__ = ["chromium", "world"]  # fixtures, shared with the back-office browser tests


def test_a_donor_downloads_a_tax_receipt(
    world: ServiceWorld, chromium: Browser, tmp_path: Path
) -> None:
    base = world.settings.base_url
    restos = account_summary(world.ctx, "restos").user_id
    save_association_profile(
        world.ctx, restos, address="12 rue de la Paix, 75002 Paris", object_="Aide alimentaire"
    )
    alice = account_summary(world.ctx, "alice").user_id
    save_donor_settings(world.ctx, alice, address="3 place du Marché, 69001 Lyon", show_name=True)
    world.post("alice", "@payez donne 40€ à @restos pour l'hiver")
    world.step()
    assert world.balance("restos") == 4000
    world.later(days=400)  # a receipt covers a year that is over
    world.give_login("alice", "alice@example.org", PASSWORD)

    context, page = phone(chromium)
    _log_in(page, base, "alice@example.org", "/dashboard/donations")
    gifts = page.locator("#gifts").inner_text().replace("\u00a0", " ")
    assert "40,00 €" in gifts
    snapshot(page, "receipt-01-donations")
    with page.expect_download() as download:
        page.locator("#gifts button[type=submit]").first.click()
    saved = tmp_path / "receipt.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert download.value.suggested_filename.startswith("recu-fiscal-")
    page.goto(base + "/dashboard/donations")
    assert "n° 000001" in page.content()
    snapshot(page, "receipt-02-issued")
    context.close()
