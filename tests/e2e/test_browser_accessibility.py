"""axe-core, in Chromium, on every page of the tour (``page_tour``): as a visitor, as a user
with data, and each area as its own user; in French with the light colour scheme and in
English with the dark one, so that both languages and both themes' contrasts are checked in
two walks rather than four. No page may have a violation of impact "serious" or "critical";
every violation found, of any impact, is written to ``test-artifacts/browser/axe-<lang>.json``.

The sandbox network's pages stand for another site, but they pass too, so they are checked.
axe-core comes from npm, pinned by ``tests/axe/package-lock.json`` (``make axe``); it is
injected by the browser (an init script), which the pages' Content-Security-Policy does not
govern, so the pages are checked with their real headers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.browser import ARTIFACTS, chromium
from tests.e2e.page_tour import Language, Scheme, plan_visits, tour_world, walk
from tests.e2e.service_world import ServiceWorld

pytestmark = pytest.mark.slow
__all__ = ["chromium", "tour_world"]  # the fixtures
AXE_PACKAGE = Path(__file__).resolve().parents[1] / "axe"
AXE = AXE_PACKAGE / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''})),
  }));
}"""


def violations(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(_RUN)
    return found


def _with_axe(context: BrowserContext) -> None:
    context.add_init_script(path=str(AXE))


def _described(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            summary = " ".join(node["summary"].split())[:200]
            lines.append(f"      {node['target']} — {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize(("language", "scheme"), [("fr", "light"), ("en", "dark")])
def test_no_page_has_a_serious_accessibility_violation(
    tour_world: ServiceWorld, chromium: Browser, language: Language, scheme: Scheme
) -> None:
    assert AXE.exists(), "install axe-core: make axe"
    pinned = json.loads((AXE_PACKAGE / "package.json").read_text())["dependencies"]["axe-core"]
    report: dict[str, list[dict[str, Any]]] = {}
    blocking: dict[str, list[dict[str, Any]]] = {}
    seen = 0
    visits = plan_visits(tour_world)
    for visit in walk(
        chromium, tour_world, visits, language=language, scheme=scheme, prepare=_with_axe
    ):
        if not seen:  # the rules that run are the pinned ones
            assert visit.page.evaluate("axe.version") == pinned
        seen += 1
        found = violations(visit.page)
        where = f"{visit.role} {visit.path}"
        if found:
            report[where] = found
        if any(v["impact"] in BLOCKING for v in found):
            blocking[where] = found
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{language}.json").write_text(json.dumps(report, indent=1))
    assert seen > 60, seen
    assert not blocking, f"{language}, {scheme} scheme:\n" + "\n".join(
        f"{where}:\n{_described(found)}" for where, found in blocking.items()
    )
