"""What the service account spent of each network's reply budget, one row per message sent."""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

reply_budget_spends = sa.Table(
    "reply_budget_spends",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("network", sa.String(16), nullable=False),
    # The message the points went to: a message retried after a crash spends them once.
    sa.Column("outbox_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("cost", sa.Integer, nullable=False),
    sa.Column("spent_at", Timestamp, nullable=False),
    sa.Index("ix_reply_budget_spends_network", "network", "spent_at"),
)
