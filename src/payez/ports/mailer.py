"""The mailer port: hand one email to whatever delivers it (an SMTP server, the sandbox mailbox).

Two implementations: ``payez.adapters.mail.smtp.SmtpMailer`` and the sandbox mailbox
(``payez.sandbox.mail.SandboxMailbox``), chosen by ``PAYEZ_SMTP_URL``.

Contract: ``send`` returns once the receiving side has taken responsibility for the email, or
raises :class:`MailerUnavailable` (nothing decided: try again later) or :class:`MailRejected`
(refused for good: trying again changes nothing). An email sent twice, after a crash between
the server's answer and our commit, carries the same Message-ID both times, derived from its
idempotency key, so the receiving side can recognise the copy.

Errors::

    MailerError             mailer_error
    ├── MailerUnavailable   mailer_unavailable   (retry later)
    └── MailRejected        mail_rejected        (do not retry)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from payez.domain.errors import PayezError


class MailerError(PayezError):
    code = "mailer_error"
    message_fr = "L'envoi de l'email a échoué."
    message_en = "The email could not be sent."


class MailerUnavailable(MailerError):
    code = "mailer_unavailable"
    message_fr = "Le serveur d'emails est indisponible ; l'email repartira plus tard."
    message_en = "The mail server is unavailable; the email will be sent later."


class MailRejected(MailerError):
    code = "mail_rejected"
    message_fr = "Le serveur d'emails a refusé cet email."
    message_en = "The mail server refused this email."


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    sender: str
    """The From header, display name included: ``Payez <no-reply@payez.example>``."""
    to: str
    subject: str
    text: str
    """Plain text; links are absolute URLs written out."""
    message_id: str
    """``<...@domain>``, from :func:`message_id_for`."""
    date: datetime
    language: str
    """``fr`` or ``en``: the Content-Language header."""


def message_id_for(idempotency_key: str, sender_address: str) -> str:
    """The Message-ID of the email queued under ``idempotency_key``: the same key always
    gives the same id. Hashed, because a key may hold characters a Message-ID may not."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    domain = sender_address.rpartition("@")[2] or "payez.localhost"
    return f"<{digest}@{domain}>"


class Mailer(Protocol):
    @property
    def name(self) -> str:
        """``smtp`` or ``sandbox``: for logs."""
        ...

    def send(self, mail: OutgoingMail) -> None:
        """Deliver ``mail``; raises :class:`MailerUnavailable` or :class:`MailRejected`."""
        ...
