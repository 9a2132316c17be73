"""Password reset by email, and changing the password in the settings."""

from __future__ import annotations

import re

import sqlalchemy as sa

from payez.adapters.db import emails
from payez.adapters.db.tables.account_links import password_resets
from payez.adapters.db.tables.web import web_sessions
from tests.integration.web_world import PASSWORD, Browser, WebWorld, emailed_link, web_world

NEW_PASSWORD = "a brand new passphrase"
_CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]+"')


def kinds_sent(web: WebWorld, address: str) -> list[str]:
    with web.world.ctx.engine.connect() as conn:
        return [e.kind for e in emails.sent_to(conn, address)]


def forgot(browser: Browser, email: str) -> object:
    return browser.submit("/password/forgot", {"email": email})


def reset_link(web: WebWorld, email: str) -> str:
    return emailed_link(web.world.ctx.engine, email, "password_reset")


def set_password(browser: Browser, link: str, password: str) -> object:
    token = link.split("token=", 1)[1]
    return browser.submit(
        "/password/reset", {"token": token, "password": password}, form_page="/password/forgot"
    )


def logs_in(web: WebWorld, email: str, password: str) -> bool:
    return web.browser().log_in(email, password).status_code == 303


def sessions_of(web: WebWorld, user_id: int) -> int:
    with web.world.ctx.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(web_sessions.c.user_id == user_id)
        return int(conn.execute(query).scalar_one())


def test_an_unknown_address_gets_the_same_page_and_no_email(database_url: str) -> None:
    with web_world(database_url) as web:
        web.browser().sign_up("alice@example.org")
        visitor = web.browser(**{"accept-language": "en"})
        known = visitor.submit("/password/forgot", {"email": "alice@example.org"})
        unknown = visitor.submit("/password/forgot", {"email": "nobody@example.org"})
        assert known.status_code == unknown.status_code == 200
        assert _CSRF_VALUE.sub("", known.text) == _CSRF_VALUE.sub("", unknown.text)
        assert "If a Payez account has this address" in known.text
        assert kinds_sent(web, "nobody@example.org") == []
        assert kinds_sent(web, "alice@example.org") == ["password_reset", "verify_email"]
        with web.world.ctx.engine.connect() as conn:
            letter = emails.sent_to(conn, "alice@example.org")[0]
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(password_resets)).scalar() == 1
            )
        assert letter.language == "fr"
        assert letter.subject == "Réinitialiser votre mot de passe Payez"
        # Only the hash of the token is kept.
        token = letter.text.split("token=", 1)[1].split()[0]
        with web.world.ctx.engine.connect() as conn:
            stored = conn.execute(sa.select(password_resets.c.token_hash)).scalar_one()
        assert token not in stored and len(stored) == 64
        assert visitor.submit("/password/forgot", {"email": "not an address"}).status_code == 400


def test_the_link_sets_the_password_once_ends_every_session_and_tells_the_owner(
    database_url: str,
) -> None:
    with web_world(database_url) as web:
        alice = web.browser(**{"accept-language": "en"})
        alice.sign_up("alice@example.org")
        user_id = alice.user_id()
        phone = web.browser()
        assert phone.log_in("alice@example.org").status_code == 303
        assert sessions_of(web, user_id) == 2

        forgot(web.browser(), "alice@example.org")
        link = reset_link(web, "alice@example.org")
        visitor = web.browser(**{"accept-language": "en"})
        form = visitor.get(link)
        assert form.status_code == 200
        assert 'name="password"' in form.text
        weak = set_password(visitor, link, "short")
        assert weak.status_code == 400  # the sign-up's rule; the link still works
        done = set_password(visitor, link, NEW_PASSWORD)
        assert done.status_code == 303
        assert done.headers["location"] == "/login?reset=1"
        assert "Log in with the new password" in visitor.get("/login?reset=1").text

        assert sessions_of(web, user_id) == 0
        assert alice.client.get("/api/v1/me").status_code == 401
        assert phone.client.get("/api/v1/me").status_code == 401
        assert not logs_in(web, "alice@example.org", PASSWORD)
        assert logs_in(web, "alice@example.org", NEW_PASSWORD)
        with web.world.ctx.engine.connect() as conn:
            notice = emails.sent_to(conn, "alice@example.org")[0]
        assert notice.kind == "password_changed"
        assert notice.language == "en"
        assert "If it was not you, contact Payez support" in notice.text

        again = set_password(web.browser(), link, "yet another passphrase")
        assert again.status_code == 400
        assert web.browser().get(link).status_code == 400
        assert not logs_in(web, "alice@example.org", "yet another passphrase")
        assert logs_in(web, "alice@example.org", NEW_PASSWORD)


