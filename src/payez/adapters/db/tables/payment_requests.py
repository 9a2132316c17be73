"""Payment requests (a link and a QR code asking to be paid) and the public profile pages
their owners opted in to.

No table links a payment to a request: the payment's memo carries the request's reference
(``#r<code>``), and a request's payments are read from the owner's received payments
(``adapters/db/payment_requests.py``), so the command-processing hot path writes nothing more.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Cents, Id, Timestamp

payment_requests = sa.Table(
    "payment_requests",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),
    sa.Column("owner_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("amount_cents", Cents),  # NULL: any amount
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason", sa.String(80), nullable=False),
    sa.Column("once", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp),
    sa.Column("cancelled_at", Timestamp),
    sa.CheckConstraint("amount_cents IS NULL OR amount_cents > 0", name="amount_positive"),
    sa.Index("ix_payment_requests_owner", "owner_user_id", "id"),
)

public_profiles = sa.Table(
    "public_profiles",
    metadata,
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True),
    # One of the owner's linked handles, lower case: the page is /@<handle>.
    sa.Column("handle", sa.String(320), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
)
