"""The email outbox: every email Payez sends, written in the transaction that decides to send
it and delivered afterwards by the worker, once.

A row keeps the rendered subject and text (in the recipient's language) so that what is sent
is what was decided, even if the wording changes between the decision and the delivery.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

emails = sa.Table(
    "emails",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    # What the email is about (verify_email, password_reset, money_received...): for tests,
    # the sandbox mailbox and the data export; never used to build the text.
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id")),
    sa.Column("to_address", sa.String(254), nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    # Queuing the same key twice queues one email: a retried decision does not send twice.
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("sent_at", Timestamp),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state_known"),
    sa.Index("ix_emails_due", "state", "next_attempt_at"),
    sa.Index("ix_emails_user", "user_id"),
)