def test_an_expired_link_or_another_accounts_link_changes_nothing(database_url: str) -> None:
    with web_world(database_url) as web:
        web.browser().sign_up("alice@example.org")
        bob = web.browser()
        bob.sign_up("bob@example.org", name="Bob")

        forgot(web.browser(), "alice@example.org")
        link = reset_link(web, "alice@example.org")
        # Bob, logged in, opens Alice's link: refused, nothing changes for either.
        assert set_password(bob, link, NEW_PASSWORD).status_code == 400
        assert logs_in(web, "alice@example.org", PASSWORD)
        assert logs_in(web, "bob@example.org", PASSWORD)
        assert (
            set_password(web.browser(), "/password/reset?token=made-up", NEW_PASSWORD).status_code
            == 400
        )

        web.world.later(minutes=31)
        assert web.browser().get(link).status_code == 400
        assert set_password(web.browser(), link, NEW_PASSWORD).status_code == 400
        assert logs_in(web, "alice@example.org", PASSWORD)
        assert kinds_sent(web, "alice@example.org") == ["password_reset", "verify_email"]


def test_a_new_password_spends_the_accounts_other_links(database_url: str) -> None:
    with web_world(database_url) as web:
        web.browser().sign_up("alice@example.org")
        forgot(web.browser(), "alice@example.org")
        first = reset_link(web, "alice@example.org")
        web.world.later(seconds=5)
        forgot(web.browser(), "alice@example.org")
        second = reset_link(web, "alice@example.org")
        assert first != second
        assert set_password(web.browser(), second, NEW_PASSWORD).status_code == 303
        assert set_password(web.browser(), first, "yet another passphrase").status_code == 400
        assert logs_in(web, "alice@example.org", NEW_PASSWORD)


def test_requests_are_rate_limited_per_address_and_per_client(database_url: str) -> None:
    with web_world(database_url, email_link_max_per_address=2, email_link_max_per_ip=4) as web:
        web.browser().sign_up("alice@example.org")
        visitor = web.browser(**{"accept-language": "en"})
        for address in ("alice@example.org", "nobody@example.org"):
            assert forgot(visitor, address).status_code == 200
            assert forgot(visitor, address).status_code == 200
        # The limit answers the same for a known and an unknown address.
        for address in ("alice@example.org", "nobody@example.org", "carol@example.org"):
            limited = forgot(visitor, address)
            assert limited.status_code == 429
            assert "Too many link requests" in limited.text
        assert kinds_sent(web, "alice@example.org").count("password_reset") == 2
        web.world.later(minutes=61)
        assert forgot(visitor, "alice@example.org").status_code == 200
        assert kinds_sent(web, "alice@example.org").count("password_reset") == 3


def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(
    database_url: str,
) -> None:
    with web_world(database_url) as web:
        alice = web.browser(**{"accept-language": "en"})
        alice.sign_up("alice@example.org")
        user_id = alice.user_id()
        phone = web.browser()
        assert phone.log_in("alice@example.org").status_code == 303
        settings = alice.get("/settings").text
        assert 'action="/settings/password"' in settings

        wrong = alice.submit(
            "/settings/password",
            {"current_password": "not my password", "new_password": NEW_PASSWORD},
            form_page="/settings",
        )
        assert wrong.status_code == 400
        assert "The current password is wrong" in wrong.text
        weak = alice.submit(
            "/settings/password",
            {"current_password": PASSWORD, "new_password": "short"},
            form_page="/settings",
        )
        assert weak.status_code == 400
        assert sessions_of(web, user_id) == 2
        assert logs_in(web, "alice@example.org", PASSWORD)
        assert "password_changed" not in kinds_sent(web, "alice@example.org")

        changed = alice.submit(
            "/settings/password",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            form_page="/settings",
        )
        assert changed.status_code == 303
        assert "Your password was changed" in alice.get("/settings?password=changed").text
        assert alice.client.get("/api/v1/me").status_code == 200
        assert phone.client.get("/api/v1/me").status_code == 401
        assert sessions_of(web, user_id) == 1  # this browser only: the other logins ended
        assert kinds_sent(web, "alice@example.org")[0] == "password_changed"
        assert logs_in(web, "alice@example.org", NEW_PASSWORD)
        assert not logs_in(web, "alice@example.org", PASSWORD)
