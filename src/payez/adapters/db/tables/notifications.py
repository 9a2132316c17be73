"""Notifications shown in the web app: what a reply would have said when the network's reply
budget could not afford it."""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("network", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    # The outbox message it stands for: one notification per message, whoever writes it.
    sa.Column("source_key", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_notifications_user", "user_id", "id"),
)
