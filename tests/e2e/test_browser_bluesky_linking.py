"""In headless Chromium: a Payez user links their Bluesky account through AT Protocol OAuth, on
the reference PDS's own sign-in and consent pages (PAR, PKCE and DPoP against the real
authorization server), and comes back linked to their DID."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine

from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import social_links
from payez.adapters.networks.bluesky_oauth import BlueskyOAuthClient
from payez.config import load_settings
from payez.entrypoints.web.app import create_app
from payez.service.context import ServiceContext
from tests.e2e.browser import PHONE, chromium, snapshot
from tests.integration.atproto_server import PASSWORD, AtprotoNetwork
from tests.integration.network_server import ServedApp
from tests.integration.web_world import emailed_link

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the fixture


@dataclass
class Running:
    url: str
    engine: Engine


@pytest.fixture
def server(sqlite_url: str, atproto_network: AtprotoNetwork) -> Iterator[Running]:
    served = ServedApp(None)
    settings = load_settings(
        {}, database_url=sqlite_url, base_url=f"http://127.0.0.1:{served.port}"
    )
    engine = make_engine(sqlite_url)
    client = BlueskyOAuthClient(
        network="bluesky",
        service_url=atproto_network.pds_url,
        plc_url=atproto_network.plc_url,
        base_url=settings.base_url,
        secret=settings.secret_key,
    )
    served.app = create_app(
        ServiceContext(engine=engine, settings=settings), oauth_clients={"bluesky": client}
    )
    served.start()
    try:
        yield Running(served.url, engine)
    finally:
        served.stop()
        engine.dispose()


def _signs_in_on_the_pds(
    page: Page, server: Running, email: str, handle: str, password: str
) -> None:
    """A new Payez member verifies their address, asks to link Bluesky, and signs in on the
    PDS's own page with ``password``."""
    page.goto(server.url + "/signup")
    page.get_by_label("Display name").fill("Alice")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/onboarding")
    page.goto(server.url + emailed_link(server.engine, email, "verify_email"))
    page.goto(server.url + "/onboarding")
    page.get_by_role("link", name="Link with Bluesky").click()
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=username]").fill(handle)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_bluesky_account_is_linked_by_at_protocol_oauth(
    server: Running, chromium: Browser, atproto_network: AtprotoNetwork
) -> None:
    handle = f"oauth{uuid.uuid4().hex[:8]}.test"
    account = atproto_network.create_account(handle)
    context = chromium.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    returns: list[str] = []
    page.on("request", lambda r: returns.extend([r.url] if "/bluesky/callback" in r.url else []))

    _signs_in_on_the_pds(page, server, "alice@example.org", handle, PASSWORD)
    page.get_by_role("button", name="Authorize").click()  # the PDS's consent page
    page.wait_for_url("**/onboarding?done=link")
    assert f"@{handle}" in page.content()
    snapshot(page, "bluesky-linked")
    # The return link replayed: the code is spent, the PDS refuses it, nothing changes.
    assert len(returns) == 1
    replayed = page.goto(returns[0])
    assert replayed is not None and replayed.status == 400
    context.close()

    with server.engine.connect() as conn:
        linked = conn.execute(
            sa.select(social_links.c.account_id, social_links.c.handle).where(
                social_links.c.network == "bluesky"
            )
        ).all()
    assert [tuple(row) for row in linked] == [(account.did, handle)]


def test_the_pds_refuses_a_sign_in_with_a_wrong_password_and_nothing_is_linked(
    server: Running, chromium: Browser, atproto_network: AtprotoNetwork
) -> None:
    handle = f"oauth{uuid.uuid4().hex[:8]}.test"
    atproto_network.create_account(handle)
    page = chromium.new_page(locale="en-US")
    page.set_default_timeout(20_000)
    _signs_in_on_the_pds(page, server, "bob@example.org", handle, "not the password")
    page.get_by_text("Wrong identifier or password").wait_for()
    assert "/oauth/authorize" in page.url  # still on the PDS: Payez never heard back
    page.close()
    with server.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(social_links)).scalar() == 0
