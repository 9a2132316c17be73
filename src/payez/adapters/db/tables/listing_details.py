"""What a merchant writes for a listing on the web app before and after it is posted.

A detail row exists from the moment the merchant fills the form; it points to its ``listings``
row once the listing post is known (published through the outbox as the merchant, or posted
by the merchant and pasted back). The picture is kept in the database, checked and
size-limited on the way in.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Cents, Id, Timestamp

listing_details = sa.Table(
    "listing_details",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("price_cents", Cents, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("picture_type", sa.String(32)),
    sa.Column("picture", sa.LargeBinary),
    sa.Column("listing_id", sa.BigInteger, sa.ForeignKey("listings.id"), unique=True),
    # The idempotency key of the outbox message that publishes it in one click, once asked.
    sa.Column("publish_key", sa.String(128), unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("price_cents > 0", name="price_positive"),
    sa.CheckConstraint("stock > 0", name="stock_positive"),
    sa.Index("ix_listing_details_merchant", "merchant_user_id"),
)
