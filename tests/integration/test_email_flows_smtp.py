"""Every account email, end to end through a real SMTP server (in-process), in French and in
English: queued by the web flow, delivered by the worker's sender, read from the server, and
its link followed back into Payez."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from payez.adapters.mail.smtp import SmtpMailer
from payez.config import parse_smtp_url
from payez.service.open_account import link_network_account
from payez.service.send_emails import send_emails
from tests.integration.web_world import PASSWORD, Browser, WebWorld, web_world
from tests.smtp_server import SmtpTestServer, smtp_server

NEW_PASSWORD = "another long passphrase"
_LINK = re.compile(r"https?://[^/\s]+(/\S+)")

# What each language's emails say: (subject fragment, body fragment), by email kind.
EXPECTED = {
    "fr": {
        "verify_email": "adresse",
        "password_reset": "mot de passe",
        "password_changed": "mot de passe",
    },
    "en": {
        "verify_email": "address",
        "password_reset": "password",
        "password_changed": "password",
    },
}


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def web(sqlite_url: str, server: SmtpTestServer) -> Iterator[WebWorld]:
    with web_world(sqlite_url) as world:
        world.world.ctx.mailer = SmtpMailer(parse_smtp_url(server.url))
        yield world


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert isinstance(content, str)
    return content


def deliver(web: WebWorld, server: SmtpTestServer, expected_total: int) -> EmailMessage:
    """Run the sender; the newest message the SMTP server received."""
    send_emails(web.world.ctx)
    received = server.wait_for(expected_total)
    assert len(received) == expected_total
    return received[-1]


def link_in(message: EmailMessage) -> str:
    found = _LINK.search(text_of(message))
    assert found, text_of(message)
    return found.group(1)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_sign_up_verify_reset_and_notice_reach_the_mail_server(
    web: WebWorld, server: SmtpTestServer, language: str
) -> None:
    browser: Browser = web.browser(**{"accept-language": language})
    address = f"{language}-user@example.org"
    assert browser.sign_up(address, "Ana", verify=False).status_code == 303

    welcome = deliver(web, server, 1)
    assert welcome["To"] == address
    assert welcome["Content-Language"] == language
    assert EXPECTED[language]["verify_email"] in welcome["Subject"].lower()
    assert browser.get(link_in(welcome)).status_code == 200
    settings = browser.client.get("/settings")
    assert "verify-email/resend" not in settings.text  # the banner is gone: verified

    browser.submit("/logout", {}, form_page="/settings")
    forgot = browser.submit("/password/forgot", {"email": address})
    assert forgot.status_code == 200
    reset = deliver(web, server, 2)
    assert EXPECTED[language]["password_reset"] in reset["Subject"].lower()
    reset_path = link_in(reset)
    assert "/password/reset?token=" in reset_path
    done = browser.submit(
        "/password/reset",
        {"token": reset_path.split("token=", 1)[1], "password": NEW_PASSWORD},
        form_page=reset_path,
    )
    assert done.status_code == 303

    notice = deliver(web, server, 3)
    assert EXPECTED[language]["password_changed"] in notice["Subject"].lower()
    assert notice["To"] == address
    assert browser.log_in(address, PASSWORD).status_code == 401
    assert browser.log_in(address, NEW_PASSWORD).status_code == 303

    # Delivered once each: a second run of the sender sends nothing more.
    assert send_emails(web.world.ctx) == 0
    assert len(server.messages) == 3
    # No amount, no digit at all, in any subject line.
    assert not any(re.search(r"\d", str(m["Subject"])) for m in server.messages)


@pytest.mark.parametrize(
    ("language", "subject", "said"),
    [
        ("fr", "Vous avez reçu de l'argent sur Payez", "@alice vous a envoyé 6,00"),
        ("en", "You received money on Payez", "@alice sent you €6.00"),
    ],
)
def test_money_received_reaches_the_mail_server_in_the_users_language(
    web: WebWorld, server: SmtpTestServer, language: str, subject: str, said: str
) -> None:
    world = web.world
    world.join("alice")
    browser = web.browser(**{"accept-language": language})
    address = f"bob-{language}@example.org"
    assert browser.sign_up(address, "Bob", verify=False).status_code == 303
    assert browser.get(link_in(deliver(web, server, 1))).status_code == 200
    bob, bob_id = world.stranger("bob"), browser.user_id()
    with world.ctx.engine.begin() as conn:
        link_network_account(conn, world.ctx, bob_id, "memory", bob)

    world.post("alice", "@payez envoie 6€ à @bob")
    world.run()
    received = server.wait_for(2)[-1]
    assert (received["To"], received["Subject"]) == (address, subject)
    assert said in text_of(received)
