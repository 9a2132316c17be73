"""Linking an X account in onboarding, and claiming money sent to one: OAuth 2.0 with PKCE
(S256) against the fake X, the account proven by its immutable numeric id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.payments import payments, social_links
from payez.adapters.networks.x import XNetwork
from payez.adapters.networks.x_oauth import XOAuthClient
from payez.domain.money import Money
from payez.entrypoints.web.app import create_app
from payez.ports.network import AuthenticationFailed
from payez.service.load_wallet import load_wallet
from payez.service.open_account import link_network_account, open_user
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from tests.integration.pipeline_world import World
from tests.integration.web_world import Browser, WebWorld
from tests.integration.x_server import RunningX, running_x

CALLBACK = "http://testserver/oauth/x/callback"


@dataclass
class Linking:
    web: WebWorld
    x: RunningX
    client: XOAuthClient

    def links(self) -> list[tuple[str, str, str]]:
        with self.web.world.ctx.engine.connect() as conn:
            rows = conn.execute(
                sa.select(social_links.c.network, social_links.c.account_id, social_links.c.handle)
            )
            return [(str(n), str(i), str(h)) for n, i, h in rows]


@pytest.fixture
def linking(database_url: str) -> Iterator[Linking]:
    with running_x("alice", "bob") as x:
        world = World.create(database_url)
        client = XOAuthClient(
            network="x",
            api_url=x.url,
            client_id=x.fake.client_id,
            redirect_uri=CALLBACK,
            pkce_secret="server-secret",
            authorize_page=x.url + "/i/oauth2/authorize",
            timeout=5,
        )
        web = WebWorld(world, create_app(world.ctx, oauth_clients={"x": client}))
        try:
            yield Linking(web, x, client)
        finally:
            web.close()


def _sign_in_on_x(browser: Browser, username: str, start_path: str = "/onboarding/link/x") -> str:
    """Follow Payez to X's authorize page, sign in there as ``username``; returns the return
    path (with code and state)."""
    start = browser.get(start_path)
    assert start.status_code == 303, start.text
    # A browser, which never reads ~/.netrc.
    answer = httpx.get(
        start.headers["location"] + f"&as_user={username}", follow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    return f"{target.path}?{target.query}"


def test_x_is_offered_and_asks_for_a_pkce_challenge(linking: Linking) -> None:
    browser = linking.web.browser()
    assert browser.sign_up("alice@example.org").status_code == 303
    assert 'href="/onboarding/link/x"' in browser.get("/onboarding").text
    start = browser.get("/onboarding/link/x")
    assert start.status_code == 303
    target = urlsplit(start.headers["location"])
    assert (
        f"{target.scheme}://{target.netloc}{target.path}" == linking.x.url + "/i/oauth2/authorize"
    )
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == linking.x.fake.client_id
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"].split() == ["tweet.read", "users.read"]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and "code_verifier" not in query


def test_linking_an_x_account_by_oauth_keeps_its_numeric_id(linking: Linking) -> None:
    browser = linking.web.browser()
    assert browser.sign_up("alice@example.org").status_code == 303
    back_path = _sign_in_on_x(browser, "alice")
    back = browser.get(back_path)
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/onboarding?done=link"
    alice = linking.x.fake.user("alice")
    assert linking.links() == [("x", alice.id, "alice")]
    me = browser.client.get("/api/v1/me").json()
    assert me["linked_accounts"] == [{"network": "x", "handle": "alice"}]
    # The code was spent: the same return link again is refused, and changes nothing.
    again = browser.get(back_path)
    assert again.status_code == 400
    assert linking.links() == [("x", alice.id, "alice")]


@pytest.mark.usefixtures("netrc_for_localhost")
def test_a_netrc_entry_for_x_does_not_speak_for_payez(linking: Linking) -> None:
    # requests would send these credentials as HTTP Basic, naming another client to X.
    browser = linking.web.browser()
    assert browser.sign_up("alice@example.org").status_code == 303
    back = browser.get(_sign_in_on_x(browser, "alice"))
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/onboarding?done=link"
    assert linking.links() == [("x", linking.x.fake.user("alice").id, "alice")]


def test_a_code_cannot_be_redeemed_without_the_verifier(linking: Linking) -> None:
    browser = linking.web.browser()
    assert browser.sign_up("bob@example.org").status_code == 303
    query = parse_qs(urlsplit(_sign_in_on_x(browser, "bob")).query)
    code, state = query["code"][0], query["state"][0]
    # Whoever saw the return link (code and state) lacks the server's secret.
    thief = XOAuthClient(
        network="x",
        api_url=linking.x.url,
        client_id=linking.x.fake.client_id,
        redirect_uri=CALLBACK,
        pkce_secret="guessed",
        timeout=5,
    )
    with pytest.raises(AuthenticationFailed):
        thief.signed_in(code, state=state)
    assert linking.links() == []


def test_the_real_authorize_page_is_the_default() -> None:
    client = XOAuthClient(
        network="x",
        api_url="https://api.x.com",
        client_id="id",
        redirect_uri="https://payez.example/oauth/x/callback",
        pkce_secret="s",
    )
    url = client.authorize_url("state", ("read", "write:statuses"))
    assert url.startswith("https://x.com/i/oauth2/authorize?")
    scope = parse_qs(urlsplit(url).query)["scope"][0]
    assert scope.split() == ["tweet.read", "users.read", "tweet.write"]
    assert "pkce_secret" not in repr(client) and "'s'" not in repr(client)


def _money_for_carol_on_x(linking: Linking) -> str:
    """Alice, linked by her X id, sends 7,50 € to @carol, who is on X but not on Payez; returns
    the claim token."""
    world, fake = linking.web.world, linking.x.fake
    fake.add_user("carol")
    network = XNetwork(**linking.x.network_options(), request_timeout=5)
    world.ctx.networks["x"] = network  # type: ignore[index]
    alice = network.resolve_handle("alice")
    assert alice is not None
    with world.ctx.engine.begin() as conn:
        user = open_user(
            conn, kind="person", display_name="alice", now=world.clock.now(), identity_verified=True
        )
        link_network_account(conn, world.ctx, user, "x", alice)
        load_wallet(conn, user, Money.eur(5_000), "load:alice")
    world.users["alice"] = user
    post_id = fake.post("alice", "@payez envoie 7,50€ à @carol merci")
    assert poll_mentions(world.ctx, network) == 1
    process_until_empty(world.ctx)
    with world.ctx.engine.connect() as conn:
        state, token, recipient = conn.execute(
            sa.select(
                payments.c.state, payments.c.claim_token, payments.c.recipient_account_id
            ).where(payments.c.post_id == post_id)
        ).one()
    assert state == "held_for_claim" and recipient == fake.user("carol").id
    return str(token)


def test_money_sent_to_an_x_account_is_claimed_by_proving_it(linking: Linking) -> None:
    token = _money_for_carol_on_x(linking)
    bob_browser = linking.web.browser()
    assert bob_browser.sign_up("bob@example.org", name="Bob").status_code == 303
    # Bob is on X too, but the money was sent to carol's id: his proof does not claim it.
    refused = bob_browser.get(_sign_in_on_x(bob_browser, "bob", f"/claim/{token}/start"))
    assert refused.status_code == 403
    assert bob_browser.client.get("/api/v1/me/balance").json()["balance"]["cents"] == 0

    carol = linking.web.browser(**{"accept-language": "en"})
    assert carol.sign_up("carol@example.org", name="Carol").status_code == 303
    done = carol.get(_sign_in_on_x(carol, "carol", f"/claim/{token}/start"))
    assert done.status_code == 200, done.text
    assert "€7.50 has been credited to your Payez account" in done.text
    assert carol.client.get("/api/v1/me/balance").json()["balance"]["cents"] == 750
    me = carol.client.get("/api/v1/me").json()
    assert me["linked_accounts"] == [{"network": "x", "handle": "carol"}]
