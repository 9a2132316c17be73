"""Payez can be installed as an app: Chromium's own installability check (the manifest's
name, start page, display mode and icons, fetched and decoded) finds nothing missing.

Installing is never offered in an incognito window, which is what a fresh Playwright context
is; so this test uses a browser profile of its own, thrown away afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.service_world import ServiceWorld, running_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(sqlite_url: str) -> Iterator[ServiceWorld]:
    with running_world(sqlite_url) as w:
        yield w


def test_chromium_finds_payez_installable(world: ServiceWorld, tmp_path: Path) -> None:
    base = world.settings.base_url
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            page = context.new_page()
            page.goto(f"{base}/")
            cdp = context.new_cdp_session(page)
            manifest = cdp.send("Page.getAppManifest")
            assert manifest["url"] == f"{base}/manifest.webmanifest"
            assert manifest["errors"] == []
            parsed = manifest["manifest"]
            assert (parsed["name"], parsed["display"]) == ("Payez", "kStandalone")
            assert parsed["startUrl"] == f"{base}/dashboard" and parsed["id"] == f"{base}/"
            assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        finally:
            context.close()
