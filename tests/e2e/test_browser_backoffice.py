"""In headless Chromium, against the whole service served in-process (the sandbox network
mounted at /sandbox, the service reading it through its Mastodon adapter, the worker stepped by
hand):

1. a user posts a payment on the sandbox's web timeline and sees it in their dashboard;
2. a newcomer follows the claim link in the reply: signs up, proves their sandbox account,
   sees the money on the dashboard, verifies their identity and asks for a payout;
3. an operator freezes an account in the back-office, and the next command from it is refused.

Every page is checked at 375 px wide and saved under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page

from payez.adapters.db.tables.payments import payments, users
from payez.adapters.db.tables.payouts import payouts
from payez.domain.payments import PaymentState
from payez.service.operators import grant_operator
from payez.service.sign_up import sign_up
from tests.e2e.browser import chromium, phone, snapshot
from tests.e2e.service_world import ServiceWorld, running_world
from tests.integration.web_world import emailed_link

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the fixture
PASSWORD = "correct horse battery"
LINK_IN_TEXT = re.compile(r"https?://\S+/claim/[A-Za-z0-9_\-]+")


@pytest.fixture
def world(sqlite_url: str) -> Iterator[ServiceWorld]:
    with running_world(sqlite_url) as w:
        yield w


def _log_in(page: Page, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Me connecter").click()
    # By path: the login page's own address, "/login?next=<path>", ends with the same text.
    page.wait_for_url(lambda url: urlsplit(url).path == next_path)


def _payment_of_post(world: ServiceWorld, post_id: str) -> dict[str, object]:
    with world.engine.connect() as conn:
        row = conn.execute(sa.select(payments).where(payments.c.post_id == post_id)).one()
    return dict(row._mapping)


def test_a_payment_posted_on_the_sandbox_timeline_shows_in_the_dashboard(
    world: ServiceWorld, chromium: Browser
) -> None:
    base = world.settings.base_url
    world.give_login("alice", "alice@example.org", PASSWORD)
    context, page = phone(chromium)
    _log_in(page, base, "alice@example.org", "/dashboard")
    assert page.locator("#balance").inner_text().replace("\u00a0", " ") == "500,00 €"
    snapshot(page, "bo-01-dashboard-before")

    page.goto(base + "/sandbox/")
    page.locator("#account_id").select_option(label="@alice — Alice")
    page.locator("#status").fill("@payez envoie 12,50€ à @bob pour les croissants")
    snapshot(page, "bo-02-sandbox-timeline")
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    assert "pour les croissants" in page.content()
    snapshot(page, "bo-03-sandbox-posted")

    world.step()
    assert world.balance("bob") == 50_000 + 1250

    page.goto(base + "/dashboard")
    assert page.locator("#balance").inner_text().replace("\u00a0", " ") == "487,50 €"
    history = page.locator("#history").inner_text().replace("\u00a0", " ")
    assert "@bob" in history and "12,50 €" in history and "pour les croissants" in history
    snapshot(page, "bo-04-dashboard-after")
    page.locator("#history a").first.click()
    page.wait_for_url("**/dashboard/payments/*")
    assert "12,50" in page.content()
    snapshot(page, "bo-05-payment")
    context.close()


def test_a_newcomer_follows_the_link_in_the_reply_to_a_payout(
    world: ServiceWorld, chromium: Browser
) -> None:
    base = world.settings.base_url
    status = world.post("alice", "@payez envoie 8€ à @dave bienvenue")
    world.step()
    (reply,) = world.replies_to(status)
    claim_link = LINK_IN_TEXT.search(reply)
    assert claim_link is not None, reply

    context, page = phone(chromium)
    # The link exactly as the reply carries it.
    page.goto(claim_link.group(0))
    assert "8,00" in page.content()
    snapshot(page, "bo-06-claim")
    # Not logged in: the claim leads through sign-up first, then back to the claim.
    page.get_by_role("link", name="Créer mon compte Payez").click()
    page.wait_for_url("**/signup?next=*")
    page.get_by_label("Nom affiché").fill("Dave")
    page.get_by_label("Adresse e-mail").fill("dave@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    snapshot(page, "bo-07-claim-sign-up")
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url("**/claim/*")
    page.get_by_role("link", name="Se connecter avec").click()
    page.wait_for_url("**/sandbox/oauth/authorize*")
    snapshot(page, "bo-08-claim-sandbox-sign-in")
    page.locator("#username").fill("dave")
    page.locator("#password").fill(world.passwords["dave"])
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/oauth/sandbox/callback*")
    main = page.locator("main").inner_text().replace("\u00a0", " ")
    assert "C'est à vous !" in main and "8,00 €" in main
    snapshot(page, "bo-09-claimed")

    page.get_by_role("link", name="Voir mon tableau de bord").click()
    page.wait_for_url("**/dashboard")
    assert page.locator("#balance").inner_text().replace("\u00a0", " ") == "8,00 €"
    snapshot(page, "bo-10-newcomer-dashboard")
    assert _payment_of_post(world, str(status["id"]))["state"] == PaymentState.CLAIMED

    # Paying out needs a verified identity: the payouts page leads there, and back.
    page.goto(f"{base}/payouts")
    page.locator("#verify-first a").click()
    page.wait_for_url("**/onboarding*")
    page.get_by_label("Nom complet").fill("Dave Dupont")
    page.get_by_label("Date de naissance").fill("1990-04-12")
    page.get_by_role("button", name="Vérifier mon identité").click()
    page.wait_for_load_state()
    page.goto(f"{base}/payouts")
    assert page.locator("#verify-first").count() == 0
    # And a verified address: the link emailed at sign-up.
    assert "Vérifiez votre adresse e-mail" in page.content()
    page.goto(base + emailed_link(world.engine, "dave@example.org", "verify_email"))
    assert "Votre adresse e-mail est vérifiée." in page.content()
    page.goto(f"{base}/payouts")
    page.locator("#amount").fill("8")
    page.locator("#iban").fill("FR76 3000 6000 0112 3456 7890 189")
    page.locator("#name").fill("Dave Dupont")
    page.get_by_role("button", name="Demander le virement").click()
    page.wait_for_load_state()
    assert "Virement demandé" in page.content()
    # All of it is held for the transfer to the bank.
    assert page.locator("#available").inner_text().replace("\u00a0", " ") == "0,00 €"
    snapshot(page, "bo-11-newcomer-payout")
    context.close()

    with world.engine.connect() as conn:
        dave = conn.execute(
            sa.select(users.c.id, users.c.email).where(users.c.email == "dave@example.org")
        ).one()
        payouts_of_dave = (
            conn.execute(sa.select(payouts.c.amount_cents).where(payouts.c.user_id == dave.id))
            .scalars()
            .all()
        )
        people_named_dave = conn.execute(
            sa.select(sa.func.count()).select_from(users).where(users.c.display_name == "dave")
        ).scalar_one()
    assert payouts_of_dave == [800]
    assert people_named_dave == 0  # no login-less account was opened along the way


def test_an_operator_freezes_an_account_and_its_next_command_is_refused(
    world: ServiceWorld, chromium: Browser
) -> None:
    base = world.settings.base_url
    sign_up(
        world.ctx,
        email="ops@example.org",
        password=PASSWORD,
        display_name="Olga Ops",
        language="fr",
    )
    grant_operator(world.ctx, "ops@example.org")
    context, page = phone(chromium)
    _log_in(page, base, "ops@example.org", "/backoffice")
    snapshot(page, "bo-09-backoffice")

    page.get_by_label("E-mail, pseudo ou nom affiché").fill("carol")
    page.get_by_role("button", name="Rechercher").first.click()
    page.wait_for_url("**/backoffice/users?q=carol")
    snapshot(page, "bo-10-user-search")
    page.locator("#users a").first.click()
    page.wait_for_url("**/backoffice/users/*")
    assert page.locator("#status").inner_text() == "Actif"
    snapshot(page, "bo-11-user")

    page.get_by_label("Raison (obligatoire)").fill("Carte déclarée volée")
    page.get_by_role("button", name="Geler le compte").click()
    page.wait_for_url("**done=frozen")
    assert page.locator("#status").inner_text() == "Gelé"
    assert "Compte gelé." in page.content()
    snapshot(page, "bo-12-user-frozen")

    status = world.post("carol", "@payez envoie 5€ à @bob")
    world.step()
    payment = _payment_of_post(world, str(status["id"]))
    assert payment["state"] == PaymentState.REJECTED
    assert payment["reason"] == "sender_frozen"
    assert world.replies_to(status), "the frozen sender is told"
    assert world.balance("carol") == 50_000

    page.goto(base + "/backoffice/payments?handle=carol")
    assert "sender_frozen" in page.content()
    snapshot(page, "bo-13-payments")
    page.goto(base + "/backoffice/audit")
    audit = page.locator("#audit").inner_text()
    assert "account.freeze" in audit and "Carte déclarée volée" in audit
    snapshot(page, "bo-14-audit")
    page.goto(base + "/backoffice/flags")
    snapshot(page, "bo-15-flags")
    page.goto(base + "/backoffice/payouts")
    snapshot(page, "bo-16-payouts")
    page.goto(base + "/backoffice/reconcile")
    snapshot(page, "bo-17-reconcile")
    page.goto(base + "/backoffice/audit?lang=en")
    assert "Audit log" in page.content()
    snapshot(page, "bo-18-audit-en")
    context.close()
