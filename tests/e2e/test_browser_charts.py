"""In headless Chromium at 375 px: the dashboard's chart of money in and out, drawn from
payments posted on the sandbox over two months. The bars as the browser lays them out are as
tall as their amounts, the chart's figures add up to the balance the page shows, the chart
fits the phone's width, and its table says the same figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.e2e.browser import chromium, phone, snapshot
from tests.e2e.service_world import ServiceWorld, running_world
from tests.e2e.test_browser_backoffice import PASSWORD, _log_in

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the fixture
DEMO_BALANCE = 50_000

_BARS = """() => Array.from(document.querySelectorAll('#chart-money rect.pz-bar')).map(r => {
  const box = r.getBoundingClientRect();
  return {period: r.parentElement.dataset.period, series: r.dataset.series,
          cents: Number(r.dataset.cents), height: box.height, bottom: box.bottom,
          fill: getComputedStyle(r).fill};
})"""


@pytest.fixture
def world(sqlite_url: str) -> Iterator[ServiceWorld]:
    with running_world(sqlite_url, confirm="never") as w:
        yield w


def _cents(shown: str) -> int:
    """``5 012,50 €`` as the page writes it, in cents."""
    digits = re.sub(r"[^\d,-]", "", shown.replace("\u2212", "-"))
    units, _, cents = digits.partition(",")
    return int(units) * 100 + (int(cents) if not units.startswith("-") else -int(cents))


def test_the_dashboards_bars_are_the_amounts_and_add_up_to_the_balance(
    world: ServiceWorld, chromium: Browser
) -> None:
    base = world.settings.base_url
    world.give_login("alice", "alice@example.org", PASSWORD)
    # Five weeks ago, by the service's clock (a post seen long after it was written would
    # wait for its author's confirmation).
    world.later(days=-35)
    world.post("alice", "@payez envoie 12€ à @bob")
    world.post("bob", "@payez envoie 30€ à @alice")
    world.step()
    world.later(days=35)
    world.post("alice", "@payez envoie 45,50€ à @bob")
    world.post("bob", "@payez envoie 5€ à @alice")
    world.step()
    assert world.balance("alice") == DEMO_BALANCE - 1_200 + 3_000 - 4_550 + 500

    context, page = phone(chromium)
    _log_in(page, base, "alice@example.org", "/dashboard")
    bars: list[dict[str, Any]] = page.evaluate(_BARS)
    assert len(bars) == 24  # twelve months, in and out
    drawn = [b for b in bars if b["cents"]]
    assert sorted((b["series"], b["cents"]) for b in drawn) == [
        ("in", 500),
        ("in", 3_000),
        ("out", 1_200),
        ("out", 4_550),
    ]
    # Heights as laid out on the screen, proportional to the cents (within a pixel's rounding).
    tallest = max(drawn, key=lambda b: b["cents"])
    for bar in drawn:
        expected = tallest["height"] * bar["cents"] / tallest["cents"]
        assert abs(bar["height"] - expected) < 1, bar
    assert all(b["height"] == 0 for b in bars if not b["cents"])
    assert len({round(b["bottom"], 1) for b in bars}) == 1  # one baseline
    colours = {b["series"]: b["fill"] for b in drawn}
    assert colours["in"] != colours["out"]

    # The chart's figures and the balance the page shows agree.
    shown = _cents(page.locator("#balance").inner_text())
    flows = sum(b["cents"] if b["series"] == "in" else -b["cents"] for b in bars)
    assert shown == DEMO_BALANCE + flows == world.balance("alice")

    chart = page.locator("#chart-money svg")
    box = chart.bounding_box()
    assert box is not None and box["width"] <= 375 and box["height"] > 100
    assert chart.get_attribute("role") == "img"
    page.locator("#chart-money summary").click()
    table = page.locator("#chart-money-table")
    assert table.is_visible()
    month = bars[-1]["period"]
    row = table.locator(f'tr[data-period="{month}"]').inner_text().replace("\u00a0", " ")
    assert "5,00 €" in row and "45,50 €" in row
    snapshot(page, "charts-01-dashboard")

    page.goto(f"{base}/dashboard?lang=en")
    assert page.evaluate(_BARS) == bars
    assert page.locator("#chart-money title").first.text_content() == "Money in and out, by month"
    snapshot(page, "charts-02-dashboard-en")
    context.close()
