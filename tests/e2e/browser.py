"""Headless Chromium for the browser tests: Debian's build, never a downloaded one, on a phone-
sized page; every page saved under ``test-artifacts/browser/`` and checked to fit 375 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE: ViewportSize = {"width": 375, "height": 740}


@pytest.fixture
def chromium() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium: make browser"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def snapshot(page: Page, name: str) -> None:
    """Save the page and check it fits a phone's width and says its language."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: {width}px wide"
    assert page.evaluate("document.documentElement.lang") in ("fr", "en")


def phone(chromium: Browser, locale: str = "fr-FR") -> tuple[BrowserContext, Page]:
    context = chromium.new_context(
        viewport={"width": PHONE["width"], "height": PHONE["height"]}, locale=locale
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


# Every element the page draws, measured: a long link or word that does not wrap sticks out
# past the screen's edge even where the page itself does not scroll (a card clips it, say).
_OVERFLOW_SCAN = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      const classes = typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes;
      const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 50);
      out.push(`${name} [${Math.round(box.left)}..${Math.round(box.right)}] ${text}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: width, out: out};
}"""


def overflow_of(page: Page) -> list[str]:
    """What sticks out of the screen sideways: empty when the page fits its width."""
    found = page.evaluate(_OVERFLOW_SCAN)
    problems = [str(line) for line in found["out"]]
    if found["scroll"] > found["inner"]:
        problems.insert(0, f"scrollWidth {found['scroll']} > innerWidth {found['inner']}")
    return problems
