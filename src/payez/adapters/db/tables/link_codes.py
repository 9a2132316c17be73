"""The codes a logged-in user posts from a social account to link it (``@payez lier CODE``).

A row keeps only the SHA-256 of the code: a copy of the database links nobody's account. A code
serves once (``used_at`` is set by compare-and-set) and only until ``expires_at``.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

link_codes = sa.Table(
    "link_codes",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),  # hex SHA-256
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("used_at", Timestamp),
    sa.Index("ix_link_codes_user", "user_id"),
)
