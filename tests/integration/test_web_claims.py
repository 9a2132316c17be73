"""The claim flow through the web app: OAuth on the sandbox proves the account's immutable id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.payments import payments, users
from payez.ports.network import NetworkAccount
from tests.integration.sandbox_server import Sandbox
from tests.integration.web_world import (
    PASSWORD,
    WebWorld,
    authorize_on_sandbox,
    csrf_of,
    oauth_sandbox,
    sign_in_on_sandbox,
    web_world,
)


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


def test_a_newcomer_signs_up_before_the_money_is_credited(web: WebWorld, sandbox: Sandbox) -> None:
    token = _money_for_carol(web, sandbox)
    browser = web.browser(**{"accept-language": "en"})
    page = browser.get(f"/claim/{token}")
    assert page.status_code == 200
    assert "€7.50" in page.text and "@carol" in page.text
    # Logged out, the page leads to sign-up or log-in, and both come back to the claim.
    back_here = f"next=%2Fclaim%2F{token}"
    assert f'href="/signup?{back_here}"' in page.text
    assert f'href="/login?{back_here}"' in page.text
    start = browser.get(f"/claim/{token}/start")
    assert start.status_code == 303
    assert start.headers["location"] == f"/login?{back_here}"
    signup_form = browser.get(f"/signup?{back_here}")
    assert f'name="next" value="/claim/{token}"' in signup_form.text
    signed_up = browser.client.post(
        "/signup",
        data={
            "csrf_token": csrf_of(signup_form.text),
            "display_name": "Carol",
            "email": "carol@example.org",
            "password": PASSWORD,
            "next": f"/claim/{token}",
        },
        follow_redirects=False,
    )
    assert signed_up.status_code == 303
    assert signed_up.headers["location"] == f"/claim/{token}"
    done = authorize_on_sandbox(browser, f"/claim/{token}/start", "carol", "pw-carol")
    assert done.status_code == 200, done.text
    assert "€7.50 has been credited to your Payez account" in done.text
    assert browser.client.get("/api/v1/me/balance").json()["balance"]["cents"] == 750
    me = browser.client.get("/api/v1/me").json()
    assert me["linked_accounts"] == [{"network": "memory", "handle": "carol"}]
    again = authorize_on_sandbox(browser, f"/claim/{token}/start", "carol", "pw-carol")
    assert again.status_code == 403
    with web.world.ctx.engine.connect() as conn:
        users_count = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
    # alice and carol: the claim opened no second, login-less account.
    assert users_count == 2


def test_a_claim_never_opens_an_account_without_a_login(web: WebWorld, sandbox: Sandbox) -> None:
    token = _money_for_carol(web, sandbox)
    browser = web.browser()
    # A return from the network reached with no session (expired, or another browser): the
    # visitor is sent to log in, and nothing is credited to anyone.
    logged_in = web.browser()
    logged_in.sign_up("someone@example.org", name="Someone")
    handed = sign_in_on_sandbox(logged_in, f"/claim/{token}/start", "carol", "pw-carol")
    anonymous = browser.get(handed)
    assert anonymous.status_code == 403
    with web.world.ctx.engine.connect() as conn:
        state = conn.execute(
            sa.select(payments.c.state).where(payments.c.claim_token == token)
        ).scalar_one()
        users_count = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
    assert state == "held_for_claim"
    assert users_count == 2  # alice and the signed-up someone


def test_the_wrong_account_cannot_claim(web: WebWorld, sandbox: Sandbox) -> None:
    token = _money_for_carol(web, sandbox)
    sandbox.user("mallory", "mallory-secret")
    browser = web.browser()
    browser.sign_up("mallory@example.org", name="Mallory")
    refused = authorize_on_sandbox(browser, f"/claim/{token}/start", "mallory", "mallory-secret")
    assert refused.status_code == 403
    assert "autre compte" in refused.text
    assert browser.client.get("/api/v1/me/balance").json()["balance"]["cents"] == 0


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
