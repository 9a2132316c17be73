"""Tables of associations and their donors: campaigns, tax receipts and their numbering.

A tax receipt keeps a copy of every field it prints (names, addresses, amount), so a receipt
downloaded again years later reads exactly as the first time, whatever changed since.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Cents, Id, Timestamp

association_profiles = sa.Table(
    "association_profiles",
    metadata,
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("address", sa.String(300), nullable=False),
    sa.Column("object", sa.String(300), nullable=False),  # the association's purpose
    sa.Column("updated_at", Timestamp, nullable=False),
)

donor_profiles = sa.Table(
    "donor_profiles",
    metadata,
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("address", sa.String(300)),
    # Opt-in: a donor's name appears on campaign pages only when they chose it.
    sa.Column("show_name", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", Timestamp, nullable=False),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("association_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("goal_cents", Cents, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("goal_cents > 0", name="goal_positive"),
    sa.Index("ix_campaigns_association", "association_user_id"),
)

receipt_counters = sa.Table(
    "receipt_counters",
    metadata,
    sa.Column("association_user_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("last_number", sa.Integer, nullable=False),
)

tax_receipts = sa.Table(
    "tax_receipts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("association_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("donor_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("amount_cents", Cents, nullable=False),
    sa.Column("donation_dates", sa.Text, nullable=False),  # ISO dates, comma-separated
    sa.Column("association_name", sa.String(120), nullable=False),
    sa.Column("association_address", sa.String(300), nullable=False),
    sa.Column("association_object", sa.String(300), nullable=False),
    sa.Column("association_legal_id", sa.String(32), nullable=False),
    sa.Column("donor_name", sa.String(120), nullable=False),
    sa.Column("donor_address", sa.String(300), nullable=False),
    sa.Column("tax_article", sa.String(16), nullable=False),  # "200" or "238 bis"
    sa.Column("issued_at", Timestamp, nullable=False),
    sa.UniqueConstraint("association_user_id", "number"),
    sa.UniqueConstraint("association_user_id", "donor_user_id", "year"),
    sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    sa.Index("ix_tax_receipts_donor", "donor_user_id"),
)

tax_receipt_payments = sa.Table(
    "tax_receipt_payments",
    metadata,
    sa.Column("receipt_id", sa.BigInteger, sa.ForeignKey("tax_receipts.id"), nullable=False),
    # A donation is acknowledged by one receipt, never two.
    sa.Column("payment_id", sa.BigInteger, sa.ForeignKey("payments.id"), primary_key=True),
    sa.Index("ix_tax_receipt_payments_receipt", "receipt_id"),
)
