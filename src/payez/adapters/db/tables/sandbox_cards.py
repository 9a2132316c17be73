"""Tables of the sandbox card processor: its customers, saved cards, setups, charges, refunds.

The sandbox keeps its state in the application database so that saved test cards and charges
awaiting authentication survive a restart of ``make run``, and so that the web process (which
completes authentication) and a worker (which charges) see the same charges.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Cents, Timestamp

sandbox_card_customers = sa.Table(
    "sandbox_card_customers",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("reference", sa.String(128), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("default_method_id", sa.String(40)),
    sa.Column("created_at", Timestamp, nullable=False),
)

sandbox_card_methods = sa.Table(
    "sandbox_card_methods",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "customer_id", sa.String(40), sa.ForeignKey("sandbox_card_customers.id"), nullable=False
    ),
    sa.Column("behaviour", sa.String(32), nullable=False),
    sa.Column("brand", sa.String(16), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

sandbox_card_setups = sa.Table(
    "sandbox_card_setups",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "customer_id", sa.String(40), sa.ForeignKey("sandbox_card_customers.id"), nullable=False
    ),
    sa.Column("client_secret", sa.String(80), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

sandbox_card_charges = sa.Table(
    "sandbox_card_charges",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "customer_id", sa.String(40), sa.ForeignKey("sandbox_card_customers.id"), nullable=False
    ),
    sa.Column("method_id", sa.String(40), sa.ForeignKey("sandbox_card_methods.id"), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("amount_cents", Cents, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("failure_code", sa.String(64)),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    sa.Index("ix_sandbox_card_charges_created_at", "created_at"),
)

sandbox_card_refunds = sa.Table(
    "sandbox_card_refunds",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("charge_id", sa.String(40), sa.ForeignKey("sandbox_card_charges.id"), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("amount_cents", Cents, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    sa.Index("ix_sandbox_card_refunds_created_at", "created_at"),
)
