"""A tour of every page of the web app, shared by the browser tests that look at all of them
(fits a phone, accessibility, screenshots).

The pages are read from the app's route table: every GET route without parameters, and those
with parameters filled from a world with data (payments, a pending claim, a confirmation, a
purchase, a donation, a campaign, a payout, a card charge waiting for 3-D Secure). A new route
with parameters fails the tour until it is given values here (or named as not a page), so no
page is forgotten. Each page is seen as a visitor and as a user with data; the merchant,
association and back-office areas also as their own users.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize
from starlette.routing import Mount

from payez.adapters.db.tables.payments import listings, payments
from payez.domain.money import Money
from payez.sandbox.mail.tables import mail as sandbox_mail
from payez.service.api_keys import create_api_key
from payez.service.campaigns import create_campaign
from payez.service.create_listing import create_draft
from payez.service.create_payment_request import create_payment_request
from payez.service.email_outbox import Letter, queue_email
from payez.service.my_payment_requests import my_payment_request
from payez.service.operators import grant_operator
from payez.service.public_profile import set_public_profile
from payez.service.request_payout import request_payout
from payez.service.sign_up import sign_up
from tests.e2e.browser import PHONE
from tests.e2e.service_world import ServiceWorld, running_world

PASSWORD = "correct horse battery"
# Routes that answer something other than a page (files, JSON), by template.
NOT_PAGES = {
    "/listings/{listing_id}/picture",  # an image
    "/receipts/{receipt_id}.pdf",  # a PDF
    "/backoffice/payouts/{batch_id}/file",  # a pain.001 file
    "/manifest.webmanifest",  # the web app manifest (JSON)
    "/icon.svg",  # an image
    "/dashboard/events",  # an event stream, open until the server ends it
}
JSON_PREFIXES = ("/api/", "/sandbox/api/")
SANDBOX = "/sandbox/"
# The sandbox card processor's pages are Payez's own forms, under the sandbox's prefix.
PAYEZ_PAGES_UNDER_SANDBOX = "/sandbox/cards/"
# Which areas are also seen by their own users (everything is seen as a visitor and as alice).
AREAS = {
    "boutique": ("/merchant", "/listings/", "/integrations"),
    "restos": ("/association", "/campaigns/", "/dashboard/donations"),
    "ops": ("/backoffice",),
}
EMAILS = {role: f"{role}@example.org" for role in ("alice", *AREAS)}
Language = Literal["fr", "en"]
Scheme = Literal["light", "dark"]
LOCALES: dict[Language, str] = {"fr": "fr-FR", "en": "en-GB"}


@pytest.fixture
def tour_world(sqlite_url: str) -> Iterator[ServiceWorld]:
    with running_world(sqlite_url, confirm="never") as w:
        yield w


@dataclass
class Filled:
    """Values for the routes' parameters, by route template: one path or more each."""

    paths: dict[str, list[str]] = field(default_factory=dict)


def page_routes(app: FastAPI) -> list[str]:
    """Every GET route of the app and of the apps mounted in it, as templates."""
    found: list[str] = []
    for route in iter_route_contexts(app.routes):
        methods = getattr(route, "methods", None) or set()
        if route.path and "GET" in methods:
            found.append(route.path)
        if isinstance(route.original_route, Mount):
            mount = route.original_route
            for inner in iter_route_contexts(mount.routes):
                if inner.path and "GET" in (getattr(inner, "methods", None) or set()):
                    found.append(mount.path + inner.path)
    return found


def _payment(world: ServiceWorld, status: dict[str, object]) -> dict[str, object]:
    with world.engine.connect() as conn:
        row = conn.execute(sa.select(payments).where(payments.c.post_id == str(status["id"])))
        return dict(row.one()._mapping)


