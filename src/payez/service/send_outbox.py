"""Use case: send what the outbox holds — replies, private notices and listing posts — exactly
once each.

Each message is claimed before it is sent (its next attempt moved past a lease, compare-and-set),
so two senders never send it at once; and it carries its idempotency key to the network, so a
send retried after a crash (between the network's answer and our commit) is recognised by the
network and not posted again. X has no such key: there the claim is what keeps a reply single,
and only a crash in that instant can post one twice. Rate limits are honoured: on a 429 nothing
more goes to that network from the same sender until its reset time; other failures back off
exponentially with jitter.

A listing post is published as the merchant, with the access token they granted (kept sealed
on their linked account, opened only here); once the network has it, the listing is recorded
under the post in the same transaction that marks the message sent, so buy replies to it are
matched. A refused or missing token fails the message at once: only the merchant can grant a
new one.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

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

MAX_ATTEMPTS = 12
BASE_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(minutes=30)
# How long a claimed message is left to its sender before another may try it: twice the
# adapters' request timeout (30 s), so a live sender is never overtaken, and a dead one's
# messages go out a minute later.
CLAIM_LEASE = timedelta(seconds=60)

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


def send_outbox(ctx: ServiceContext, *, limit: int = 50) -> int:
    """Send the messages that are due; returns how many were sent."""
    now = ctx.now()
    with ctx.engine.connect() as conn:
        messages = outbox_repo.due(conn, now, limit)
    sent = 0
    paused: dict[Lane, datetime] = {}
    for message in messages:
        network = ctx.networks.get(message.network)
        if network is None:
            continue  # another worker serves this network
        if _send(ctx, network, message, now, paused):
            sent += 1
    return sent


def send_now(ctx: ServiceContext, idempotency_key: str) -> bool:
    """Send one message at once if it is pending and due (someone waits on a page for it);
    True when it went out. The worker sends it later otherwise."""
    now = ctx.now()
    with ctx.engine.connect() as conn:
        found = outbox_repo.by_key(conn, idempotency_key)
    if found is None or found.state != "pending" or found.next_attempt_at > now:
        return False
    network = ctx.networks.get(found.message.network)
    if network is None:
        return False
    return _send(ctx, network, found.message, now, {})


def _send(
    ctx: ServiceContext,
    network: SocialNetwork,
    message: OutboxMessage,
    now: datetime,
    paused: dict[Lane, datetime],
) -> bool:
    lane = _lane(message)
    if lane in paused:
        _retry_at(ctx, message, paused[lane], "rate limited")
        return False
    with ctx.engine.begin() as conn:
        if not outbox_repo.claim(conn, message.id, now, now + CLAIM_LEASE):
            return False  # another sender has it
    try:
        remote_id = _deliver(ctx, network, message)
    except RateLimited as exc:
        resume = exc.reset_at or now + backoff(message.attempts)
        paused[lane] = resume
        _retry_at(ctx, message, resume, str(exc))
        return False
    except NetworkUnavailable as exc:
        _retry_at(ctx, message, now + backoff(message.attempts), str(exc))
        return False
    except NetworkError as exc:
        refused_grant = message.kind == LISTING and isinstance(exc, AuthenticationFailed)
        if refused_grant or message.attempts + 1 >= MAX_ATTEMPTS:
            with ctx.engine.begin() as conn:
                outbox_repo.mark_failed(conn, message.id, str(exc))
        else:
            _retry_at(ctx, message, now + backoff(message.attempts), str(exc))
        return False
    with ctx.engine.begin() as conn:
        outbox_repo.mark_sent(conn, message.id, remote_id, ctx.now())
        if message.kind == LISTING and remote_id is not None:
            listing_post_published(
                conn, message.idempotency_key, message.network, remote_id, ctx.now()
            )
    return True


def _retry_at(ctx: ServiceContext, message: OutboxMessage, when: datetime, error: str) -> None:
    with ctx.engine.begin() as conn:
        outbox_repo.mark_retry(conn, message.id, when, error)
