"""Email verification: the link queued at sign-up, what it proves, and what waits for it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from payez.adapters.db import emails, web_accounts
from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import social_links, users
from payez.config import load_settings
from payez.domain.money import Money
from payez.sandbox.demo import seed_demo
from payez.service.email_verification import EmailUnverified
from payez.service.link_social_account import link_social_account
from payez.service.load_wallet import load_wallet
from payez.service.my_payouts import request_my_payout
from payez.service.request_payout import request_payout
from tests.integration.web_world import (
    Browser,
    WebWorld,
    emailed_link,
    oauth_sandbox,
    web_world,
)

IBAN_FR = "FR14 2004 1010 0505 0001 3M02 606"


def verified_at(web: WebWorld, email: str) -> object:
    with web.world.ctx.engine.connect() as conn:
        return conn.execute(
            sa.select(users.c.email_verified_at).where(users.c.email == email)
        ).scalar_one()


def unverified_member(web: WebWorld, email: str, **headers: str) -> tuple[Browser, int]:
    browser = web.browser(**headers)
    assert browser.sign_up(email, verify=False).status_code == 303
    return browser, browser.user_id()


@pytest.mark.parametrize(
    ("accept", "subject", "words"),
    [
        ("fr", "Vérifiez votre adresse e-mail", "valable 48 heures"),
        ("en", "Verify your email address", "valid for 48 hours"),
    ],
)
def test_sign_up_queues_the_link_in_the_users_language(
    database_url: str, accept: str, subject: str, words: str
) -> None:
    with web_world(database_url) as web:
        unverified_member(web, "alice@example.org", **{"accept-language": accept})
        with web.world.ctx.engine.connect() as conn:
            queued = emails.sent_to(conn, "alice@example.org")
        assert [e.kind for e in queued] == ["verify_email"]
        letter = queued[0]
        assert letter.language == accept
        assert letter.subject == subject
        assert not re.search(r"\d|€", letter.subject)
        assert words in letter.text
        base = web.world.ctx.settings.base_url
        assert f"{base}/verify-email?token=" in letter.text
        # The address is not written in the link: links end up in logs.
        assert "alice" not in letter.text.split("token=", 1)[1].split()[0]


def test_the_link_verifies_the_address_once_and_again_changes_nothing(database_url: str) -> None:
    with web_world(database_url) as web:
        alice, _user_id = unverified_member(web, "alice@example.org")
        assert verified_at(web, "alice@example.org") is None
        assert "/verify-email/resend" in alice.get("/dashboard").text
        link = emailed_link(web.world.ctx.engine, "alice@example.org", "verify_email")
        opened = web.browser().get(link)  # another browser, not logged in: the link is enough
        assert opened.status_code == 200
        assert "Votre adresse e-mail est vérifiée." in opened.text
        first = verified_at(web, "alice@example.org")
        assert first is not None
        web.world.later(hours=1)
        assert alice.get(link).status_code == 200
        assert verified_at(web, "alice@example.org") == first
        assert "/verify-email/resend" not in alice.get("/dashboard").text


def test_a_forged_expired_or_other_address_link_verifies_nothing(database_url: str) -> None:
    with web_world(database_url) as web:
        alice, user_id = unverified_member(web, "alice@example.org", **{"accept-language": "en"})
        link = emailed_link(web.world.ctx.engine, "alice@example.org", "verify_email")
        user_part, expires, signature = link.split("token=", 1)[1].split(".")
        forged = [
            f"/verify-email?token={user_part}.{expires}.{signature[:-2]}xy",
            f"/verify-email?token={user_part}.{int(expires) + 3600}.{signature}",
            f"/verify-email?token={int(user_part) + 1}.{expires}.{signature}",
            "/verify-email?token=nonsense",
            "/verify-email",
        ]
        for path in forged:
            answer = alice.get(path)
            assert answer.status_code == 400, path
            assert "This verification link is not valid" in answer.text
        assert verified_at(web, "alice@example.org") is None

        web.world.later(hours=49)
        expired = alice.get(link)
        assert expired.status_code == 400
        assert "This verification link has expired" in expired.text
        assert verified_at(web, "alice@example.org") is None

        # A fresh link, then the address changes: the link named the old one.
        assert alice.submit("/verify-email/resend", {}, form_page="/settings").status_code == 200
        fresh = emailed_link(web.world.ctx.engine, "alice@example.org", "verify_email")
        with web.world.ctx.engine.begin() as conn:
            web_accounts.update_user(conn, user_id, email="alice.new@example.org")
        assert alice.get(fresh).status_code == 400
        assert verified_at(web, "alice.new@example.org") is None


def test_an_unverified_address_cannot_link_nor_pay_out_and_a_verified_one_can(
    database_url: str,
) -> None:
    with web_world(database_url) as web:
        alice, user_id = unverified_member(web, "alice@example.org", **{"accept-language": "en"})
        account = web.world.stranger("alice")
        with web.world.ctx.engine.begin() as conn:
            web_accounts.update_user(conn, user_id, identity_verified=True)
            load_wallet(conn, user_id, Money.eur(5000), "test:load")

        with pytest.raises(EmailUnverified) as refused:
            link_social_account(web.world.ctx, user_id, "memory", account)
        assert refused.value.message("fr").startswith("Vérifiez d'abord votre adresse e-mail")
        with pytest.raises(EmailUnverified):
            request_my_payout(
                web.world.ctx, user_id, amount_text="12", iban=IBAN_FR, creditor_name="Alice"
            )
        form = {"amount": "12", "iban": IBAN_FR, "name": "Alice Martin"}
        page = alice.submit("/payouts", form)
        assert page.status_code == 403
        assert "Verify your email address first" in page.text
        assert 'action="/verify-email/resend"' in page.text
        with web.world.ctx.engine.connect() as conn:
            linked = conn.execute(
                sa.select(sa.func.count()).where(social_links.c.user_id == user_id)
            ).scalar_one()
            assert linked == 0
        assert "12.00" not in alice.get("/payouts").text

        alice.verify_email("alice@example.org")
        link_social_account(web.world.ctx, user_id, "memory", account)
        assert alice.submit("/payouts", form).status_code == 303
        assert "€12.00" in alice.get("/payouts").text


def test_the_linking_route_sends_an_unverified_user_to_verify(sqlite_url: str) -> None:
    with oauth_sandbox(sqlite_url) as sandbox, web_world(sqlite_url, sandbox=sandbox) as web:
        alice, _ = unverified_member(web, "alice@example.org", **{"accept-language": "en"})
        refused = alice.get("/onboarding/link/sandbox")
        assert refused.status_code == 403
        assert "Verify your email address first" in refused.text
        assert 'action="/verify-email/resend"' in refused.text
        alice.verify_email("alice@example.org")
        started = alice.get("/onboarding/link/sandbox")
        assert started.status_code == 303
        assert "/oauth/authorize" in started.headers["location"]


def test_accounts_without_an_address_are_not_held_back(database_url: str) -> None:
    with web_world(database_url) as web:
        # A member made by a command (the demo's, a login-less account): no address at all.
        web.world.join("bob")
        held = request_payout(
            web.world.ctx,
            handle="bob",
            amount=Money.eur(1000),
            iban=IBAN_FR,
            creditor_name="Bob",
        )
        assert held.amount == Money.eur(1000)


def test_sending_the_link_again_is_rate_limited(database_url: str) -> None:
    with web_world(database_url, email_link_max_per_address=2) as web:
        alice, _ = unverified_member(web, "alice@example.org", **{"accept-language": "en"})
        for _ in range(2):
            web.world.later(seconds=2)
            sent = alice.submit("/verify-email/resend", {}, form_page="/settings")
            assert sent.status_code == 200
            assert "A new verification link is on its way" in sent.text
        web.world.later(seconds=2)
        limited = alice.submit("/verify-email/resend", {}, form_page="/settings")
        assert limited.status_code == 429
        with web.world.ctx.engine.connect() as conn:
            assert len(emails.sent_to(conn, "alice@example.org")) == 3  # sign-up + 2
        web.world.later(minutes=61)
        assert alice.submit("/verify-email/resend", {}, form_page="/settings").status_code == 200


def test_the_demos_web_logins_are_verified_even_when_seeded_before(database_url: str) -> None:
    settings = load_settings({}, database_url=database_url)
    engine = make_engine(database_url)
    try:
        logins = [u.email for u in seed_demo(engine, settings) if u.email]
        assert logins
        with engine.begin() as conn:
            conn.execute(users.update().values(email_verified_at=None))
        seed_demo(engine, settings)
        with engine.connect() as conn:
            for email in logins:
                found = conn.execute(
                    sa.select(users.c.email_verified_at).where(users.c.email == email)
                ).scalar_one()
                assert found is not None, email
    finally:
        engine.dispose()
