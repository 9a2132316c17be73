"""Use case: deliver the emails the outbox holds, once each.

Each email is first claimed, then sent, then marked, in three short transactions:

1. claim: a compare-and-set moves its ``next_attempt_at`` a lease ahead, but only if it is
   still pending and due; the one worker whose update touched the row sends it, any other
   finds it no longer due (on PostgreSQL, the second update waits for the first and then sees
   the new time; SQLite takes one writer at a time);
2. send, outside any transaction;
3. mark it sent, or due again after a full-jitter back-off (the mailer is unavailable), or
   failed (refused for good, or too many attempts).

Why not keep the ``FOR UPDATE`` lock of ``due`` while sending: the lock lives as long as its
transaction, and that transaction would then wait on a mail server for up to several timeouts.
On SQLite every transaction holds the database's one write lock (``BEGIN IMMEDIATE``), so
every writer of Payez — and the sandbox mailbox, which writes the email into the same
database — would wait for the mail server. The lease costs nothing while sending and works
the same on both databases.

What "once" means: a worker that crashes after the server took the email but before step 3
leaves the email claimed; once the lease expires another worker sends it again, with the same
Message-ID (derived from the idempotency key), so the receiving side can recognise the copy.
The lease is far longer than a send can last (the SMTP adapter times out each exchange after
seconds), and each email is claimed only when its turn comes, so a slow batch never outlives
a lease.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from payez.adapters.db import emails as emails_repo
from payez.adapters.db.emails import QueuedEmail
from payez.ports.mailer import (
    Mailer,
    MailerUnavailable,
    MailRejected,
    OutgoingMail,
    message_id_for,
)
from payez.service.context import ServiceContext
from payez.service.send_outbox import backoff

log = logging.getLogger("payez.emails")

LEASE = timedelta(minutes=5)
# With send_outbox's back-off (capped at 30 minutes a wait), about two hours on average for an
# unreachable server before an email is given up: a later one would mostly be useless.
MAX_ATTEMPTS = 16


def send_emails(ctx: ServiceContext, *, limit: int = 20) -> int:
    """Send up to ``limit`` due emails through ``ctx.mailer``; returns how many went out."""
    mailer = ctx.mailer
    if mailer is None:
        return 0
    with ctx.engine.connect() as conn:
        candidates = emails_repo.due(conn, ctx.now(), limit)
    sent = 0
    for email in candidates:
        now = ctx.now()
        with ctx.engine.begin() as conn:
            if not emails_repo.claim(conn, email.id, now, now + LEASE):
                continue  # another worker has it
        if _send(ctx, mailer, email):
            sent += 1
    return sent


def outgoing(ctx: ServiceContext, email: QueuedEmail) -> OutgoingMail:
    """What ``email`` looks like to the mailer: the Message-ID comes from its key."""
    return OutgoingMail(
        sender=ctx.settings.mail_from,
        to=email.to_address,
        subject=email.subject,
        text=email.text,
        message_id=message_id_for(email.idempotency_key, ctx.settings.mail_from_address),
        date=ctx.now(),
        language=email.language,
    )


def _send(ctx: ServiceContext, mailer: Mailer, email: QueuedEmail) -> bool:
    try:
        mailer.send(outgoing(ctx, email))
    except MailRejected as exc:
        _fail(ctx, email, str(exc))
        return False
    except MailerUnavailable as exc:
        if email.attempts + 1 >= MAX_ATTEMPTS:
            _fail(ctx, email, str(exc))
        else:
            log.warning("email %s waits: %s", email.id, exc)
            with ctx.engine.begin() as conn:
                emails_repo.mark_retry(
                    conn, email.id, ctx.now() + backoff(email.attempts), str(exc)
                )
        return False
    with ctx.engine.begin() as conn:
        emails_repo.mark_sent(conn, email.id, ctx.now())
    return True


def _fail(ctx: ServiceContext, email: QueuedEmail, error: str) -> None:
    log.warning("email %s (%s) failed for good: %s", email.id, email.kind, error)
    with ctx.engine.begin() as conn:
        emails_repo.mark_failed(conn, email.id, error)
