"""The listings and orders repository: merchants' listing posts, stock, and what was bought."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.payments import listings, orders


@dataclass(frozen=True, slots=True)
class ListingRow:
    id: int
    merchant_user_id: int
    network: str
    post_id: str
    title: str
    price_cents: int
    currency: str
    stock: int


def insert_listing(
    conn: Connection,
    *,
    merchant_user_id: int,
    network: str,
    post_id: str,
    title: str,
    price_cents: int,
    currency: str,
    stock: int,
    now: datetime,
) -> int:
    result = conn.execute(
        listings.insert()
        .values(
            merchant_user_id=merchant_user_id,
            network=network,
            post_id=post_id,
            title=title,
            price_cents=price_cents,
            currency=currency,
            stock=stock,
            created_at=now,
        )
        .returning(listings.c.id)
    )
    return int(result.scalar_one())


def _columns() -> tuple[sa.Column[object], ...]:
    return tuple(c for c in listings.c if c.name != "created_at")


def by_posts(conn: Connection, network: str, post_ids: Iterable[str]) -> dict[str, ListingRow]:
    ids = sorted(set(post_ids))
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(*_columns()).where(listings.c.network == network, listings.c.post_id.in_(ids))
    )
    return {str(r.post_id): ListingRow(**r._mapping) for r in rows}


def get_listing(conn: Connection, listing_id: int) -> ListingRow | None:
    row = conn.execute(sa.select(*_columns()).where(listings.c.id == listing_id)).first()
    return ListingRow(**row._mapping) if row else None


def reserve_one(conn: Connection, listing_id: int) -> bool:
    """Take one unit of stock; False when it is gone. Atomic: never oversold under concurrency."""
    result = conn.execute(
        listings.update()
        .where(listings.c.id == listing_id, listings.c.stock > 0)
        .values(stock=listings.c.stock - 1)
    )
    return result.rowcount == 1


def release_one(conn: Connection, listing_id: int) -> None:
    conn.execute(
        listings.update().where(listings.c.id == listing_id).values(stock=listings.c.stock + 1)
    )


def insert_order(
    conn: Connection,
    *,
    listing_id: int,
    payment_id: int,
    buyer_user_id: int,
    merchant_user_id: int,
    amount_cents: int,
    now: datetime,
) -> int:
    result = conn.execute(
        orders.insert()
        .values(
            listing_id=listing_id,
            payment_id=payment_id,
            buyer_user_id=buyer_user_id,
            merchant_user_id=merchant_user_id,
            amount_cents=amount_cents,
            state="paid",
            created_at=now,
        )
        .returning(orders.c.id)
    )
    return int(result.scalar_one())
