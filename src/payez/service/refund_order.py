"""Use case: a merchant refunds an order — the buyer gets the price back from the merchant."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.tables.payments import orders
from payez.domain.errors import Forbidden, NotFound, PayezError
from payez.domain.ledger import InsufficientFunds, Transfer
from payez.domain.money import Money
from payez.service import webhook_events
from payez.service.context import ServiceContext
from payez.service.return_to_card import return_order_to_card


class OrderUnknown(NotFound):
    code = "order_unknown"
    message_fr = "Commande inconnue."
    message_en = "Unknown order."


class OrderNotYours(Forbidden):
    code = "order_not_yours"
    message_fr = "Cette commande n'est pas la vôtre."
    message_en = "This order is not yours."


class OrderAlreadyRefunded(PayezError):
    code = "order_already_refunded"
    message_fr = "Cette commande a déjà été remboursée."
    message_en = "This order has already been refunded."


class RefundUnfunded(PayezError):
    code = "refund_unfunded"
    message_fr = "Votre solde ne couvre pas ce remboursement."
    message_en = "Your balance does not cover this refund."


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    listing_id: int
    buyer_user_id: int
    amount: Money
    state: str


def orders_of(ctx: ServiceContext, merchant_user_id: int) -> list[OrderView]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(orders)
            .where(orders.c.merchant_user_id == merchant_user_id)
            .order_by(orders.c.id.desc())
        )
        return [
            OrderView(r.id, r.listing_id, r.buyer_user_id, Money.eur(r.amount_cents), r.state)
            for r in rows
        ]


def refund_order(ctx: ServiceContext, order_id: int, merchant_user_id: int) -> OrderView:
    """Give the buyer their money back; refunding twice moves money once."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        order = conn.execute(sa.select(orders).where(orders.c.id == order_id)).first()
        if order is None:
            raise OrderUnknown(str(order_id))
        if order.merchant_user_id != merchant_user_id:
            raise OrderNotYours(str(order_id))
        moved = conn.execute(
            orders.update()
            .where(orders.c.id == order_id, orders.c.state == "paid")
            .values(state="refunded", refunded_at=now)
        )
        if moved.rowcount != 1:
            raise OrderAlreadyRefunded(str(order_id))
        found = users_repo.users_by_id(conn, [order.merchant_user_id, order.buyer_user_id])
        refund = Transfer(
            f"order:{order_id}:refund",
            found[order.merchant_user_id].wallet_account_id,
            found[order.buyer_user_id].wallet_account_id,
            Money.eur(order.amount_cents),
        )
        try:
            SqlLedger(conn).apply_all([refund])
        except InsufficientFunds:
            raise RefundUnfunded() from None
        if found[order.merchant_user_id].has_webhooks:
            refunded = webhook_events.order_event(
                webhook_events.ORDER_REFUNDED,
                order.merchant_user_id,
                order_id=order.id,
                listing_id=order.listing_id,
                payment_id=order.payment_id,
                price=Money.eur(order.amount_cents),
                buyer=found[order.buyer_user_id].display_name,
                now=now,
            )
            webhook_events.record(conn, [refunded])
    # The buyer's money goes back where it came from: the card, for what a card paid.
    return_order_to_card(ctx, order_id)
    return OrderView(
        order.id, order.listing_id, order.buyer_user_id, Money.eur(order.amount_cents), "refunded"
    )
