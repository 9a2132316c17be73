"""Delivering the email outbox: through a real SMTP server (in-process), once each, retried
after a temporary refusal, failed after a final one; into the sandbox mailbox and its pages
without a mail server; by the worker, which stops when asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from payez.adapters.db import emails as emails_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.emails import emails
from payez.adapters.mail.smtp import SmtpMailer
from payez.config import load_settings, parse_smtp_url
from payez.entrypoints.composition import mailer_for
from payez.entrypoints.web.app import create_app
from payez.entrypoints.worker import Worker
from payez.ports.clock import ManualClock
from payez.ports.mailer import Mailer, MailerUnavailable, OutgoingMail, message_id_for
from payez.sandbox.mail import SandboxMailbox
from payez.sandbox.mail.tables import mail as mailbox_table
from payez.sandbox.network.app import create_sandbox_app
from payez.service import send_emails as sending
from payez.service.context import ServiceContext
from payez.service.email_outbox import Letter, queue_email
from payez.service.send_emails import send_emails
from tests.smtp_server import SmtpTestServer, self_signed, smtp_server

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
SUBJECT_FR = "Vérifiez votre adresse e-mail — Payez"
LINK = "https://payez.example/verify/abc?lang=fr&next=%2Fdashboard"
LETTER = Letter(
    SUBJECT_FR,
    "Check your email address — Payez",
    f"Bonjour Éloïse,\n\nPour vérifier votre adresse, ouvrez {LINK}.\n\nÀ bientôt !",
    f"Hello Éloïse,\n\nTo check your address, open {LINK}.\n\nSee you soon!",
)


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with smtp_server() as running:
        yield running


def context(database_url: str, mailer: Mailer | None = None, **env: str) -> ServiceContext:
    return ServiceContext(
        engine=make_engine(database_url),
        settings=load_settings(env, database_url=database_url),
        clock=ManualClock(NOW),
        mailer=mailer,
    )


def smtp_context(database_url: str, server: SmtpTestServer) -> ServiceContext:
    ctx = context(database_url, PAYEZ_SMTP_URL=server.url)
    ctx.mailer = mailer_for(ctx.settings, ctx.engine)
    assert isinstance(ctx.mailer, SmtpMailer)
    return ctx


def queue(ctx: ServiceContext, key: str, to: str = "eloise@example.org", **kw: Any) -> None:
    with ctx.engine.begin() as conn:
        queue_email(
            conn,
            kind=kw.get("kind", "verify_email"),
            to=to,
            language=kw.get("language", "fr"),
            letter=kw.get("letter", LETTER),
            idempotency_key=key,
            now=ctx.now(),
        )


def row(ctx: ServiceContext, key: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        found = conn.execute(sa.select(emails).where(emails.c.idempotency_key == key)).one()
    return dict(found._mapping)


def later(ctx: ServiceContext, **delta: float) -> None:
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.advance(timedelta(**delta))


def crlf(text: str) -> str:
    return text.replace("\r\n", "\n")


def test_a_queued_email_goes_out_once_through_smtp(
    database_url: str, server: SmtpTestServer
) -> None:
    ctx = smtp_context(database_url, server)
    queue(ctx, "verify:1")
    assert send_emails(ctx) == 1
    assert send_emails(ctx) == 0
    later(ctx, hours=1)
    assert send_emails(ctx) == 0

    (message,) = server.messages
    assert message["Subject"] == SUBJECT_FR
    assert message["To"] == "eloise@example.org"
    assert message["From"] == "Payez <no-reply@payez.localhost>"
    assert message["Message-ID"] == message_id_for("verify:1", "no-reply@payez.localhost")
    assert message["Content-Language"] == "fr"
    assert crlf(message.get_content()).rstrip("\n") == LETTER.text_fr
    assert server.handler.envelopes == [("no-reply@payez.localhost", ["eloise@example.org"])]
    sent = row(ctx, "verify:1")
    assert (sent["state"], sent["attempts"], sent["sent_at"]) == ("sent", 1, NOW)
    ctx.engine.dispose()


def test_a_temporary_refusal_is_retried_after_a_back_off_and_delivered_once(
    database_url: str, server: SmtpTestServer
) -> None:
    ctx = smtp_context(database_url, server)
    queue(ctx, "verify:2")
    server.unavailable_for(1)
    assert send_emails(ctx) == 0
    waiting = row(ctx, "verify:2")
    assert (waiting["state"], waiting["attempts"]) == ("pending", 1)
    assert "451" in waiting["last_error"]
    assert NOW < waiting["next_attempt_at"] <= NOW + timedelta(seconds=2.1)  # full jitter under 2 s
    assert send_emails(ctx) == 0  # not due yet: the server is not asked again
    assert server.answers == ["451"]

    later(ctx, seconds=3)
    assert send_emails(ctx) == 1
    assert server.answers == ["451", "250"]
    assert len(server.messages) == 1
    sent = row(ctx, "verify:2")
    assert (sent["state"], sent["attempts"], sent["last_error"]) == ("sent", 2, None)
    ctx.engine.dispose()


def test_a_final_refusal_fails_the_email_without_retrying(
    database_url: str, server: SmtpTestServer
) -> None:
    ctx = smtp_context(database_url, server)
    server.refuse("nobody@example.org")
    queue(ctx, "verify:3", to="nobody@example.org")
    queue(ctx, "verify:4")
    assert send_emails(ctx) == 1  # the other email is not held up
    failed = row(ctx, "verify:3")
    assert (failed["state"], failed["attempts"]) == ("failed", 1)
    assert "550" in failed["last_error"]
    later(ctx, days=1)
    assert send_emails(ctx) == 0
    assert [m["To"] for m in server.messages] == ["eloise@example.org"]
    ctx.engine.dispose()


def test_an_unreachable_server_fails_the_email_after_the_last_attempt(
    sqlite_url: str, server: SmtpTestServer
) -> None:
    ctx = smtp_context(sqlite_url, server)
    queue(ctx, "verify:5")
    with ctx.engine.begin() as conn:
        conn.execute(emails.update().values(attempts=sending.MAX_ATTEMPTS - 2))
    server.unavailable_for(2)
    assert send_emails(ctx) == 0
    assert row(ctx, "verify:5")["state"] == "pending"
    later(ctx, hours=1)
    assert send_emails(ctx) == 0
    gone = row(ctx, "verify:5")
    assert (gone["state"], gone["attempts"]) == ("failed", sending.MAX_ATTEMPTS)
    later(ctx, hours=1)
    assert send_emails(ctx) == 0
    assert server.messages == [] and server.answers == ["451", "451"]
    ctx.engine.dispose()


class SlowMailer:
    """Holds each send until released, as a slow mail server; counts what it was given."""

    name = "slow"

    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self.sending = threading.Event()
        self.release = threading.Event()

    def send(self, mail: OutgoingMail) -> None:
        self.sending.set()
        if not self.release.wait(30):
            raise MailerUnavailable("never released")
        self.inner.send(mail)


def test_an_email_being_sent_is_not_taken_by_another_worker(
    database_url: str, server: SmtpTestServer
) -> None:
    first = smtp_context(database_url, server)
    slow = SlowMailer(first.mailer)  # type: ignore[arg-type]
    first.mailer = slow
    second = smtp_context(database_url, server)
    queue(first, "verify:6")
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(send_emails(first)))
    worker.start()
    try:
        assert slow.sending.wait(10)
        # The database is not held while the first worker talks to the mail server: the second
        # worker reads, finds the email taken and moves on at once.
        assert send_emails(second) == 0
    finally:
        slow.release.set()
        worker.join(30)
    assert results == [1]
    assert len(server.messages) == 1
    first.engine.dispose()
    second.engine.dispose()


@pytest.mark.postgres
def test_a_claim_is_won_by_one_worker_only(postgres_url: str) -> None:
    ctx = context(postgres_url)
    queue(ctx, "verify:7")
    email_id = row(ctx, "verify:7")["id"]
    until = NOW + sending.LEASE
    results: list[bool] = []
    with ctx.engine.connect() as first:
        first.begin()
        assert emails_repo.claim(first, email_id, NOW, until)

        def rival() -> None:
            with ctx.engine.begin() as conn:
                results.append(emails_repo.claim(conn, email_id, NOW, until))

        thread = threading.Thread(target=rival)
        thread.start()
        waiting = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        with ctx.engine.connect() as probe:
            for _ in range(500):
                if probe.execute(waiting).scalar_one():
                    break
                probe.rollback()
                thread.join(0.02)
            assert probe.execute(waiting).scalar_one() == 1  # the rival waits on our row
        first.commit()
    thread.join(10)
    assert results == [False]
    ctx.engine.dispose()


@pytest.mark.postgres
def test_concurrent_senders_deliver_one_copy_of_each_email(
    postgres_url: str, server: SmtpTestServer
) -> None:
    workers = [smtp_context(postgres_url, server) for _ in range(4)]
    for n in range(24):
        queue(workers[0], f"notice:{n}", to=f"member{n}@example.org")
    start = threading.Barrier(len(workers))
    counts: list[int] = []

    def run(ctx: ServiceContext) -> None:
        start.wait(10)
        total = 0
        while sent := send_emails(ctx, limit=5):
            total += sent
        counts.append(total)

    threads = [threading.Thread(target=run, args=(ctx,)) for ctx in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [m["Message-ID"] for m in server.messages]
    assert sum(counts) == 24 and len(ids) == 24 and len(set(ids)) == 24
    with workers[0].engine.connect() as conn:
        states = conn.execute(sa.select(emails.c.state, emails.c.attempts).distinct()).all()
    assert states == [("sent", 1)]
    for ctx in workers:
        ctx.engine.dispose()


def test_the_sandbox_mailbox_shows_every_email_newest_first(database_url: str) -> None:
    ctx = context(database_url)
    ctx.mailer = mailer_for(ctx.settings, ctx.engine)
    assert isinstance(ctx.mailer, SandboxMailbox)
    queue(ctx, "verify:8")
    later(ctx, minutes=1)
    sneaky = Letter("<b>Alerte</b>", "<b>Alert</b>", "<script>alert(1)</script>", "x")
    queue(ctx, "notice:9", to="bob@example.org", letter=sneaky)
    assert send_emails(ctx) == 2
    app = create_app(ctx, sandbox=create_sandbox_app(ctx.engine, ctx.settings))
    with TestClient(app) as browser:
        page = browser.get("/sandbox/mail?lang=fr")
        assert page.status_code == 200
        html = page.text
        assert "Boîte mail" in html
        # Newest first: bob's email, then Éloïse's.
        assert html.index("bob@example.org") < html.index("eloise@example.org")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
        assert "&lt;b&gt;Alerte&lt;/b&gt;" in html
        # The link is clickable; the full stop after it is not part of it.
        href = LINK.replace("&", "&amp;")
        assert f'<a href="{href}">{href}</a>.' in html
        assert SUBJECT_FR in html

        english = browser.get("/sandbox/mail?lang=en").text
        assert ">Mailbox<" in english and "No emails yet" not in english
        only_bob = browser.get("/sandbox/mail", params={"to": "bob@example.org"}).text
        assert "bob@example.org" in only_bob and SUBJECT_FR not in only_bob

        with ctx.engine.connect() as conn:
            first_id = conn.execute(
                sa.select(mailbox_table.c.id).where(mailbox_table.c.to_address != "bob@example.org")
            ).scalar_one()
        one = browser.get(f"/sandbox/mail/{first_id}")
        assert one.status_code == 200 and SUBJECT_FR in one.text
        assert message_id_for("verify:8", "no-reply@payez.localhost").strip("<>") in one.text
        assert browser.get("/sandbox/mail/999999").status_code == 404
        # The sandbox's pages lead to the mailbox.
        assert 'href="/sandbox/mail"' in browser.get("/sandbox/").text
    ctx.engine.dispose()


def test_the_mailbox_keeps_one_copy_of_a_resent_email(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    mailbox = SandboxMailbox(engine)
    mail = OutgoingMail("Payez <a@b.c>", "x@example.org", "s", "t", "<k@b.c>", NOW, "en")
    mailbox.send(mail)
    mailbox.send(mail)  # after a crash between the send and our commit
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mailbox_table)).scalar() == 1
    engine.dispose()


def test_production_does_not_serve_the_sandbox_mailbox(sqlite_url: str) -> None:
    settings = load_settings(
        {
            "PAYEZ_ENVIRONMENT": "production",
            "PAYEZ_SECRET_KEY": "s" * 40,
            "PAYEZ_SMTP_URL": "smtps://mail.example.org",
        },
        database_url=sqlite_url,
    )
    engine = make_engine(sqlite_url)
    with TestClient(create_sandbox_app(engine, settings)) as client:
        assert client.get("/mail").status_code == 404
    engine.dispose()


def test_the_worker_delivers_emails_and_stops_when_asked(
    sqlite_url: str, server: SmtpTestServer
) -> None:
    ctx = smtp_context(sqlite_url, server)
    worker = Worker(ctx, stream=False, idle_seconds=0.05, poll_seconds=3600, timer_seconds=3600)
    worker.start()
    try:
        assert "emails" in [t.name for t in worker.threads]
        queue(ctx, "verify:10")
        (message,) = server.wait_for(1)
        assert message["Message-ID"] == message_id_for("verify:10", "no-reply@payez.localhost")
    finally:
        left = worker.shutdown(timeout=5)
    assert left == []
    assert not any(t.is_alive() for t in worker.threads)
    assert row(ctx, "verify:10")["state"] == "sent"
    ctx.engine.dispose()


def test_a_context_without_a_mailer_sends_nothing_and_runs_no_email_loop(sqlite_url: str) -> None:
    ctx = context(sqlite_url)
    queue(ctx, "verify:11")
    assert send_emails(ctx) == 0
    assert row(ctx, "verify:11")["state"] == "pending"
    worker = Worker(ctx, stream=False, idle_seconds=0.05, poll_seconds=3600, timer_seconds=3600)
    worker.start()
    try:
        assert "emails" not in [t.name for t in worker.threads]
    finally:
        assert worker.shutdown(timeout=5) == []
    ctx.engine.dispose()


def test_the_smtp_mailer_never_shows_its_password() -> None:
    mailer = SmtpMailer(parse_smtp_url("smtp://payez:hunter2@127.0.0.1:1"))
    assert "hunter2" not in repr(mailer)
    with pytest.raises(MailerUnavailable) as raised:
        mailer.send(OutgoingMail("a@b.c", "x@example.org", "s", "t", "<k@b.c>", NOW, "en"))
    assert "hunter2" not in str(raised.value) and "payez:***@127.0.0.1:1" in str(raised.value)


def test_the_smtp_mailer_logs_in_and_a_refused_login_keeps_the_email_waiting(
    sqlite_url: str,
) -> None:
    with smtp_server(credentials=("payez", "hunter2")) as server:
        ctx = smtp_context(sqlite_url, server)
        queue(ctx, "verify:12")
        assert send_emails(ctx) == 1
        assert len(server.messages) == 1

        ctx.settings = ctx.settings.with_overrides(smtp_url=server.url.replace("hunter2", "nope"))
        ctx.mailer = mailer_for(ctx.settings, ctx.engine)
        queue(ctx, "verify:13")
        assert send_emails(ctx) == 0
        waiting = row(ctx, "verify:13")
        # Our settings are wrong, not the email: it waits for them to be put right.
        assert waiting["state"] == "pending" and "login refused" in waiting["last_error"]
        assert "nope" not in waiting["last_error"]
        assert len(server.messages) == 1
    ctx.engine.dispose()


def test_smtps_checks_the_server_certificate(tmp_path: Path) -> None:
    server_tls, trusting = self_signed(tmp_path)
    mail = OutgoingMail("a@b.c", "x@example.org", "Sécurité", "t", "<k@b.c>", NOW, "fr")
    with smtp_server(tls=server_tls) as server:
        target = parse_smtp_url(server.url)
        assert target.security == "tls"
        SmtpMailer(target, tls_context=trusting).send(mail)
        assert [m["Subject"] for m in server.messages] == ["Sécurité"]
        # The system's authorities do not vouch for this certificate: nothing is sent.
        with pytest.raises(MailerUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            SmtpMailer(target).send(mail)
        assert len(server.messages) == 1
