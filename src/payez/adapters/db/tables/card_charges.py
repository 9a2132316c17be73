"""Our own record of every card charge attempt, and of every processor webhook applied.

``card_charges`` makes a charge exactly-once without relying on the processor's idempotency:
the row is committed before the processor is called. ``processed_webhooks`` makes a webhook
act once however many times it is delivered.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Cents, Id, Timestamp

card_charges = sa.Table(
    "card_charges",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("processor", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("amount_cents", Cents, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    # pending (outcome unknown) | requires_action | succeeded | failed
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("processor_charge_id", sa.String(64), unique=True),
    sa.Column("failure_code", sa.String(64)),
    # Processor calls started: above zero, a pending row may already have charged the card.
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # While set and in the future, one caller is talking to the processor for this row.
    sa.Column("claimed_until", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    sa.CheckConstraint(
        "status IN ('pending', 'requires_action', 'succeeded', 'failed')", name="status_known"
    ),
)

processed_webhooks = sa.Table(
    "processed_webhooks",
    metadata,
    sa.Column("processor", sa.String(16), primary_key=True),
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("object_id", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("processed_at", Timestamp, nullable=False),
)
