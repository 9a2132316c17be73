"""Use case: deliver webhook events to their endpoints, at least once, with the same event id.

Events written with a payment are first fanned out, one delivery per endpoint in service. Each
due delivery is then claimed (a lease moves its next attempt ahead), sent outside any
transaction, signed afresh (``Payez-Signature``, a new timestamp each time), and marked:
delivered on a 2xx answer, else due again after the back-off of
``domain.webhook_signatures`` (1 minute, doubling, at most 6 hours apart), until 3 days after
the event, when it is given up (``failed``). Every attempt is logged with its answer's code
and how long it took. A worker that dies mid-send leaves the lease to expire: the delivery is
sent again, with the same event id, so the receiver can recognise the copy.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from payez.adapters.db import webhooks as webhooks_repo
from payez.adapters.db.webhooks import DELIVERED, FAILED, PENDING, DueDelivery
from payez.domain.webhook_signatures import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    next_attempt,
    signature_header,
)
from payez.ports.webhooks import WebhookAnswer, WebhookSender
from payez.service.context import ServiceContext
from payez.service.webhook_endpoints import open_secret

log = logging.getLogger("payez.webhooks")

LEASE = timedelta(minutes=2)


def fan_out_events(ctx: ServiceContext, *, limit: int = 200) -> int:
    with ctx.engine.begin() as conn:
        return webhooks_repo.fan_out(conn, ctx.now(), limit)


def send_webhooks(ctx: ServiceContext, sender: WebhookSender, *, limit: int = 20) -> int:
    """Fan out new events, then try the due deliveries; returns how many attempts were made."""
    while fan_out_events(ctx):
        pass
    with ctx.engine.connect() as conn:
        candidates = webhooks_repo.due(conn, ctx.now(), limit)
    tried = 0
    for delivery in candidates:
        now = ctx.now()
        with ctx.engine.begin() as conn:
            if not webhooks_repo.claim(conn, delivery.id, now, now + LEASE):
                continue
        _attempt(ctx, sender, delivery)
        tried += 1
    return tried


def _attempt(ctx: ServiceContext, sender: WebhookSender, delivery: DueDelivery) -> None:
    secret = open_secret(ctx.settings, delivery.user_id, delivery.secret_sealed)
    sent_at = ctx.now()
    started = time.monotonic()
    if secret is None:
        answer = WebhookAnswer(None, "secret_unavailable")
    else:
        body = delivery.body.encode("utf-8")
        headers = {
            SIGNATURE_HEADER: signature_header(secret, int(sent_at.timestamp()), body),
            EVENT_ID_HEADER: delivery.event_id,
        }
        answer = sender.post(delivery.url, body, headers)
    duration_ms = int((time.monotonic() - started) * 1000)
    if answer.delivered:
        state, due = DELIVERED, None
    else:
        due = next_attempt(delivery.event_created_at, sent_at, delivery.attempts + 1)
        state = PENDING if due is not None else FAILED
        log.info(
            "webhook %s to %s: %s",
            delivery.event_id,
            delivery.url,
            answer.status_code or answer.error,
        )
    with ctx.engine.begin() as conn:
        webhooks_repo.record_attempt(
            conn,
            delivery.id,
            at=sent_at,
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=duration_ms,
            state=state,
            next_attempt_at=due,
        )
