"""In headless Chromium: a new user signs up, completes onboarding — identity, a sandbox card,
a sandbox account linked through the network's own OAuth pages — and sees the dashboard.

The server is built the way ``payez serve`` builds it (sandbox network mounted at /sandbox,
its OAuth client registered by ``wire_sandbox``), served by uvicorn on a free port. Every page
is checked at 375 px wide (no horizontal scrolling) and saved as a screenshot under
``test-artifacts/browser/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from payez.adapters.db.engine import make_engine
from payez.adapters.networks.mastodon_oauth import OAuthClient
from payez.config import load_settings
from payez.entrypoints.web.app import create_app
from payez.sandbox.bootstrap import SANDBOX_NETWORK, wire_sandbox
from payez.sandbox.network.accounts import create_sandbox_user
from payez.sandbox.network.app import create_sandbox_app
from payez.service.context import ServiceContext
from tests.e2e.browser import PHONE, chromium, snapshot
from tests.integration.network_server import ServedApp
from tests.integration.web_world import emailed_link

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the fixture


@dataclass
class Running:
    url: str
    engine: Engine


@pytest.fixture
def server(sqlite_url: str) -> Iterator[Running]:
    served = ServedApp(None)
    settings = load_settings(
        {}, database_url=sqlite_url, base_url=f"http://127.0.0.1:{served.port}", confirm="psd2"
    )
    engine = make_engine(sqlite_url)
    wiring = wire_sandbox(engine, settings)
    with engine.begin() as conn:
        create_sandbox_user(conn, "alice", "alice-sandbox-pw", "Alice")
    ctx = ServiceContext(engine=engine, settings=settings)
    sandbox = create_sandbox_app(engine, settings)
    client = OAuthClient(
        SANDBOX_NETWORK,
        wiring.api_base_url,
        wiring.client_id,
        wiring.client_secret,
        wiring.redirect_uri,
    )
    served.app = create_app(ctx, oauth_clients={SANDBOX_NETWORK: client}, sandbox=sandbox)
    served.before_stop = sandbox.state.sandbox.streams.close_all
    served.start()
    try:
        yield Running(served.url, engine)
    finally:
        served.stop()
        engine.dispose()


def test_sign_up_onboard_and_see_the_dashboard(server: Running, chromium: Browser) -> None:
    context = chromium.new_context(viewport=PHONE, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)

    page.goto(server.url + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    snapshot(page, "01-home")

    page.get_by_role("link", name="Créer un compte").first.click()
    page.get_by_label("Nom affiché").fill("Alice Martin")
    page.get_by_label("Adresse e-mail").fill("alice@example.org")
    page.get_by_label("Mot de passe").fill("correct horse battery")
    snapshot(page, "02-signup")
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url("**/onboarding")
    assert "0 / 3" in page.content()
    snapshot(page, "03-onboarding")

    page.get_by_label("Nom complet").fill("Alice Martin")
    page.get_by_label("Date de naissance").fill("1990-04-12")
    page.get_by_role("button", name="Vérifier mon identité").click()
    page.wait_for_url("**/onboarding?done=identity*")
    assert "Votre identité est vérifiée." in page.content()
    snapshot(page, "04-identity-done")

    page.get_by_label("Numéro de carte").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="Enregistrer la carte").click()
    assert "La banque a refusé cette carte." in page.content()
    snapshot(page, "05-card-declined")
    page.get_by_label("Numéro de carte").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Enregistrer la carte").click()
    page.wait_for_url("**/onboarding?done=card*")
    assert "VISA •••• 4242" in page.content()
    snapshot(page, "06-card-saved")

    # Linking waits for the address to be verified: the link emailed at sign-up does it.
    assert "Vérifiez votre adresse e-mail" in page.content()
    page.goto(server.url + emailed_link(server.engine, "alice@example.org", "verify_email"))
    assert "Votre adresse e-mail est vérifiée." in page.content()
    page.goto(server.url + "/onboarding")
    assert "Vérifiez votre adresse e-mail" not in page.content()

    page.get_by_role("link", name="Relier avec Sandbox").click()
    page.wait_for_url("**/sandbox/oauth/authorize*")
    snapshot(page, "07-sandbox-authorize")
    page.locator("#username").fill("alice")
    page.locator("#password").fill("alice-sandbox-pw")
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/onboarding?done=link")
    content = page.content()
    assert "3 / 3" in content and "@alice" in content
    snapshot(page, "08-onboarding-done")

    # Linking by posting a code: shown once, with the post to write, in French and English.
    page.get_by_role("button", name="Obtenir un code").click()
    code = page.locator("#the-link-code").inner_text()
    assert len(code) == 8
    assert f"@payez lier {code}" in page.content()
    assert f"@payez link {code}" in page.content()
    snapshot(page, "09-link-code")
    page.goto(server.url + "/onboarding")

    page.get_by_role("link", name="Aller au tableau de bord").click()
    page.wait_for_url("**/dashboard")
    assert page.locator("#balance").inner_text().replace("\u00a0", " ") == "0,00 €"
    assert "Aucun paiement." in page.content()
    snapshot(page, "09-dashboard")

    page.goto(server.url + "/dashboard?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "No payments." in page.content()
    snapshot(page, "10-dashboard-en")

    page.goto(server.url + "/settings")
    snapshot(page, "11-settings")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(server.url + "/")
    page.goto(server.url + "/dashboard")
    page.wait_for_url("**/login?next=/dashboard")
    snapshot(page, "12-login")
    context.close()
