"""Members of the web world with a kind (merchant, association, person), for the merchant,
association and receipt tests: signed up through the browser, linked to a network account,
with money in their wallet."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from payez.adapters.db import web_accounts
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.domain.money import Money
from payez.entrypoints.web.app import create_app
from payez.ports.network import NetworkAccount
from payez.service.link_social_account import link_social_account
from payez.service.load_wallet import load_wallet
from tests.integration.pipeline_world import World
from tests.integration.sandbox_server import Sandbox, running_sandbox
from tests.integration.web_world import Browser, WebWorld, oauth_clients


def member(
    web: WebWorld,
    handle: str,
    *,
    kind: str = "person",
    cents: int = 0,
    legal_id: str | None = None,
    account: NetworkAccount | None = None,
    network: str = "memory",
) -> Browser:
    """A logged-in browser for a new member ``handle`` of ``kind``, linked on ``network``."""
    browser = web.browser()
    answer = browser.sign_up(f"{handle}@example.org", name=handle.title())
    assert answer.status_code == 303, answer.text
    user_id = browser.user_id()
    world = web.world
    linked = account or world.network.add_account(handle)
    link_social_account(world.ctx, user_id, network, linked)
    with world.ctx.engine.begin() as conn:
        web_accounts.update_user(
            conn,
            user_id,
            kind=kind,
            identity_verified=True,
            organisation_verified=kind != "person",
            legal_id=legal_id,
        )
        if cents:
            load_wallet(conn, user_id, Money.eur(cents), f"load:{handle}")
    world.users[handle] = user_id
    world.accounts[handle] = linked
    return browser


@contextlib.contextmanager
def shop_on_sandbox(
    database_url: str,
) -> Iterator[tuple[Sandbox, World, MastodonNetwork, WebWorld, Browser]]:
    """A merchant, ``boutique``, and a buyer, ``bob`` (30 €), linked on a running sandbox
    network that Payez reads as ``sandbox``: the sandbox, the world, Payez's adapter for the
    sandbox, the web world and the merchant's browser."""
    with running_sandbox(database_url) as sandbox:
        world = World.create(database_url)
        sandbox.user("payez")
        network = MastodonNetwork(sandbox.api_base_url, sandbox.token("payez"), name="sandbox")
        world.ctx.networks = {**world.ctx.networks, "sandbox": network}
        web = WebWorld(world, create_app(world.ctx, oauth_clients=oauth_clients(sandbox)))
        try:
            sandbox.user("boutique")
            sandbox.user("bob")
            shop_account = network.resolve_handle("boutique")
            bob_account = network.resolve_handle("bob")
            assert shop_account and bob_account
            shop = member(web, "boutique", kind="merchant", account=shop_account, network="sandbox")
            member(web, "bob", cents=3_000, account=bob_account, network="sandbox")
            yield sandbox, world, network, web, shop
        finally:
            web.close()
