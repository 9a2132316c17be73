"""Mail without a server: links in the sandbox mailbox, Message-IDs, what an SMTP answer means."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payez.adapters.mail.smtp import SmtpMailer, _by_code
from payez.config import parse_smtp_url
from payez.ports.mailer import MailerUnavailable, MailRejected, OutgoingMail, message_id_for
from payez.sandbox.mail.pages import linked


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "Ouvrez https://p.example/a?b=1&c=2.",
            'Ouvrez <a href="https://p.example/a?b=1&amp;c=2">https://p.example/a?b=1&amp;c=2</a>.',
        ),
        ("(voir http://p.example/x)", '(voir <a href="http://p.example/x">http://p.example/x</a>)'),
        ("<b>gras</b> & javascript:alert(1)", "&lt;b&gt;gras&lt;/b&gt; &amp; javascript:alert(1)"),
        (
            'https://p.example/"><script>',
            '<a href="https://p.example/">https://p.example/</a>&#34;&gt;&lt;script&gt;',
        ),
        ("pas de lien", "pas de lien"),
    ],
)
def test_links_are_clickable_and_everything_else_is_escaped(text: str, html: str) -> None:
    assert str(linked(text)) == html


def test_a_message_id_is_the_same_for_the_same_key_and_safe_to_write() -> None:
    first = message_id_for("verify:42 ünïcode<>", "no-reply@payez.example")
    assert first == message_id_for("verify:42 ünïcode<>", "no-reply@payez.example")
    assert first != message_id_for("verify:43", "no-reply@payez.example")
    assert first.startswith("<") and first.endswith("@payez.example>")
    assert first[1:-1].replace("@", "").replace(".", "").isalnum()


def test_an_email_that_cannot_be_written_is_rejected_before_any_connection() -> None:
    mailer = SmtpMailer(parse_smtp_url("smtp+insecure://127.0.0.1:1"))
    now = datetime(2026, 12, 5, tzinfo=UTC)
    broken = OutgoingMail(
        "a@b.c", "x@example.org", "Sujet\r\nBcc: evil@x", "t", "<k@b.c>", now, "fr"
    )
    with pytest.raises(MailRejected):
        mailer.send(broken)


@pytest.mark.parametrize(
    ("code", "final"),
    [(250, False), (421, False), (451, False), (530, False), (550, True), (552, True), (554, True)],
)
def test_only_a_5xx_answer_about_the_email_is_final(code: int, final: bool) -> None:
    error = _by_code(code, "answer")
    assert isinstance(error, MailRejected if final else MailerUnavailable)
