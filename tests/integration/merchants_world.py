"""Members of the web world with a kind (merchant, association, person), for the merchant,
association and receipt tests: signed up through the browser, linked to a network account,
with money in their wallet."""

from __future__ import annotations

from payez.adapters.db import web_accounts
from payez.domain.money import Money
from payez.ports.network import NetworkAccount
from payez.service.link_social_account import link_social_account
from payez.service.load_wallet import load_wallet
from tests.integration.web_world import Browser, WebWorld


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
