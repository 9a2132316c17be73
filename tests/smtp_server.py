"""An SMTP server in the test process (aiosmtpd) that records what it is sent.

    with smtp_server() as server:
        mailer = SmtpMailer(parse_smtp_url(server.url))
        ...
        server.messages  # parsed EmailMessages, in the order they arrived

It listens on 127.0.0.1 on a port of its own, and can be told to answer ``451`` (try again
later) to the next N messages, or ``550`` (no such user) for a recipient, and to check a login
(``smtp_server(credentials=(user, password))``). It is stopped when the ``with`` block ends.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class RecordingHandler:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.unavailable_for = 0
        self.refused: set[str] = set()
        self.answers: list[str] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd names its hooks so
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd names its hooks so
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            if self.unavailable_for > 0:
                self.unavailable_for -= 1
                self.answers.append("451")
                return "451 4.3.0 Mailbox busy, try again later"
            content = envelope.original_content or b""
            parsed = message_from_bytes(content, policy=default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self.answers.append("250")
            self.lock.notify_all()
        return "250 Message accepted"


class _Credentials:
    """Accepts one user name and password (AUTH PLAIN or LOGIN, over plain text: a test)."""

    def __init__(self, username: str, password: str) -> None:
        self.expected = (username.encode(), password.encode())

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        given = (data.login, data.password) if isinstance(data, LoginPassword) else None
        # handled=False: the server answers 535 itself (True would leave the client waiting).
        return AuthResult(success=given == self.expected, handled=False)


class _BoundController(Controller):
    """A controller on a socket bound before it starts: the port is known and never raced."""

    def __init__(
        self, handler: Any, credentials: tuple[str, str] | None, tls: ssl.SSLContext | None
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        login: dict[str, Any] = {}
        if credentials is not None:
            login = {
                "authenticator": _Credentials(*credentials),
                "auth_require_tls": False,
            }
        super().__init__(
            handler,
            hostname="127.0.0.1",
            port=self._socket.getsockname()[1],
            ssl_context=tls,
            **login,
        )

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(
            self._factory_invoker, sock=self._socket, ssl=self.ssl_context
        )


class SmtpTestServer:
    def __init__(
        self, credentials: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        self.handler = RecordingHandler()
        self.credentials = credentials
        self.tls = tls
        self.controller = _BoundController(self.handler, credentials, tls)

    @property
    def url(self) -> str:
        """This server's URL: ``smtp+insecure://[user:password@]127.0.0.1:<port>``, or
        ``smtps://...`` when it speaks TLS."""
        login = "{}:{}@".format(*self.credentials) if self.credentials else ""
        scheme = "smtps" if self.tls else "smtp+insecure"
        return f"{scheme}://{login}127.0.0.1:{self.controller.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def answers(self) -> list[str]:
        """The reply code given to each message's data, in order (``250`` or ``451``)."""
        with self.handler.lock:
            return list(self.handler.answers)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages, once at least ``count`` have arrived (or ``timeout`` has passed)."""
        with self.handler.lock:
            self.handler.lock.wait_for(lambda: len(self.handler.messages) >= count, timeout)
            return list(self.handler.messages)

    def unavailable_for(self, count: int) -> None:
        """Answer ``451`` to the next ``count`` messages."""
        with self.handler.lock:
            self.handler.unavailable_for = count

    def refuse(self, address: str) -> None:
        """Answer ``550`` when ``address`` is a recipient."""
        with self.handler.lock:
            self.handler.refused.add(address.lower())


@contextmanager
def smtp_server(
    credentials: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[SmtpTestServer]:
    """The server, stopped at the end of the block; with ``credentials`` (user name, password)
    it offers AUTH and refuses any other login; with ``tls`` (a server context, see
    :func:`self_signed`) it speaks TLS from the first byte."""
    server = SmtpTestServer(credentials, tls)
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


def self_signed(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for 127.0.0.1, made now: (the server's context, a client context that
    trusts it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client
