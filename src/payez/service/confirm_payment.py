"""Use case: the sender confirms a payment that waited for strong authentication.

Confirming posts the hold: to the recipient's wallet, or into the claims account when the
recipient has yet to join. Confirming twice moves money once (compare-and-set on the state);
an expired request, someone else's request or a deleted post moves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import email_contacts
from payez.adapters.db import listings as listings_repo
from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import payment_requests as requests_repo
from payez.adapters.db import payments as payments_repo
from payez.adapters.db import webhooks as webhooks_repo
from payez.adapters.db.payments import PaymentRow, transfer_key
from payez.adapters.db.tables.payments import users
from payez.domain.errors import Language
from payez.domain.payment_requests import closed_to, references_in
from payez.domain.payments import PaymentKind, PaymentState
from payez.service import webhook_events
from payez.service.context import ServiceContext
from payez.service.decisions import settled_outcome
from payez.service.errors import ConfirmationClosed, ConfirmationNotYours, ConfirmationUnknown
from payez.service.expire_payments import release_hold
from payez.service.notification_emails import MONEY_RECEIVED, Notice, notify_by_email
from payez.service.outbox_messages import public_reply
from payez.service.payment_transfers import apply_one, first_transfer, payment_amount
from payez.service.post_checks import post_was_deleted
from payez.service.velocity_flags import flag_settled_payments


@dataclass(frozen=True, slots=True)
class Confirmed:
    payment_id: int
    state: PaymentState


def find_confirmation(ctx: ServiceContext, token: str, user_id: int) -> PaymentRow:
    with ctx.engine.connect() as conn:
        payment = payments_repo.by_token(conn, "confirm_token", token)
    if payment is None:
        raise ConfirmationUnknown()
    if payment.sender_user_id != user_id:
        raise ConfirmationNotYours()
    return payment


def confirm_payment(ctx: ServiceContext, token: str, user_id: int) -> Confirmed:
    """Confirm for ``user_id`` (already strongly authenticated by the caller)."""
    payment = find_confirmation(ctx, token, user_id)
    if payment.state is not PaymentState.AWAITING_CONFIRMATION:
        raise ConfirmationClosed(payment.state.value)
    now = ctx.now()
    expired = payment.confirm_expires_at and payment.confirm_expires_at <= now
    deleted = not expired and post_was_deleted(ctx, payment)
    closed: str | None = None
    with ctx.engine.begin() as conn:
        if expired or deleted:
            state = PaymentState.REJECTED if expired else PaymentState.CANCELLED
            closed = "confirmation_expired" if expired else "post_deleted"
            release_hold(conn, payment, state, closed, now)
        elif _names_a_closed_request(conn, payment, now):
            closed = "request_closed"
            release_hold(conn, payment, PaymentState.REJECTED, closed, now)
        else:
            target = _settle(ctx, conn, payment, user_id, now)
    # Raised once the release above is committed: the hold is given back for good.
    if closed is not None:
        raise ConfirmationClosed(closed)
    return Confirmed(payment.id, target)


def _names_a_closed_request(conn: Connection, payment: PaymentRow, now: datetime) -> bool:
    """Whether the memo names a request of the recipient that closed while this payment
    waited (another payer paid it once, or it was cancelled or expired): locked, so two
    confirmations of one paid-once request cannot both pass."""
    codes = references_in(payment.memo)
    if not codes:
        return False
    standing = requests_repo.standing_by_code(conn, codes, lock=True)
    return any(closed_to(s, payment.recipient_user_id, now) for s in standing.values())


def _settle(
    ctx: ServiceContext, conn: Connection, payment: PaymentRow, user_id: int, now: datetime
) -> PaymentState:
    """Post the hold, with all a payment that moves brings: order, webhook, reply, notice."""
    held = payment.recipient_user_id is None
    target = PaymentState.HELD_FOR_CLAIM if held else PaymentState.SETTLED
    extra: dict[str, Any] = {}
    if held:
        extra["claim_expires_at"] = now + timedelta(days=ctx.settings.claim_window_days)
    if not payments_repo.move(
        conn,
        payment.id,
        from_state=PaymentState.AWAITING_CONFIRMATION,
        to_state=target,
        now=now,
        **extra,
    ):
        raise ConfirmationClosed("already confirmed")
    pending = first_transfer(conn, payment)
    apply_one(conn, pending.posting(transfer_key(payment.inbox_id, "post")))
    conn.execute(users.update().where(users.c.id == user_id).values(last_confirmation_at=now))
    if payment.listing_id is not None and payment.recipient_user_id is not None:
        order_id = listings_repo.insert_order(
            conn,
            listing_id=payment.listing_id,
            payment_id=payment.id,
            buyer_user_id=user_id,
            merchant_user_id=payment.recipient_user_id,
            amount_cents=payment_amount(payment).cents,
            now=now,
        )
        if webhooks_repo.has_webhooks(conn, payment.recipient_user_id):
            paid = webhook_events.order_event(
                webhook_events.ORDER_PAID,
                payment.recipient_user_id,
                order_id=order_id,
                listing_id=payment.listing_id,
                payment_id=payment.id,
                price=payment_amount(payment),
                buyer=_name_of(conn, user_id),
                now=now,
            )
            webhook_events.record(conn, [paid])
    elif (
        payment.kind == PaymentKind.DONATION
        and payment.recipient_user_id is not None
        and webhooks_repo.has_webhooks(conn, payment.recipient_user_id)
    ):
        gift = webhook_events.donation_event(
            payment.recipient_user_id,
            payment_id=payment.id,
            gift=payment_amount(payment),
            donor=_name_of(conn, user_id),
            network=payment.network,
            memo=payment.memo,
            now=now,
        )
        webhook_events.record(conn, [gift])
    outbox_repo.enqueue(conn, [_reply(ctx, payment, target, now, user_id)])
    if not held:
        sender = email_contacts.public_handle(conn, user_id, payment.network)
        received = Notice(
            MONEY_RECEIVED,
            payment.recipient_user_id or 0,
            f"inbox:{payment.inbox_id}",
            payment_amount(payment),
            sender,
        )
        notify_by_email(conn, [received], base_url=ctx.settings.base_url, now=now)
    # The money moves now: the velocity rules look at it as they do in the processor.
    flag_settled_payments(conn, ctx.settings, [(payment.inbox_id, user_id)], now)
    return target


def _name_of(conn: Connection, user_id: int) -> str:
    found = conn.execute(sa.select(users.c.display_name).where(users.c.id == user_id)).scalar()
    return str(found or "")


def _reply(
    ctx: ServiceContext, payment: PaymentRow, state: PaymentState, now: datetime, user_id: int
) -> dict[str, Any]:
    language: Language = "en" if payment.language == "en" else "fr"
    facts: dict[str, object] = {
        "amount": payment_amount(payment),
        "recipient": payment.recipient_handle,
        "service": ctx.service_handle(payment.network),
        "show_amount": True,
    }
    if state is PaymentState.HELD_FOR_CLAIM:
        outcome = "claim_pending"
        facts["link"] = ctx.link(f"/claim/{payment.claim_token}")
        facts["days"] = ctx.settings.claim_window_days
    else:
        outcome = settled_outcome(payment.kind)
    return public_reply(
        payment.network,
        payment.post_id,
        "",
        outcome,
        language,
        key=f"reply:{payment.inbox_id}:confirmed",
        facts=facts,
        now=now,
        user_id=user_id,
    )
