"""Use case: a merchant changes a listing's title or stock (restocking, or 0 to stop sales).

The price stays: it is written in the listing's post, and a buy reply is checked against it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from payez.adapters.db.tables.payments import listings
from payez.service.context import ServiceContext
from payez.service.create_listing import (
    STOCK_MAX,
    TITLE_MAX_LENGTH,
    ListingUnknown,
    StockInvalid,
    TitleInvalid,
    require_merchant,
)
from payez.service.merchant_orders import MerchantListing, merchant_listings


def edit_listing(
    ctx: ServiceContext,
    merchant_user_id: int,
    listing_id: int,
    *,
    title: str | None = None,
    stock: int | None = None,
) -> MerchantListing:
    """Change what is given; another merchant's listing is "unknown"."""
    values: dict[str, Any] = {}
    if title is not None:
        clean = " ".join(title.split())
        if not clean or len(clean) > TITLE_MAX_LENGTH:
            raise TitleInvalid()
        values["title"] = clean
    if stock is not None:
        if not 0 <= stock <= STOCK_MAX:
            raise StockInvalid(str(stock))
        values["stock"] = stock
    with ctx.engine.begin() as conn:
        require_merchant(conn, merchant_user_id)
        owned = (listings.c.id == listing_id) & (listings.c.merchant_user_id == merchant_user_id)
        if conn.execute(sa.select(listings.c.id).where(owned)).first() is None:
            raise ListingUnknown(str(listing_id))
        if values:
            conn.execute(listings.update().where(owned).values(**values))
    return next(x for x in merchant_listings(ctx, merchant_user_id) if x.id == listing_id)
