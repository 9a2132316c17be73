"""A user's time zone: every deadline they read moves with it, and says which zone it is in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pyotp
import pytest
import sqlalchemy as sa

from payez.adapters.db import web_accounts
from payez.adapters.db.tables.payments import users
from payez.domain.money import Money
from payez.entrypoints.web.i18n import format_deadline
from payez.service.link_social_account import link_social_account
from payez.service.load_wallet import load_wallet
from payez.service.second_factor import enrol_totp_secret
from tests.integration.web_world import Browser, WebWorld, web_world

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class Deadlines:
    web: WebWorld
    alice: Browser
    claim_token: str
    claim_expires_at: datetime
    confirm_token: str
    confirm_expires_at: datetime


@pytest.fixture
def deadlines(database_url: str) -> Iterator[Deadlines]:
    with web_world(database_url, confirm="never") as web:
        world = web.world
        alice = web.browser()
        assert alice.sign_up("alice@example.org", name="Alice").status_code == 303
        user_id = alice.user_id()
        account = world.network.add_account("alice")
        link_social_account(world.ctx, user_id, "memory", account)
        with world.ctx.engine.begin() as conn:
            load_wallet(conn, user_id, Money.eur(10_000), "load:alice")
            web_accounts.update_user(conn, user_id, identity_verified=True)
            # The confirmation page asks for a second factor first.
            enrol_totp_secret(
                conn, world.ctx.settings, user_id, pyotp.random_base32(), world.ctx.now()
            )
        world.users["alice"] = user_id
        world.accounts["alice"] = account
        world.stranger("carol")
        world.join("bob")
        to_carol = world.post("alice", "@payez envoie 5€ à @carol")
        world.run()
        world.ctx.settings = world.ctx.settings.with_overrides(confirm="always")
        rent = world.post("alice", "@payez envoie 40€ à @bob loyer")
        world.run()
        claim, confirm = world.payment_for(to_carol), world.payment_for(rent)
        assert (claim["state"], confirm["state"]) == ("held_for_claim", "awaiting_confirmation")
        yield Deadlines(
            web,
            alice,
            claim["claim_token"],
            claim["claim_expires_at"],
            confirm["confirm_token"],
            confirm["confirm_expires_at"],
        )


def _zone_of(web: WebWorld, email: str) -> tuple[str, str]:
    with web.world.ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.time_zone, users.c.language).where(users.c.email == email)
        ).one()
    return str(row.time_zone), str(row.language)


def test_deadlines_follow_the_users_time_zone(deadlines: Deadlines) -> None:
    alice, web = deadlines.alice, deadlines.web
    claim_paris = format_deadline(deadlines.claim_expires_at, "fr", PARIS)
    confirm_paris = format_deadline(deadlines.confirm_expires_at, "fr", PARIS)
    claim_new_york = format_deadline(deadlines.claim_expires_at, "fr", NEW_YORK)
    confirm_new_york = format_deadline(deadlines.confirm_expires_at, "fr", NEW_YORK)
    assert claim_paris.endswith("(Paris)") and claim_new_york.endswith("(New York)")

    # By default: Paris time, and the page says so.
    dashboard = alice.get("/dashboard").text
    assert claim_paris in dashboard and confirm_paris in dashboard
    assert confirm_paris in alice.get(f"/confirm/{deadlines.confirm_token}").text
    assert 'id="time-zone-note"' in dashboard and "Paris" in dashboard
    assert 'value="Europe/Paris" selected' in alice.get("/settings").text

    saved = alice.submit("/settings", {"language": "fr", "time_zone": "America/New_York"})
    assert saved.status_code == 303
    assert _zone_of(web, "alice@example.org") == ("America/New_York", "fr")
    assert alice.client.get("/api/v1/me").json()["time_zone"] == "America/New_York"
    assert 'value="America/New_York" selected' in alice.get("/settings").text

    dashboard = alice.get("/dashboard").text
    assert claim_new_york in dashboard and confirm_new_york in dashboard
    assert claim_paris not in dashboard and confirm_paris not in dashboard
    assert confirm_new_york in alice.get(f"/confirm/{deadlines.confirm_token}").text
    assert claim_new_york in alice.get(f"/claim/{deadlines.claim_token}").text

    # A visitor with no account reads the default zone, and is told which.
    visitor = web.browser()
    claim_page = visitor.get(f"/claim/{deadlines.claim_token}").text
    assert claim_paris in claim_page and claim_new_york not in claim_page


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "Europe/Paris; DROP TABLE users", "x" * 300])
def test_an_unknown_time_zone_is_refused_and_changes_nothing(
    deadlines: Deadlines, bad: str
) -> None:
    alice, web = deadlines.alice, deadlines.web
    refused = alice.submit("/settings", {"language": "en", "time_zone": bad})
    assert refused.status_code == 400
    assert "Fuseau horaire inconnu" in refused.text
    assert 'role="alert"' in refused.text
    # Neither the zone nor the language sent with it was saved.
    assert _zone_of(web, "alice@example.org") == ("Europe/Paris", "fr")
    english = alice.submit("/settings?lang=en", {"language": "fr", "time_zone": bad})
    assert "Unknown time zone" in english.text
