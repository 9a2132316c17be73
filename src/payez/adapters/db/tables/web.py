"""Tables of the web app: login sessions, login attempts, identity checks and saved cards.

A session row stores only the SHA-256 of the session id the browser holds, so a copy of the
database does not let anyone log in as a user.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_seen_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Index("ix_web_sessions_user", "user_id"),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Column("attempted_at", Timestamp, nullable=False),
    sa.Index("ix_login_attempts_email", "email", "attempted_at"),
    sa.Index("ix_login_attempts_ip", "ip", "attempted_at"),
)

identity_checks = sa.Table(
    "identity_checks",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("verifier", sa.String(32), nullable=False),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # passed | failed
    sa.Column("reason", sa.String(48)),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("outcome IN ('passed', 'failed')", name="outcome_known"),
    sa.Index("ix_identity_checks_user", "user_id"),
)

user_cards = sa.Table(
    "user_cards",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("processor", sa.String(16), nullable=False),
    sa.Column("payment_method_id", sa.String(64), nullable=False),
    sa.Column("brand", sa.String(24), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_user_cards_user", "user_id"),
)
