"""Use case: send what the outbox holds — replies, private notices and listing posts — exactly
once each.

Each message carries its idempotency key to the network, so a send retried after a crash
(between the network's answer and our commit) is recognised by the network and not posted
again. Rate limits are honoured: on a 429 nothing more goes to that network from the same
sender until its reset time; other failures back off exponentially with jitter. Before any of
that, each network's reply budget decides what a claimed batch may post
(:mod:`payez.service.reply_budgets`).

A listing post is published as the merchant, with the access token they granted (kept sealed
on their linked account, opened only here); once the network has it, the listing is recorded
under the post in the same transaction that marks the message sent, so buy replies to it are
matched. A refused or missing token fails the message at once: only the merchant can grant a
new one.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta

from sqlalchemy import Connection

from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.outbox import OutboxMessage
from payez.ports.network import (
    AuthenticationFailed,
    Author,
    NetworkAccount,
    NetworkError,
    NetworkUnavailable,
    RateLimited,
    SocialNetwork,
)
from payez.service.context import ServiceContext
from payez.service.create_listing import listing_post_published
from payez.service.network_tokens import open_token
from payez.service.outbox_messages import LISTING
from payez.service.reply_budgets import allot, give_back

MAX_ATTEMPTS = 12
BASE_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(minutes=30)
# Messages sent at once by one sender: each waits mostly on the network, so a few in flight
# keep up with a busy inbox. Below the HTTP client's pool of ten connections per host.
SENDERS = 8
# How long a claimed batch is this sender's alone: well past the time to send it (requests time
# out after 30 s); a sender that dies leaves its claimed messages to others after that.
CLAIM_LEASE = timedelta(minutes=2)
# Batches claimed at most in one round when the reply budgets keep turning them away.
CLAIM_ROUNDS = 8

# Who a message is sent by, on its network: the service, or a merchant publishing as themselves.
Lane = tuple[str, str]


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Full-jitter exponential backoff: a random wait up to 2**attempts base steps, capped."""
    ceiling = min(BASE_BACKOFF * (1 << min(attempts, 20)), MAX_BACKOFF)
    share: float = (rng or random).random()
    return ceiling * share + timedelta(milliseconds=100)


def _lane(message: OutboxMessage) -> Lane:
    """A merchant's token has its own rate limit: a 429 on it does not hold the replies back."""
    author = message.recipient_account_id or "" if message.kind == LISTING else ""
    return (message.network, author)


def _author(ctx: ServiceContext, message: OutboxMessage) -> Author:
    account_id = message.recipient_account_id or ""
    with ctx.engine.connect() as conn:
        sealed = users_repo.sealed_access_token(conn, message.network, account_id)
    token = open_token(ctx.settings, message.network, account_id, sealed) if sealed else None
    return Author(NetworkAccount(id=account_id, handle=message.recipient_handle or ""), token)


def _deliver(ctx: ServiceContext, network: SocialNetwork, message: OutboxMessage) -> str | None:
    if message.kind == "reply":
        assert message.in_reply_to is not None
        return network.reply(message.in_reply_to, message.text, message.idempotency_key)
    if message.kind == LISTING:
        return network.publish(message.text, message.idempotency_key, _author(ctx, message))
    account = NetworkAccount(
        id=message.recipient_account_id or "", handle=message.recipient_handle or ""
    )
    network.notify_privately(account, message.text, message.idempotency_key)
    return None


