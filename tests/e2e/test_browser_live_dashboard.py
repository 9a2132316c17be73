"""In headless Chromium: a member keeps their dashboard open; another member pays them by a post
on the sandbox network and the worker decides it; the payment's row, the new balance and a
sentence for screen readers appear on the open page, which is never reloaded."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

from payez.domain.money import Money
from payez.entrypoints.web.dashboard_events import LiveStreams
from tests.e2e.browser import chromium, phone, snapshot
from tests.e2e.service_world import ServiceWorld, running_world
from tests.e2e.test_browser_backoffice import PASSWORD, _log_in

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the fixture


@pytest.fixture
def world(sqlite_url: str) -> Iterator[ServiceWorld]:
    with running_world(sqlite_url, live_poll_ms=200) as w:
        yield w


def _wait_for_streams(streams: LiveStreams, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while streams.open != count:
        assert time.monotonic() < deadline, f"{streams.open} live stream(s) open, not {count}"
        time.sleep(0.05)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_payment_received_appears_on_the_open_dashboard_without_a_reload(
    world: ServiceWorld, chromium: Browser, language: str
) -> None:
    base = world.settings.base_url
    world.give_login("bob", "bob@example.org", PASSWORD)
    streams: LiveStreams = world.server.app.state.live_streams
    context, page = phone(chromium)
    console: list[str] = []
    page.on("console", lambda message: console.append(_console_line(message)))
    _log_in(page, base, "bob@example.org", "/dashboard")
    if language == "en":
        page.goto(f"{base}/dashboard?lang=en")
    expected_balance = Money.eur(world.balance("bob") + 750).format(language)
    # Marks this very document: a reload would lose it.
    page.evaluate("window.stillTheSamePage = true")
    _wait_for_streams(streams, 1)
    snapshot(page, f"live-01-before-{language}")

    world.post("alice", "@payez envoie 7,50€ à @bob merci pour le café")
    world.step()

    first_row = page.locator("#history li").first
    expect(first_row).to_contain_text("@alice", timeout=10_000)
    expect(first_row).to_contain_text("« merci pour le café »")
    amount = Money.eur(750).format(language)
    expect(first_row.locator("strong.in")).to_have_text("+" + amount)
    expect(page.locator("#balance")).to_have_text(expected_balance)
    says = {
        "fr": f"Paiement reçu de @alice : {amount}",
        "en": f"Payment received from @alice: {amount}",
    }
    expect(page.locator("#live-status[aria-live=polite]")).to_have_text(says[language])
    # The row links to the payment's page like the others do.
    link = first_row.locator("a").get_attribute("href")
    assert link is not None and link.startswith("/dashboard/payments/")

    # No reload: the document is the one loaded before the payment.
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert not [line for line in console if "Content Security Policy" in line], console
    snapshot(page, f"live-02-received-{language}")

    # The same row as a fresh page shows, and only once.
    row_html = first_row.evaluate("li => li.outerHTML")
    page.reload()
    assert page.locator("#history li").first.evaluate("li => li.outerHTML") == row_html
    payment = first_row.get_attribute("data-payment")
    assert page.locator(f'#history li[data-payment="{payment}"]').count() == 1

    context.close()
    _wait_for_streams(streams, 0)


def _console_line(message: ConsoleMessage) -> str:
    return f"{message.type}: {message.text}"
