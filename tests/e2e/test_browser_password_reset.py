"""In headless Chromium, against the whole service: a new user forgets their password, reads
the reset email in the sandbox mailbox (``/sandbox/mail``, newest message first, its URLs as
links), follows the link, sets a new password and logs in with it.

Every page of ours is checked at 375 px wide and saved under ``test-artifacts/browser/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.browser import chromium, phone, snapshot
from tests.e2e.service_world import ServiceWorld, running_world

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the fixture
EMAIL = "erin@example.org"
OLD_PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def world(sqlite_url: str) -> Iterator[ServiceWorld]:
    with running_world(sqlite_url) as w:
        yield w


def _log_in(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Me connecter").click()
    page.wait_for_load_state()


def test_a_forgotten_password_is_reset_through_the_emailed_link(
    world: ServiceWorld, chromium: Browser
) -> None:
    base = world.settings.base_url
    context, page = phone(chromium)

    page.goto(f"{base}/signup")
    page.get_by_label("Nom affiché").fill("Erin")
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_label("Mot de passe").fill(OLD_PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url("**/onboarding")
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/login")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.wait_for_url("**/password/forgot")
    snapshot(page, "reset-01-forgot")
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_role("button", name="Envoyer le lien").click()
    page.wait_for_load_state()
    assert "Consultez vos e-mails" in page.content()
    snapshot(page, "reset-02-sent")

    # The worker delivers the email into the mailbox, which lists the newest message first:
    # the reset email, above the sign-up's.
    world.step()
    page.goto(f"{base}/sandbox/mail")
    reset_links = page.locator('a[href*="/password/reset?token="]')
    assert reset_links.count() >= 1
    reset_links.first.click()
    page.wait_for_url("**/password/reset?token=*")
    snapshot(page, "reset-03-form")
    page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    page.wait_for_url("**/login?reset=1")
    assert "Votre mot de passe a été changé" in page.content()
    snapshot(page, "reset-04-login")

    _log_in(page, base, OLD_PASSWORD)
    assert "E-mail ou mot de passe incorrect." in page.content()
    _log_in(page, base, NEW_PASSWORD)
    page.wait_for_url("**/dashboard")
    assert "Erin" in page.locator("h1").inner_text()

    # The notice of the change is the newest message now.
    world.step()
    page.goto(f"{base}/sandbox/mail")
    assert "Votre mot de passe Payez a été changé" in page.content()
    context.close()