def send_outbox(ctx: ServiceContext, *, limit: int = 64, concurrency: int = SENDERS) -> int:
    """Send the messages that are due, up to ``concurrency`` at a time; returns how many were
    sent.

    The batch is claimed first (:func:`outbox_repo.claim`), so two senders never take the same
    message; the sent ones are marked in one transaction once the batch is done.
    """
    now = ctx.now()
    with ctx.engine.begin() as conn:
        messages = _claim_affordable(conn, ctx, now, limit)
    if not messages:
        return 0
    paused: dict[Lane, datetime] = {}
    guard = threading.Lock()
    sent: list[tuple[OutboxMessage, str | None]] = []
    queue = list(reversed(messages))  # popped from the end: oldest first

    def run() -> None:
        while True:
            with guard:
                if not queue:
                    return
                message = queue.pop()
            outcome = _attempt(ctx, ctx.networks[message.network], message, now, paused, guard)
            if not isinstance(outcome, _Failed):
                with guard:
                    sent.append((message, outcome))

    threads = [
        # Daemon threads: one stuck on a slow network call must not hold a stopping process.
        threading.Thread(target=run, name="outbox-send", daemon=True)
        for _ in range(max(1, min(concurrency, len(messages))))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _record_sent(ctx, sent)
    return len(sent)


def _claim_affordable(
    conn: Connection, ctx: ServiceContext, now: datetime, limit: int
) -> list[OutboxMessage]:
    """Claim due messages until some are within the reply budgets: a batch the budgets turn
    wholly away (deferred or told in the app) must not end the sender's round."""
    for _ in range(CLAIM_ROUNDS):
        claimed = outbox_repo.claim(conn, now, now + CLAIM_LEASE, limit, list(ctx.networks))
        affordable = allot(conn, ctx, claimed, now)
        if affordable or not claimed:
            return affordable
    return []


def send_now(ctx: ServiceContext, idempotency_key: str) -> bool:
    """Send one message at once if it is pending and due (someone waits on a page for it);
    True when it went out. The worker sends it later otherwise."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        found = outbox_repo.by_key(conn, idempotency_key)
        if found is None or ctx.networks.get(found.message.network) is None:
            return False
        message = outbox_repo.claim_by_key(conn, idempotency_key, now, now + CLAIM_LEASE)
        if message is None or not allot(conn, ctx, [message], now):
            return False
    network = ctx.networks[message.network]
    outcome = _attempt(ctx, network, message, now, {}, threading.Lock())
    if isinstance(outcome, _Failed):
        return False
    _record_sent(ctx, [(message, outcome)])
    return True


class _Failed:
    pass


_FAILED = _Failed()


def _attempt(
    ctx: ServiceContext,
    network: SocialNetwork,
    message: OutboxMessage,
    now: datetime,
    paused: dict[Lane, datetime],
    guard: threading.Lock,
) -> str | _Failed | None:
    """Send one message: the network's id for it (None when it gives none), or ``_FAILED``
    after recording when to try again (or that it failed for good)."""
    lane = _lane(message)
    with guard:
        resume = paused.get(lane)
    if resume is not None:
        _retry_at(ctx, message, resume, "rate limited")
        return _FAILED
    try:
        return _deliver(ctx, network, message)
    except RateLimited as exc:
        resume = exc.reset_at or now + backoff(message.attempts)
        with guard:
            paused[lane] = resume
        _retry_at(ctx, message, resume, str(exc))
    except NetworkUnavailable as exc:
        _retry_at(ctx, message, now + backoff(message.attempts), str(exc))
    except NetworkError as exc:
        refused_grant = message.kind == LISTING and isinstance(exc, AuthenticationFailed)
        if refused_grant or message.attempts + 1 >= MAX_ATTEMPTS:
            with ctx.engine.begin() as conn:
                outbox_repo.mark_failed(conn, message.id, str(exc))
                give_back(conn, message)
        else:
            _retry_at(ctx, message, now + backoff(message.attempts), str(exc))
    return _FAILED


def _record_sent(ctx: ServiceContext, sent: list[tuple[OutboxMessage, str | None]]) -> None:
    if not sent:
        return
    at = ctx.now()
    with ctx.engine.begin() as conn:
        outbox_repo.mark_all_sent(
            conn, [(message.id, remote_id) for message, remote_id in sent], at
        )
        for message, remote_id in sent:
            if message.kind == LISTING and remote_id is not None:
                listing_post_published(
                    conn, message.idempotency_key, message.network, remote_id, at
                )


def _retry_at(ctx: ServiceContext, message: OutboxMessage, when: datetime, error: str) -> None:
    with ctx.engine.begin() as conn:
        outbox_repo.mark_retry(conn, message.id, when, error)
        give_back(conn, message)
