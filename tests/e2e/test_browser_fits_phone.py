"""In headless Chromium at 375 px wide: every page of the web app and of the sandbox fits the
screen — nothing sticks out sideways, not even a long claim link in a reply on the timeline.

The pages are those of the shared tour (``page_tour``): every page of the route table, as a
visitor, as a user with data, and each area as its own user. One browser for the whole run;
the screenshots of every page, at two widths and in both colour schemes, are taken by
``test_browser_screenshots.py``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.e2e.browser import chromium, overflow_of
from tests.e2e.page_tour import plan_visits, tour_world, walk
from tests.e2e.service_world import ServiceWorld

pytestmark = pytest.mark.slow
__all__ = ["chromium", "tour_world"]  # the fixtures


def test_every_page_fits_a_375px_screen(tour_world: ServiceWorld, chromium: Browser) -> None:
    problems: dict[str, list[str]] = {}
    seen = 0
    for visit in walk(chromium, tour_world, plan_visits(tour_world)):
        seen += 1
        found = overflow_of(visit.page)
        if found:
            problems[f"{visit.role} {visit.path}"] = found[:6]
    assert seen > 60, seen
    assert not problems, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in problems.items())
