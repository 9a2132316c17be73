"""The design system's colours (``static/payez.css``): every text colour is readable on every
background it is drawn on, at WCAG AA's 4.5:1, in the light and in the dark theme; and both
themes define the same tokens, the ones other parts of the app read among them."""

from __future__ import annotations

import re
from importlib import resources

import pytest

CSS = (resources.files("payez.entrypoints.web") / "static" / "payez.css").read_text()
# Text colours, and the backgrounds each may be drawn on (a notice's link, a badge's label).
TEXTS = ("--pz-text", "--pz-muted", "--pz-accent", "--pz-in", "--pz-out", "--pz-warn")
BACKGROUNDS = (
    "--pz-bg",
    "--pz-surface",
    "--pz-surface-sunken",
    "--pz-accent-soft",
    "--pz-in-soft",
    "--pz-out-soft",
    "--pz-warn-soft",
)
# Read by the charts and embeds, with fallbacks: they must stay defined.
SHARED = ("--pz-in", "--pz-out", "--pz-accent", "--pz-muted", "--pz-grid", "--pz-warn")


def _tokens(block: str) -> dict[str, str]:
    return dict(re.findall(r"(--pz-[a-z0-9-]+):\s*(#[0-9a-fA-F]{6})\s*;", block))


def themes() -> dict[str, dict[str, str]]:
    light = CSS[CSS.index(":root {") : CSS.index("@media (prefers-color-scheme: dark)")]
    dark_start = CSS.index("@media (prefers-color-scheme: dark)")
    dark = CSS[dark_start : CSS.index("/* Base elements. */")]
    return {"light": _tokens(light), "dark": _tokens(dark)}


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_measures_the_known_extremes() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_colour_is_readable_on_every_background(theme: str) -> None:
    tokens = themes()[theme]
    low = {
        f"{text} on {background}": round(contrast(tokens[text], tokens[background]), 2)
        for text in TEXTS
        for background in BACKGROUNDS
        if contrast(tokens[text], tokens[background]) < 4.5
    }
    assert not low, low
    # A button's label on the accent colour.
    assert contrast(tokens["--pz-on-accent"], tokens["--pz-accent"]) >= 4.5


def test_both_themes_define_the_same_colours() -> None:
    light, dark = themes()["light"], themes()["dark"]
    assert set(light) == set(dark)
    assert set(SHARED) <= set(light)
    assert "color-scheme: light dark" in CSS
