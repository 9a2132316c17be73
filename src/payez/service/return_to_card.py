"""Use case: money refunded to a buyer goes back to the card that paid for the purchase.

When a purchase was funded by a card charge (the buyer's wallet was short), refunding the order
credits the wallet first (``refund_order``), then returns the card-funded part to the card: the
amount is held on the wallet (a pending transfer), the processor refunds it, and the hold is
posted into ``card_funding`` under the refund's key — or released if the processor refused.
A crash after the processor's answer is mended by the next call, which finds the refund at the
processor instead of refunding twice (the processor may ignore our idempotency key).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.tables.card_charges import card_charges
from payez.adapters.db.tables.payments import orders, payments, users
from payez.domain.ledger import (
    InsufficientFunds,
    LedgerError,
    PendingResolved,
    Transfer,
    TransferMode,
)
from payez.domain.money import Money
from payez.ports.cards import CardProcessor, ProcessorError, Refund
from payez.service.context import ServiceContext
from payez.service.fund_from_card import FUNDING_KEY
from payez.service.reconcile import card_refund_key


@dataclass(frozen=True, slots=True)
class CardFunding:
    buyer_wallet: int
    charge_id: str
    amount: Money  # what goes back to the card: the order's price, at most what was charged


def card_funding_of_order(conn: Connection, order_id: int) -> CardFunding | None:
    order = conn.execute(
        sa.select(orders.c.amount_cents, payments.c.inbox_id, users.c.wallet_account_id)
        .join(payments, payments.c.id == orders.c.payment_id)
        .join(users, users.c.id == orders.c.buyer_user_id)
        .where(orders.c.id == order_id)
    ).first()
    if order is None:
        return None
    charge = conn.execute(
        sa.select(card_charges.c.processor_charge_id, card_charges.c.amount_cents).where(
            card_charges.c.idempotency_key == FUNDING_KEY.format(inbox_id=order.inbox_id),
            card_charges.c.status == "succeeded",
        )
    ).first()
    if charge is None or not charge.processor_charge_id:
        return None
    cents = min(int(order.amount_cents), int(charge.amount_cents))
    return CardFunding(
        int(order.wallet_account_id), str(charge.processor_charge_id), Money.eur(cents)
    )


def return_order_to_card(ctx: ServiceContext, order_id: int) -> Refund | None:
    """Refund the card behind a refunded order; None when no card paid for it."""
    cards = ctx.cards
    if cards is None:
        return None
    with ctx.engine.begin() as conn:
        funding = card_funding_of_order(conn, order_id)
        if funding is None:
            return None
        ledger = SqlLedger(conn)
        hold = Transfer(
            f"order:{order_id}:card-return",
            funding.buyer_wallet,
            ledger.account_id("card_funding"),
            funding.amount,
            TransferMode.PENDING,
        )
        (held,) = ledger.apply([hold])
    if isinstance(held, InsufficientFunds):
        return None  # the buyer already spent it: the refund stays in their wallet
    if isinstance(held, LedgerError):
        raise held
    refund = _refund_once(cards, funding, hold.key)
    with ctx.engine.begin() as conn:
        if refund is not None and refund.status == "succeeded":
            resolution = hold.posting(card_refund_key(refund.id))
        else:
            resolution = hold.voiding(f"{hold.key}:void")
        # Already resolved by an earlier call: nothing more to move.
        with contextlib.suppress(PendingResolved):
            SqlLedger(conn).apply_all([resolution])
    return refund


def _refund_once(cards: CardProcessor, funding: CardFunding, key: str) -> Refund | None:
    try:
        done = [
            r
            for r in cards.list_refunds()
            if r.charge_id == funding.charge_id and r.status == "succeeded"
        ]
        if done:
            return done[0]
        return cards.refund(charge_id=funding.charge_id, amount=funding.amount, idempotency_key=key)
    except ProcessorError:
        return None
