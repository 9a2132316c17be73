"""Tables behind the links Payez emails about an account: password resets, and the requests
for such links (counted to rate-limit them).

A reset row keeps only the SHA-256 of the token in the link: a copy of the database resets
nobody's password.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

password_resets = sa.Table(
    "password_resets",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    # Set by the one reset the link allows; a used link is refused.
    sa.Column("used_at", Timestamp),
    sa.Index("ix_password_resets_user", "user_id"),
)

email_link_requests = sa.Table(
    "email_link_requests",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("purpose", sa.String(16), nullable=False),  # verify | reset
    # The address as typed (normalised), whether or not an account has it.
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("requested_at", Timestamp, nullable=False),
    sa.CheckConstraint("purpose IN ('verify', 'reset')", name="purpose_known"),
    sa.Index("ix_email_link_requests_email", "purpose", "email", "requested_at"),
    sa.Index("ix_email_link_requests_ip", "purpose", "ip", "requested_at"),
)
