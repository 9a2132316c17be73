"""The main forms work with the keyboard alone, in headless Chromium: from the top of the
page, Tab first reaches the "skip to content" link (shown when focused), then the form's
fields and its button in reading order, each with a visible focus ring (the design system's
``:focus-visible`` outline); the keys fill the fields and Enter submits.

Logging in, creating a payment request (with its radio buttons chosen by the arrow keys), and
saving the settings (a select, a checkbox with the space bar).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.browser import chromium, phone
from tests.e2e.page_tour import EMAILS, PASSWORD
from tests.e2e.service_world import ServiceWorld, running_world

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the fixture
# What has the focus, and whether it shows: a ring of at least 2 px that is drawn (the
# browser's own ring is 1 px wide: a wider one is the design system's).
_FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    id: el.id || el.getAttribute('href') || (el.tagName + ':' + el.textContent.trim()),
    ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    outline: style.outlineStyle + ' ' + style.outlineWidth, box: [box.top, box.bottom],
    onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
      && box.top < innerHeight && box.left < innerWidth,
  };
}"""


@pytest.fixture
def world(sqlite_url: str) -> Iterator[ServiceWorld]:
    with running_world(sqlite_url) as w:
        w.give_login("alice", EMAILS["alice"], PASSWORD)
        yield w


def focused(page: Page) -> dict[str, object]:
    found: dict[str, object] = page.evaluate(_FOCUSED)
    return found


def tab_until(page: Page, target: str, limit: int = 30) -> None:
    """Tab from where the focus is until ``target`` (an id) has it, every stop visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["ring"] and now["onScreen"], f"focus not visible: {now}"
        if now["id"] == target:
            return
    raise AssertionError(f"{limit} Tabs never reached #{target}")


def tab_order(page: Page, first: str, last: str, limit: int = 30) -> list[str]:
    """Tab from ``first`` to ``last``: the ids of the elements the focus stops on, in order
    (a date's day, month and year are one field)."""
    tab_until(page, first)
    order = [first]
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["ring"] and now["onScreen"], f"focus not visible: {now}"
        if now["id"] != order[-1]:
            order.append(str(now["id"]))
        if now["id"] == last:
            return order
    raise AssertionError(f"{limit} Tabs from #{first} never reached #{last}: {order}")


def start_at_the_top(page: Page, url: str) -> None:
    page.goto(url)
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["id"] == "#main" and skip["ring"] and skip["onScreen"], skip


def test_logging_in_requests_and_settings_with_the_keyboard(
    world: ServiceWorld, chromium: Browser
) -> None:
    base = world.settings.base_url
    context, page = phone(chromium)
    try:
        # Log in: the skip link leads to the form; Enter in the password field submits.
        start_at_the_top(page, f"{base}/login?next=/dashboard")
        page.keyboard.press("Enter")
        # Following the link is a navigation of its own: wait for it, not the next instruction.
        page.wait_for_url(lambda url: urlsplit(url).fragment == "main")
        order = tab_order(page, "email", "login-submit")
        assert order == ["email", "password", "login-submit"], order
        start_at_the_top(page, f"{base}/login?next=/dashboard")
        tab_until(page, "email")
        page.keyboard.type(EMAILS["alice"])
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: urlsplit(url).path == "/dashboard")

        # A payment request: amount, reason, how many payments (arrows), until when; Enter.
        start_at_the_top(page, f"{base}/dashboard/requests")
        order = tab_order(page, "amount", "request-submit")
        assert order == ["amount", "reason", "uses_once", "expires_on", "request-submit"], order
        start_at_the_top(page, f"{base}/dashboard/requests")
        tab_until(page, "amount")
        page.keyboard.type("7,50")
        page.keyboard.press("Tab")
        page.keyboard.type("Le pain du dimanche")
        page.keyboard.press("Tab")
        page.keyboard.press("ArrowDown")
        assert focused(page)["id"] == "uses_many"
        assert page.locator("#uses_many").is_checked()
        page.keyboard.press("Shift+Tab")  # back to the reason: Enter in a field submits
        page.keyboard.press("Enter")
        page.wait_for_url(
            lambda url: re.fullmatch(r"/dashboard/requests/\d+", urlsplit(url).path) is not None
        )
        assert page.locator("h1").inner_text() == "Le pain du dimanche"
        assert "7,50" in page.locator("#request-amount").inner_text()

        # Settings: the language with the arrows, a checkbox with the space bar; Enter on
        # the button.
        start_at_the_top(page, f"{base}/settings")
        order = tab_order(page, "language", "settings-submit")
        emails = ["money_received", "confirmation_waiting", "claim_expiring", "payout_executed"]
        assert order == [
            "language",
            "time_zone",
            "hide_amount",
            "notify_received",
            *(f"email_{kind}" for kind in emails),
            "settings-submit",
        ], order
        start_at_the_top(page, f"{base}/settings")
        tab_until(page, "language")
        page.keyboard.press("ArrowDown")  # Français → English
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert focused(page)["id"] == "hide_amount"
        page.keyboard.press("Space")
        tab_until(page, "settings-submit")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "saved=1" in urlsplit(url).query)
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("#hide_amount").is_checked()
        assert page.get_by_role("status").first.inner_text() != ""
    finally:
        context.close()
