"""Tables of second-factor recovery: the single-use codes, and the fresh set waiting to be shown.

A code is stored only as an HMAC under a key derived from ``PAYEZ_SECRET_KEY``: a copy of the
database alone tells nobody a code. The set just made is kept sealed (AES-GCM) until the user's
next page shows it, once, and at most a few minutes.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),  # hex HMAC-SHA256
    sa.Column("created_at", Timestamp, nullable=False),
    # Set once, by compare-and-set, when the code is spent.
    sa.Column("used_at", Timestamp),
    sa.Index("ix_recovery_codes_user", "user_id"),
)

recovery_code_reveals = sa.Table(
    "recovery_code_reveals",
    metadata,
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True, autoincrement=False
    ),
    sa.Column("codes_sealed", sa.String(512), nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)
