"""Use case: send what the outbox holds — replies and private notices — exactly once each.

Each message carries its idempotency key to the network, so a send retried after a crash
(between the network's answer and our commit) is recognised by the network and not posted
again. Rate limits are honoured: on a 429 nothing more goes to that network until its reset
time; other failures back off exponentially with jitter.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db.outbox import OutboxMessage
from payez.ports.network import (
    NetworkAccount,
    NetworkError,
    NetworkUnavailable,
    RateLimited,
    SocialNetwork,
)
from payez.service.context import ServiceContext

MAX_ATTEMPTS = 12
BASE_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(minutes=30)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Full-jitter exponential backoff: a random wait up to 2**attempts base steps, capped."""
    ceiling = min(BASE_BACKOFF * (1 << min(attempts, 20)), MAX_BACKOFF)
    share: float = (rng or random).random()
    return ceiling * share + timedelta(milliseconds=100)


def _deliver(network: SocialNetwork, message: OutboxMessage) -> str | None:
    if message.kind == "reply":
        assert message.in_reply_to is not None
        return network.reply(message.in_reply_to, message.text, message.idempotency_key)
    account = NetworkAccount(
        id=message.recipient_account_id or "", handle=message.recipient_handle or ""
    )
    network.notify_privately(account, message.text, message.idempotency_key)
    return None


def send_outbox(ctx: ServiceContext, *, limit: int = 50) -> int:
    """Send the messages that are due; returns how many were sent."""
    now = ctx.now()
    with ctx.engine.connect() as conn:
        messages = outbox_repo.due(conn, now, limit)
    sent = 0
    paused: dict[str, datetime] = {}
    for message in messages:
        network = ctx.networks.get(message.network)
        if network is None:
            continue  # another worker serves this network
        if message.network in paused:
            _retry_at(ctx, message, paused[message.network], "rate limited")
            continue
        try:
            remote_id = _deliver(network, message)
        except RateLimited as exc:
            resume = exc.reset_at or now + backoff(message.attempts)
            paused[message.network] = resume
            _retry_at(ctx, message, resume, str(exc))
            continue
        except NetworkUnavailable as exc:
            _retry_at(ctx, message, now + backoff(message.attempts), str(exc))
            continue
        except NetworkError as exc:
            if message.attempts + 1 >= MAX_ATTEMPTS:
                with ctx.engine.begin() as conn:
                    outbox_repo.mark_failed(conn, message.id, str(exc))
            else:
                _retry_at(ctx, message, now + backoff(message.attempts), str(exc))
            continue
        with ctx.engine.begin() as conn:
            outbox_repo.mark_sent(conn, message.id, remote_id, ctx.now())
        sent += 1
    return sent


def _retry_at(ctx: ServiceContext, message: OutboxMessage, when: datetime, error: str) -> None:
    with ctx.engine.begin() as conn:
        outbox_repo.mark_retry(conn, message.id, when, error)
