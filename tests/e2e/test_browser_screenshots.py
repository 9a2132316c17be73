"""Every page of the tour, photographed at a phone's width (375 px) and a laptop's (1280 px),
in the light and the dark colour scheme: ``test-artifacts/browser/pages/<width>-<scheme>/``,
one file per role and page (named after its route), to look the whole app over after a change
of design.

In French only: the English pages have the same layout (the accessibility test walks both).
Each page is loaded once; the viewport and the colour scheme change in place, which costs a
relayout rather than a navigation.
"""

from __future__ import annotations

import shutil
from typing import get_args

import pytest
from playwright.sync_api import Browser, ViewportSize

from tests.e2e.browser import ARTIFACTS, PHONE, chromium
from tests.e2e.page_tour import Scheme, plan_visits, slug, tour_world, walk
from tests.e2e.service_world import ServiceWorld

pytestmark = pytest.mark.slow
__all__ = ["chromium", "tour_world"]  # the fixtures
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
SHOTS = ARTIFACTS / "pages"


def test_every_page_is_photographed_at_two_widths_in_both_schemes(
    tour_world: ServiceWorld, chromium: Browser
) -> None:
    # Only this run's pictures: yesterday's page that no longer exists would mislead.
    shutil.rmtree(SHOTS, ignore_errors=True)
    sizes = [PHONE, LAPTOP]
    schemes: tuple[Scheme, ...] = get_args(Scheme)
    for size in sizes:
        for scheme in schemes:
            (SHOTS / f"{size['width']}-{scheme}").mkdir(parents=True, exist_ok=True)
    taken = 0
    for visit in walk(chromium, tour_world, plan_visits(tour_world)):
        page = visit.page
        for size in sizes:
            page.set_viewport_size(size)
            for scheme in schemes:
                page.emulate_media(color_scheme=scheme)
                name = f"{size['width']}-{scheme}/{slug(visit.role, visit.name)}.png"
                page.screenshot(path=str(SHOTS / name), full_page=True)
                taken += 1
        page.set_viewport_size(PHONE)
        page.emulate_media(color_scheme="light")
    assert taken > 60 * 4, taken
