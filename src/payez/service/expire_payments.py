"""Use case: the worker's timers — claim reminders, refunds at claim expiry, confirmation expiry.

Each payment moves by compare-and-set in the same transaction as its ledger transfer and its
message, so two workers running the timers at once, or one re-running after a crash, act once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from payez.adapters.db import listings as listings_repo
from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import payments as payments_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.payments import PaymentRow, transfer_key
from payez.domain.errors import Language
from payez.domain.ledger import Transfer
from payez.domain.payments import PaymentState
from payez.service.context import ServiceContext
from payez.service.notification_emails import CLAIM_EXPIRING, Notice, notify_by_email
from payez.service.outbox_messages import public_reply
from payez.service.payment_transfers import apply_one, first_transfer, payment_amount


def _language(payment: PaymentRow) -> Language:
    return "en" if payment.language == "en" else "fr"


def send_claim_reminders(ctx: ServiceContext, *, limit: int = 200) -> int:
    """Remind recipients whose claim window closes within the reminder period."""
    now = ctx.now()
    horizon = now + timedelta(hours=ctx.settings.claim_reminder_hours)
    reminded = 0
    with ctx.engine.begin() as conn:
        for payment in payments_repo.reminders_due(conn, horizon, limit):
            if not payments_repo.move(
                conn,
                payment.id,
                from_state=PaymentState.HELD_FOR_CLAIM,
                to_state=PaymentState.HELD_FOR_CLAIM,
                now=now,
                reminder_sent_at=now,
            ):
                continue
            facts = {
                "amount": payment_amount(payment),
                "recipient": payment.recipient_handle,
                "service": ctx.service_handle(payment.network),
                "link": ctx.link(f"/claim/{payment.claim_token}"),
                "hours": ctx.settings.claim_reminder_hours,
            }
            outbox_repo.enqueue(
                conn,
                [
                    public_reply(
                        payment.network,
                        payment.post_id,
                        payment.recipient_handle or "",
                        "claim_reminder",
                        _language(payment),
                        key=f"reminder:{payment.inbox_id}",
                        facts=facts,
                        now=now,
                    )
                ],
            )
            if payment.sender_user_id is not None:
                expiring = Notice(
                    CLAIM_EXPIRING,
                    payment.sender_user_id,
                    f"inbox:{payment.inbox_id}",
                    payment_amount(payment),
                    f"@{(payment.recipient_handle or '').lstrip('@')}",
                    hours=ctx.settings.claim_reminder_hours,
                )
                notify_by_email(conn, [expiring], base_url=ctx.settings.base_url, now=now)
            reminded += 1
    return reminded


def refund_expired_claims(ctx: ServiceContext, *, limit: int = 200) -> int:
    """Give unclaimed money back to its senders once the claim window has closed."""
    now = ctx.now()
    refunded = 0
    with ctx.engine.begin() as conn:
        due = payments_repo.in_state_due(
            conn, PaymentState.HELD_FOR_CLAIM, "claim_expires_at", now, limit
        )
        ledger = SqlLedger(conn)
        claims_held = ledger.account_id("claims_held")
        senders = users_repo.users_by_id(conn, [p.sender_user_id for p in due if p.sender_user_id])
        for payment in due:
            sender = senders[payment.sender_user_id or 0]
            if not payments_repo.move(
                conn,
                payment.id,
                from_state=PaymentState.HELD_FOR_CLAIM,
                to_state=PaymentState.REFUNDED,
                now=now,
                reason="claim_expired",
            ):
                continue
            refund = Transfer(
                transfer_key(payment.inbox_id, "refund"),
                claims_held,
                sender.wallet_account_id,
                payment_amount(payment),
            )
            apply_one(conn, refund)
            facts = {"amount": payment_amount(payment), "recipient": payment.recipient_handle}
            outbox_repo.enqueue(
                conn,
                [
                    public_reply(
                        payment.network,
                        payment.post_id,
                        "",
                        "refunded",
                        _language(payment),
                        key=f"refund:{payment.inbox_id}",
                        facts=facts,
                        now=now,
                        user_id=payment.sender_user_id,
                    )
                ],
            )
            refunded += 1
    return refunded


def expire_confirmations(ctx: ServiceContext, *, limit: int = 200) -> int:
    """Release the hold of every payment whose confirmation window has closed."""
    now = ctx.now()
    expired = 0
    with ctx.engine.begin() as conn:
        due = payments_repo.in_state_due(
            conn, PaymentState.AWAITING_CONFIRMATION, "confirm_expires_at", now, limit
        )
        for payment in due:
            if release_hold(conn, payment, PaymentState.REJECTED, "confirmation_expired", now):
                expired += 1
    return expired


def release_hold(
    conn: Connection, payment: PaymentRow, to_state: PaymentState, reason: str, now: datetime
) -> bool:
    """Void a payment's pending transfer and close it in ``to_state``; False if already moved."""
    if not payments_repo.move(
        conn,
        payment.id,
        from_state=PaymentState.AWAITING_CONFIRMATION,
        to_state=to_state,
        now=now,
        reason=reason,
    ):
        return False
    pending = first_transfer(conn, payment)
    apply_one(conn, pending.voiding(transfer_key(payment.inbox_id, "void")))
    if payment.listing_id is not None:
        listings_repo.release_one(conn, payment.listing_id)
    return True
