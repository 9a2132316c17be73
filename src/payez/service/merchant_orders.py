"""What a merchant sees of their sales: orders per listing, with the buyer and the state, and
the refund of one order (``refund_order``: the ledger gives the buyer the price back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from payez.adapters.db.tables.payments import listings, orders, users
from payez.domain.money import Money
from payez.service.context import ServiceContext
from payez.service.create_listing import require_merchant
from payez.service.refund_order import OrderNotYours, OrderUnknown, OrderView, refund_order


@dataclass(frozen=True, slots=True)
class MerchantOrder:
    id: int
    listing_id: int
    listing_title: str
    buyer_name: str
    amount: Money
    state: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MerchantListing:
    id: int
    title: str
    price: Money
    stock: int
    network: str
    post_id: str


def merchant_listings(ctx: ServiceContext, merchant_user_id: int) -> list[MerchantListing]:
    with ctx.engine.connect() as conn:
        require_merchant(conn, merchant_user_id)
        rows = conn.execute(
            sa.select(listings)
            .where(listings.c.merchant_user_id == merchant_user_id)
            .order_by(listings.c.id.desc())
        )
        return [
            MerchantListing(
                int(r.id),
                str(r.title),
                Money(int(r.price_cents), str(r.currency)),
                int(r.stock),
                str(r.network),
                str(r.post_id),
            )
            for r in rows
        ]


def merchant_orders(
    ctx: ServiceContext, merchant_user_id: int, listing_id: int | None = None
) -> list[MerchantOrder]:
    """The merchant's orders, newest first; with ``listing_id``, that listing's only (another
    merchant's listing is "unknown", never "forbidden")."""
    with ctx.engine.connect() as conn:
        require_merchant(conn, merchant_user_id)
        query = (
            sa.select(
                orders.c.id,
                orders.c.listing_id,
                listings.c.title,
                users.c.display_name,
                orders.c.amount_cents,
                orders.c.state,
                orders.c.created_at,
            )
            .join(listings, listings.c.id == orders.c.listing_id)
            .join(users, users.c.id == orders.c.buyer_user_id)
            .where(orders.c.merchant_user_id == merchant_user_id)
            .order_by(orders.c.id.desc())
        )
        if listing_id is not None:
            owner = conn.execute(
                sa.select(listings.c.merchant_user_id).where(listings.c.id == listing_id)
            ).scalar_one_or_none()
            if owner != merchant_user_id:
                raise OrderUnknown(f"listing {listing_id}")
            query = query.where(orders.c.listing_id == listing_id)
        return [
            MerchantOrder(
                int(r.id),
                int(r.listing_id),
                str(r.title),
                str(r.display_name),
                Money.eur(int(r.amount_cents)),
                str(r.state),
                r.created_at,
            )
            for r in conn.execute(query)
        ]


def refund_merchant_order(ctx: ServiceContext, merchant_user_id: int, order_id: int) -> OrderView:
    """Refund one of the merchant's orders; another merchant's order is "unknown" (404)."""
    with ctx.engine.connect() as conn:
        require_merchant(conn, merchant_user_id)
    try:
        return refund_order(ctx, order_id, merchant_user_id)
    except OrderNotYours as exc:
        raise OrderUnknown(str(order_id)) from exc