def fill_world(world: ServiceWorld) -> Filled:
    """Data on every page, and the values of every route's parameters."""
    alice_id = world.give_login("alice", EMAILS["alice"], PASSWORD)
    boutique_id = world.give_login("boutique", EMAILS["boutique"], PASSWORD)
    restos_id = world.give_login("restos", EMAILS["restos"], PASSWORD)
    sign_up(world.ctx, email=EMAILS["ops"], password=PASSWORD, display_name="Olga", language="fr")
    grant_operator(world.ctx, EMAILS["ops"])

    croissants = world.post("alice", "@payez envoie 12,50€ à @bob pour les croissants du matin")
    to_dave = world.post("alice", "@payez envoie 5€ à @dave bienvenue sur Payez !")
    world.post("bob", "@payez envoie 20€ à @restos pour les repas d'hiver")
    with world.engine.connect() as conn:
        listing_id, listing_post = conn.execute(
            sa.select(listings.c.id, listings.c.post_id).where(
                listings.c.merchant_user_id == boutique_id
            )
        ).one()
    world.post("carol", "@boutique @payez j'achète", in_reply_to_id=listing_post)
    world.step()
    world.ctx.settings = world.ctx.settings.with_overrides(confirm="always")
    rent = world.post("alice", "@payez envoie 40€ à @bob loyer de décembre")
    world.step()
    claim, confirmation = _payment(world, to_dave), _payment(world, rent)
    assert claim["state"] == "held_for_claim" and confirmation["state"] == "awaiting_confirmation"
    (claim_reply,) = world.replies_to(to_dave)
    assert f"/claim/{claim['claim_token']}" in claim_reply  # the long link the timeline shows

    campaign_id = create_campaign(
        world.ctx,
        restos_id,
        title="Repas chauds pour l'hiver dans le onzième arrondissement",
        description="Chaque euro finance un repas.",
        goal="1000",
        starts_on=date.today().isoformat(),
    )
    draft_id = create_draft(
        world.ctx,
        boutique_id,
        title="Tasse Payez émaillée, édition limitée",
        price="9,90",
        stock="5",
    )
    request_id = create_payment_request(
        world.ctx,
        alice_id,
        amount="12,50",
        reason="Restaurant « Chez Marcel » du vendredi soir, avec le dessert et les cafés",
        uses="once",
    )
    any_amount = create_payment_request(
        world.ctx, alice_id, amount="", reason="cagnotte", uses="many"
    )
    codes = {
        my_payment_request(world.ctx, alice_id, made).request.code
        for made in (request_id, any_amount)
    }
    create_api_key(world.ctx, boutique_id, "Caisse du marché de la place Léon-Blum", "write")
    set_public_profile(world.ctx, alice_id, "alice")
    request_payout(
        world.ctx,
        handle="alice",
        amount=Money.eur(1000),
        iban="FR7630006000011234567890189",
        creditor_name="Alice Martin",
    )
    cards = world.server.app.state.site.cards
    customer = cards.create_customer(reference="fit", email=None, idempotency_key="cus-fit")
    cards.attach_card(customer_id=customer, card_token="4000002500003155")
    charge = cards.charge(
        customer_id=customer, amount=Money.eur(6000), idempotency_key="fit", description="fit"
    )
    assert charge.status == "requires_action"
    with world.engine.begin() as conn:
        queue_email(
            conn,
            kind="fit",
            to="fit-test@example.org",
            language="fr",
            letter=Letter(
                "Vérifiez votre adresse e-mail",
                "Check your email address",
                f"Ouvrez ce lien : {world.settings.base_url}/verify/{'x' * 80}?next=/dashboard",
                "-",
            ),
            idempotency_key="fit:email",
            now=world.ctx.now(),
        )
    world.step()  # delivers it into the sandbox mailbox
    with world.engine.connect() as conn:
        mail_id = conn.execute(
            sa.select(sandbox_mail.c.id).where(sandbox_mail.c.to_address == "fit-test@example.org")
        ).scalar_one()

    return Filled(
        {
            "/onboarding/link/{network}": ["/onboarding/link/sandbox"],
            "/dashboard/payments/{payment_id}": [
                f"/dashboard/payments/{_payment(world, croissants)['id']}"
            ],
            "/claim/{token}": [f"/claim/{claim['claim_token']}"],
            "/claim/{token}/start": [f"/claim/{claim['claim_token']}/start"],
            "/oauth/{network}/callback": ["/oauth/sandbox/callback?code=x&state=y"],
            "/confirm/{token}": [f"/confirm/{confirmation['confirm_token']}"],
            "/sandbox/cards/authenticate/{charge_id}": [f"/sandbox/cards/authenticate/{charge.id}"],
            # Stripe's pages: with the sandbox processor, their "not found" page.
            "/cards/authenticate/{charge_id}": [f"/cards/authenticate/{charge.id}"],
            "/cards/authenticate/{charge_id}/done": [f"/cards/authenticate/{charge.id}/done"],
            "/backoffice/users/{user_id}": [f"/backoffice/users/{alice_id}"],
            "/merchant/drafts/{draft_id}": [f"/merchant/drafts/{draft_id}"],
            "/merchant/listings/{listing_id}/orders": [f"/merchant/listings/{listing_id}/orders"],
            "/listings/{listing_id}": [f"/listings/{listing_id}"],
            "/associations/{handle}": ["/associations/restos"],
            "/campaigns/{campaign_id}": [f"/campaigns/{campaign_id}"],
            # The widgets, and the "not found" drawn in their frame.
            "/embed/campaigns/{campaign_id}": [
                f"/embed/campaigns/{campaign_id}",
                "/embed/campaigns/999999",
            ],
            "/embed/listings/{listing_id}": [f"/embed/listings/{listing_id}"],
            "/sandbox/@{username}": ["/sandbox/@alice", "/sandbox/@payez"],
            "/sandbox/mail/{mail_id}": [f"/sandbox/mail/{mail_id}"],
            "/sandbox/@{username}/{status_id}": [
                f"/sandbox/@alice/{to_dave['id']}",
                f"/sandbox/@alice/{rent['id']}",
            ],
            # Pages with a query worth seeing filled.
            "/backoffice/users": ["/backoffice/users", "/backoffice/users?q=alice"],
            "/backoffice/payments": ["/backoffice/payments", "/backoffice/payments?handle=alice"],
            "/dashboard": ["/dashboard", "/dashboard?q=croissants"],
            "/dashboard/requests/{request_id}": [f"/dashboard/requests/{request_id}"],
            "/r/{code}": [f"/r/{code}?amount=250" for code in sorted(codes)],
            "/@{handle}": ["/@alice", "/@alice?amount=7,50"],
        }
    )


