"""The SMTP mailer, on the standard library's ``smtplib``: one connection per email.

Security follows the URL (``config.SmtpServer``): ``smtps://`` speaks TLS from the first byte,
``smtp://`` insists on STARTTLS (a server that does not offer it is not sent the password nor
the email) unless the host is a loopback address, and ``smtp+insecure://`` never encrypts.
Certificates are checked against the host name.

The server's answer decides what happens next: a 4xx reply, a refused connection, a timeout or
a broken TLS handshake is temporary (:class:`MailerUnavailable`); a 5xx reply to the sender,
the recipient or the message is final (:class:`MailRejected`). A refused or missing login
(535, 530) is temporary: it is our configuration that is wrong, not the email, and the emails
wait for it to be fixed.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from payez.config import SmtpServer
from payez.ports.mailer import MailerUnavailable, MailRejected, OutgoingMail

DEFAULT_TIMEOUT_SECONDS = 10.0


def email_message(mail: OutgoingMail) -> EmailMessage:
    """``mail`` as an RFC 5322 message: UTF-8 text, the subject encoded for any server."""
    message = EmailMessage(policy=SMTP)
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.date)
    message["Message-ID"] = mail.message_id
    # Tells vacation responders not to answer a message nobody reads.
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable: 7-bit clean for any server (no 8BITMIME needed), readable in the raw.
    message.set_content(mail.text, charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = mail.language  # after set_content, which clears Content-*
    return message


class SmtpMailer:
    name = "smtp"

    def __init__(
        self,
        server: SmtpServer,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.tls_context = tls_context or ssl.create_default_context()

    def __repr__(self) -> str:
        return f"SmtpMailer({self.server.masked_url})"

    def send(self, mail: OutgoingMail) -> None:
        where = self.server.masked_url
        try:
            message = email_message(mail)
        except ValueError as exc:  # a line break in a header, say: it can never be written
            raise MailRejected(f"cannot write this email: {exc}") from exc
        client = self._open()
        try:
            # One envelope recipient, named explicitly: an address holding a comma is refused
            # by the server rather than read as a list.
            client.send_message(message, from_addr=parseaddr(mail.sender)[1], to_addrs=[mail.to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            raise _by_code(code, f"{where}: recipient refused: {code} {_text(reply)}") from exc
        except smtplib.SMTPResponseException as exc:
            answer = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            raise _by_code(exc.smtp_code, f"{where}: {answer}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            # The only feature send_message may lack is SMTPUTF8, for a non-ASCII address.
            raise MailRejected(f"{where}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailerUnavailable(f"{where}: {type(exc).__name__}: {exc}") from exc
        finally:
            _close_quietly(client)

    def _open(self) -> smtplib.SMTP:
        """A connection ready to take an email: greeted, encrypted as the URL says, logged in.
        Anything wrong until then is about the server or our settings, never the email: the
        emails wait (:class:`MailerUnavailable`) until it is put right."""
        where = self.server.masked_url
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise MailerUnavailable(f"{where}: cannot connect: {exc}") from exc
        try:
            self._prepare(client)
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(client)
            raise MailerUnavailable(f"{where}: login refused: {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            _close_quietly(client)
            raise MailerUnavailable(f"{where}: {type(exc).__name__}: {exc}") from exc
        except MailerUnavailable:
            _close_quietly(client)
            raise
        return client

    def _connect(self) -> smtplib.SMTP:
        host, port = self.server.host, self.server.port
        if self.server.security == "tls":
            return smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=self.tls_context)
        return smtplib.SMTP(host, port, timeout=self.timeout)

    def _prepare(self, client: smtplib.SMTP) -> None:
        client.ehlo()
        if self.server.security == "starttls" and not self.server.loopback:
            if not client.has_extn("starttls"):
                raise MailerUnavailable(f"{self.server.masked_url}: no STARTTLS offered")
            client.starttls(context=self.tls_context)
            client.ehlo()
        if self.server.username:
            client.login(self.server.username, self.server.password)


AUTHENTICATION_REQUIRED = 530


def _by_code(code: int, detail: str) -> MailerUnavailable | MailRejected:
    # 530: the server wants a login we were not given, a setting to fix, not the email's fault.
    if 500 <= code < 600 and code != AUTHENTICATION_REQUIRED:
        return MailRejected(detail)
    return MailerUnavailable(detail)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _close_quietly(client: smtplib.SMTP) -> None:
    """Say goodbye; once the server has the email, a failure here changes nothing."""
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
