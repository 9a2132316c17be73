"""The sandbox mailbox's table: every email the service "sent" when no SMTP server is set.

It mirrors migration ``0020_sandbox_mail``.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

mail = sa.Table(
    "sandbox_mail",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    # A resend after a crash carries the same Message-ID: the mailbox keeps one copy, as a
    # careful receiving server would.
    sa.Column("message_id", sa.String(255), nullable=False, unique=True),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("to_address", sa.String(254), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("sent_at", Timestamp, nullable=False),
    sa.Index("ix_sandbox_mail_to_address_id", "to_address", "id"),
)
