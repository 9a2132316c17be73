"""Every page in French and English: catalogs complete, ``lang`` set, every field labelled."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources

import lxml.html
import pytest

from payez.domain.payments import PaymentState
from payez.entrypoints.web.i18n import catalog
from tests.integration.web_world import Browser, WebWorld, web_world

TEMPLATES = resources.files("payez.entrypoints.web") / "templates"
ANONYMOUS_PAGES = ("/", "/login", "/signup")
MEMBER_PAGES = ("/onboarding", "/dashboard", "/settings")


def test_both_catalogs_define_the_same_keys_with_real_text() -> None:
    french, english = catalog("fr"), catalog("en")
    assert set(french) == set(english)
    assert all(v.strip() for v in (*french.values(), *english.values()))
    translated = [k for k in french if french[k] != english[k]]
    assert len(translated) > 0.8 * len(french)


def test_every_text_a_template_uses_is_in_the_catalogs() -> None:
    keys = catalog("fr")
    used: set[str] = set()
    for template in TEMPLATES.iterdir():
        used |= set(re.findall(r"\bt\.([a-z_0-9]+)", template.read_text(encoding="utf-8")))
    used |= {f"state_{s.value}" for s in PaymentState}
    used |= {"direction_sent", "direction_received"}
    assert used - set(keys) == set()


@pytest.fixture
def web(sqlite_url: str) -> Iterator[WebWorld]:
    with web_world(sqlite_url) as world:
        yield world


def _check_page(browser: Browser, path: str, lang: str) -> None:
    answer = browser.get(f"{path}?lang={lang}")
    assert answer.status_code == 200, path
    tree = lxml.html.fromstring(answer.text)
    assert tree.get("lang") == lang, path
    assert tree.find(".//meta[@name='viewport']") is not None
    labelled = {label.get("for") for label in tree.iter("label")}
    for field in tree.xpath("//input[not(@type='hidden')] | //select | //textarea"):
        wrapped = any(a.tag == "label" for a in field.iterancestors())
        assert wrapped or field.get("id") in labelled, (path, lxml.html.tostring(field))


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_pages_have_lang_and_labelled_fields(web: WebWorld, lang: str) -> None:
    visitor = web.browser()
    for path in ANONYMOUS_PAGES:
        _check_page(visitor, path, lang)
    member = web.browser()
    member.sign_up("alice@example.org")
    for path in MEMBER_PAGES:
        _check_page(member, path, lang)


def test_french_and_english_pages_differ(web: WebWorld) -> None:
    browser = web.browser()
    french = browser.get("/signup?lang=fr").text
    english = browser.get("/signup?lang=en").text
    assert "Créer votre compte Payez" in french
    assert "Create your Payez account" in english
