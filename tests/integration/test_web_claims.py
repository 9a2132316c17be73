"""The claim flow through the web app: OAuth on the sandbox proves the account's immutable id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payez.ports.network import NetworkAccount
from tests.integration.sandbox_server import Sandbox
from tests.integration.web_world import WebWorld, authorize_on_sandbox, oauth_sandbox, web_world


@pytest.fixture
def sandbox(database_url: str) -> Iterator[Sandbox]:
    with oauth_sandbox(database_url) as running:
        yield running


@pytest.fixture
def web(database_url: str, sandbox: Sandbox) -> Iterator[WebWorld]:
    with web_world(database_url, sandbox=sandbox) as world:
        yield world


def _money_for_carol(web: WebWorld, sandbox: Sandbox) -> str:
    """Alice sends 7,50 € to @carol, whose account id is her sandbox URI; returns the token."""
    # The sandbox's test client signs in as carol with the password "pw-carol".
    uri = str(sandbox.client("carol").account_verify_credentials()["uri"])
    world = web.world
    carol = NetworkAccount(id=uri, handle="carol")
    world.network._accounts[uri] = carol  # the in-memory network resolves @carol to that id
    world.accounts["carol"] = carol
    world.join("alice")
    post = world.post("alice", "@payez envoie 7,50€ à @carol merci")
    world.run()
    payment = world.payment_for(post)
    assert payment["state"] == "held_for_claim"
    return str(payment["claim_token"])


def test_a_newcomer_claims_by_signing_in_on_the_network(web: WebWorld, sandbox: Sandbox) -> None:
    token = _money_for_carol(web, sandbox)
    browser = web.browser(**{"accept-language": "en"})
    page = browser.get(f"/claim/{token}")
    assert page.status_code == 200
    assert "€7.50" in page.text and "@carol" in page.text
    done = authorize_on_sandbox(browser, f"/claim/{token}/start", "carol", "pw-carol")
    assert done.status_code == 200, done.text
    assert "€7.50 has been credited" in done.text
    again = authorize_on_sandbox(browser, f"/claim/{token}/start", "carol", "pw-carol")
    assert again.status_code == 403


def test_the_wrong_account_cannot_claim(web: WebWorld, sandbox: Sandbox) -> None:
    token = _money_for_carol(web, sandbox)
    sandbox.user("mallory", "mallory-secret")
    browser = web.browser()
    refused = authorize_on_sandbox(browser, f"/claim/{token}/start", "mallory", "mallory-secret")
    assert refused.status_code == 403
    assert "autre compte" in refused.text


def test_a_logged_in_claimant_is_credited_on_their_own_account(
    web: WebWorld, sandbox: Sandbox
) -> None:
    token = _money_for_carol(web, sandbox)
    browser = web.browser()
    browser.sign_up("carol@example.org", name="Carol")
    done = authorize_on_sandbox(browser, f"/claim/{token}/start", "carol", "pw-carol")
    assert done.status_code == 200
    me = browser.client.get("/api/v1/me").json()
    assert me["linked_accounts"] == [{"network": "memory", "handle": "carol"}]
    assert browser.client.get("/api/v1/me/balance").json()["balance"]["cents"] == 750
    received = browser.client.get("/api/v1/me/payments").json()["items"]
    assert [(p["direction"], p["counterparty"], p["amount"]["cents"]) for p in received] == [
        ("received", "alice", 750)
    ]
