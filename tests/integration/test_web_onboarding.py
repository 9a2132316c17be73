"""Onboarding: the identity check, saving a sandbox card, linking a sandbox account by OAuth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.payments import social_links, users
from payez.adapters.db.tables.web import identity_checks, user_cards
from payez.config import sqlite_path
from tests.integration.sandbox_server import Sandbox
from tests.integration.web_world import (
    Browser,
    WebWorld,
    authorize_on_sandbox,
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


def _signed_up(web: WebWorld, email: str = "alice@example.org") -> Browser:
    browser = web.browser()
    assert browser.sign_up(email).status_code == 303
    return browser


def _identity(browser: Browser, name: str, birth_date: str) -> object:
    return browser.submit(
        "/onboarding/identity",
        {"full_name": name, "birth_date": birth_date},
        form_page="/onboarding",
    )


def _verified(web: WebWorld) -> bool:
    with web.world.ctx.engine.connect() as conn:
        return bool(conn.execute(sa.select(users.c.identity_verified)).scalar_one())


def _checks(web: WebWorld) -> list[tuple[str, str | None]]:
    with web.world.ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(identity_checks.c.outcome, identity_checks.c.reason).order_by(
                identity_checks.c.id
            )
        )
        return [(r.outcome, r.reason) for r in rows]


def test_onboarding_page_shows_three_steps_and_coming_soon_networks(web: WebWorld) -> None:
    page = _signed_up(web).get("/onboarding?lang=en")
    assert page.status_code == 200
    assert 'value="0"' in page.text and "0 / 3" in page.text
    for step in ("Identity", "Card", "Social accounts"):
        assert step in page.text
    assert 'href="/onboarding/link/sandbox"' in page.text
    # X and Bluesky cannot be linked yet: said plainly, with no link to follow.
    assert page.text.count("Coming soon") == 3  # Mastodon (no client here), X, Bluesky
    assert "/onboarding/link/x" not in page.text and "/onboarding/link/bluesky" not in page.text


def test_identity_check_passes_for_an_adult(web: WebWorld) -> None:
    browser = _signed_up(web)
    # The manual clock says 2026-01-01: born 2008-01-01 is exactly 18.
    answer = _identity(browser, "Alice Martin", "2008-01-01")
    assert answer.status_code == 303
    assert _verified(web)
    assert _checks(web) == [("passed", None)]
    assert "1 / 3" in browser.get("/onboarding").text


@pytest.mark.parametrize(
    ("name", "birth_date", "status", "reason", "text"),
    [
        ("Young Person", "2008-01-02", 422, "under_age", "18 ans"),
        ("Rejected Test", "1980-05-05", 422, "identity_mismatch", "ne correspondent pas"),
        ("Blurry  test", "1980-05-05", 422, "document_unreadable", "illisible"),
    ],
)
def test_identity_check_failures_are_recorded_and_explained(
    web: WebWorld, name: str, birth_date: str, status: int, reason: str, text: str
) -> None:
    browser = _signed_up(web)
    answer = _identity(browser, name, birth_date)
    assert answer.status_code == status
    assert text in answer.text
    assert not _verified(web)
    assert _checks(web) == [("failed", reason)]


@pytest.mark.parametrize(
    ("name", "birth_date"),
    [("Alice Martin", "not a date"), ("Al", "1980-01-01"), ("Alice", "2030-01-01")],
)
def test_identity_bad_input_changes_nothing(web: WebWorld, name: str, birth_date: str) -> None:
    browser = _signed_up(web)
    assert _identity(browser, name, birth_date).status_code == 400
    assert not _verified(web)
    assert _checks(web) == []


def test_sandbox_card_is_saved_and_its_number_never_stored(
    web: WebWorld, database_url: str
) -> None:
    browser = _signed_up(web)
    declined = browser.submit(
        "/onboarding/card", {"card_token": "4000 0000 0000 0002"}, form_page="/onboarding"
    )
    assert declined.status_code == 402
    assert "refusé" in declined.text
    not_a_test_card = browser.submit(
        "/onboarding/card", {"card_token": "1234 5678 1234 5678"}, form_page="/onboarding"
    )
    assert not_a_test_card.status_code == 400
    saved = browser.submit(
        "/onboarding/card", {"card_token": "4242 4242 4242 4242"}, form_page="/onboarding"
    )
    assert saved.status_code == 303
    with web.world.ctx.engine.connect() as conn:
        cards = conn.execute(sa.select(user_cards.c.brand, user_cards.c.last4)).all()
        customer = conn.execute(sa.select(users.c.card_customer_id)).scalar_one()
    assert [tuple(c) for c in cards] == [("visa", "4242")]
    assert customer
    assert browser.client.get("/api/v1/me").json()["card"] == {"brand": "visa", "last4": "4242"}
    assert "VISA •••• 4242" in browser.get("/onboarding").text
    path = sqlite_path(database_url)
    if path is not None:
        web.world.ctx.engine.dispose()
        stored = b"".join(
            p.read_bytes() for p in Path(path).parent.glob(Path(path).name + "*") if p.is_file()
        )
        assert b"4242424242424242" not in stored
        assert b"4242 4242 4242 4242" not in stored


def test_linking_a_sandbox_account_by_oauth(web: WebWorld, sandbox: Sandbox) -> None:
    sandbox.user("alice", "alice-secret")
    browser = _signed_up(web)
    back = authorize_on_sandbox(browser, "/onboarding/link/sandbox", "alice", "alice-secret")
    assert back.status_code == 303
    assert back.headers["location"] == "/onboarding?done=link"
    with web.world.ctx.engine.connect() as conn:
        links = conn.execute(
            sa.select(social_links.c.network, social_links.c.account_id, social_links.c.handle)
        ).all()
    assert len(links) == 1
    network, account_id, handle = links[0]
    assert (network, handle) == ("sandbox", "alice")
    # The immutable id is the account's URI, not its handle.
    assert account_id == sandbox.account_uri("alice")
    me = browser.client.get("/api/v1/me").json()
    assert me["linked_accounts"] == [{"network": "sandbox", "handle": "alice"}]


def test_linking_refuses_an_account_linked_to_someone_else(web: WebWorld, sandbox: Sandbox) -> None:
    sandbox.user("alice", "alice-secret")
    first = _signed_up(web, "alice@example.org")
    authorize_on_sandbox(first, "/onboarding/link/sandbox", "alice", "alice-secret")
    second = _signed_up(web, "mallory@example.org")
    refused = authorize_on_sandbox(second, "/onboarding/link/sandbox", "alice", "alice-secret")
    assert refused.status_code == 409
    assert "déjà relié" in refused.text
    with web.world.ctx.engine.connect() as conn:
        owners = conn.execute(sa.select(social_links.c.user_id)).scalars().all()
    assert owners == [first.user_id()]
    assert second.client.get("/api/v1/me").json()["linked_accounts"] == []


def test_a_link_started_in_another_session_is_refused(web: WebWorld, sandbox: Sandbox) -> None:
    sandbox.user("bob", "bob-secret")
    victim = _signed_up(web, "victim@example.org")
    attacker = _signed_up(web, "attacker@example.org")
    # The attacker starts a link, signs in on the network, and hands the return link over.
    handed_over = sign_in_on_sandbox(attacker, "/onboarding/link/sandbox", "bob", "bob-secret")
    hijack = victim.get(handed_over)
    assert hijack.status_code == 403
    assert victim.client.get("/api/v1/me").json()["linked_accounts"] == []
    with web.world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(social_links)).scalar() == 0


def test_a_forged_or_missing_state_is_refused(web: WebWorld) -> None:
    browser = _signed_up(web)
    for query in ("code=abc&state=forged", "code=abc", ""):
        answer = browser.get(f"/oauth/sandbox/callback?{query}")
        assert answer.status_code == 400
    assert browser.get("/onboarding/link/x").status_code == 404


def test_completing_every_step_shows_the_way_to_the_dashboard(
    web: WebWorld, sandbox: Sandbox
) -> None:
    sandbox.user("alice", "alice-secret")
    browser = _signed_up(web)
    _identity(browser, "Alice Martin", "1990-03-04")
    browser.submit("/onboarding/card", {"card_token": "4242424242424242"}, form_page="/onboarding")
    authorize_on_sandbox(browser, "/onboarding/link/sandbox", "alice", "alice-secret")
    page = browser.get("/onboarding?done=link")
    assert "3 / 3" in page.text
    assert 'href="/dashboard"' in page.text
    assert browser.client.get("/api/v1/me").json()["onboarded"] is True
