"""Tables of the back-office: operator roles, flagged payments, and the audit log.

Must match migrations ``0012_backoffice`` and ``0035_flag_state_check``. The audit log is
append-only: the code only ever inserts into it, and on PostgreSQL a trigger refuses UPDATE,
DELETE and TRUNCATE. Each entry carries the hash of the one before it, so a change made behind
the code's back shows up in ``payez audit verify``.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

operators = sa.Table(
    "operators",
    metadata,
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # operator | admin
    sa.Column("granted_at", Timestamp, nullable=False),
    # None when granted from the command line (the first operator has nobody to grant it).
    sa.Column("granted_by", sa.BigInteger, sa.ForeignKey("users.id")),
    sa.CheckConstraint("role IN ('operator', 'admin')", name="role_known"),
)

payment_flags = sa.Table(
    "payment_flags",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("payment_id", sa.BigInteger, sa.ForeignKey("payments.id"), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("detail", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="open"),
    sa.Column("reviewer_user_id", sa.BigInteger, sa.ForeignKey("users.id")),
    sa.Column("note", sa.String(500)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("reviewed_at", Timestamp),
    sa.UniqueConstraint("payment_id", "rule"),
    # ``=`` rather than ``IN (...)``, which SQLite rebuilds as a temporary table for every row
    # it checks (migration 0035_flag_state_check).
    sa.CheckConstraint(
        "state = 'open' OR state = 'cleared' OR state = 'confirmed'", name="state_known"
    ),
    sa.CheckConstraint("(state = 'open') = (reviewer_user_id IS NULL)", name="reviewed_iff_closed"),
    sa.Index("ix_payment_flags_state_id", "state", "id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    # The chain's position, given by the writer under a lock (not a sequence): the hash covers
    # it, so a renumbered or reordered entry breaks the chain.
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("operator_user_id", sa.BigInteger, sa.ForeignKey("users.id")),
    sa.Column("action", sa.String(48), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # One successor per entry: two writers racing past the lock cannot fork the chain.
    sa.UniqueConstraint("prev_hash"),
    sa.UniqueConstraint("hash"),
)