@dataclass(frozen=True)
class Stop:
    """A path to visit, and a name for it that stays the same from one run to the next (its
    route, not the token drawn for it this time)."""

    path: str
    name: str


def plan_visits(world: ServiceWorld) -> dict[str, list[Stop]]:
    """Fills the world, then the paths each role visits: every page as a visitor, every page
    but the sandbox network's as alice, and each area as its own user."""
    filled = fill_world(world)
    templates = sorted(set(page_routes(world.server.app)))
    assert "/sandbox/" in templates and "/dashboard" in templates and "/docs" in templates
    pages = [t for t in templates if not t.startswith(JSON_PREFIXES) and t not in NOT_PAGES]
    unknown = [t for t in pages if "{" in t and t not in filled.paths]
    assert not unknown, f"fill these routes in fill_world, or name them in NOT_PAGES: {unknown}"
    stops: list[Stop] = []
    for template in pages:
        paths = filled.paths.get(template, [template])
        for number, path in enumerate(paths, start=1):
            if "{" not in template:
                stops.append(Stop(path, path))
            else:
                stops.append(Stop(path, template + (f"-{number}" if len(paths) > 1 else "")))

    visits: dict[str, list[Stop]] = {"visitor": stops}
    visits["alice"] = [s for s in stops if not is_sandbox_network(s.path)]
    for role, prefixes in AREAS.items():
        visits[role] = [s for s in stops if s.path.startswith(prefixes)]
    return visits


def is_sandbox_network(path: str) -> bool:
    """A page of the sandbox network, which stands for another site."""
    return path.startswith(SANDBOX) and not path.startswith(PAYEZ_PAGES_UNDER_SANDBOX)


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login?next=/dashboard")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form[action='/login'] button[type=submit]").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/dashboard")


def slug(role: str, name: str) -> str:
    return role + "-" + (re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "home")


@dataclass(frozen=True)
class Seen:
    """A page the tour landed on: who saw it, the path asked, the page's stable name (where
    it landed, when sent elsewhere), and the browser's tab on it."""

    role: str
    path: str
    name: str
    page: Page


def walk(
    chromium: Browser,
    world: ServiceWorld,
    visits: dict[str, list[Stop]],
    *,
    language: Language = "fr",
    scheme: Scheme = "light",
    viewport: ViewportSize = PHONE,
    prepare: Callable[[BrowserContext], None] | None = None,
) -> Iterator[Seen]:
    """Each role's pages, one browser context per role, each landing page once per role
    (a page that sends elsewhere, to the login page say, is seen where it lands)."""
    base = world.settings.base_url
    for role, stops in visits.items():
        context = chromium.new_context(
            viewport=viewport, locale=LOCALES[language], color_scheme=scheme
        )
        try:
            if prepare is not None:
                prepare(context)
            page = context.new_page()
            page.set_default_timeout(15_000)
            if role in EMAILS:
                log_in(page, base, EMAILS[role])
            # The language chosen by its cookie, over a logged-in user's own setting.
            page.goto(f"{base}/?lang={language}")
            checked: set[str] = set()
            for stop in stops:
                path = stop.path
                # Asked first with the browser's cookies: a file would start a download.
                probe = context.request.get(base + path)
                if not probe.headers.get("content-type", "").startswith("text/html"):
                    continue  # a file or JSON
                answer = page.goto(base + path)
                assert answer is not None, path
                landed = page.url.removeprefix(base)
                if landed != path:  # sent elsewhere: to the login page, say, once is enough
                    landed = urlsplit(landed).path
                if landed in checked:
                    continue
                checked.add(landed)
                assert answer.status < 500, f"{role} {path}: {answer.status}"
                yield Seen(role, path, stop.name if landed == path else landed, page)
        finally:
            context.close()
