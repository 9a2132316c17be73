"""SEPA payouts: one row per cash-out request, and one row per exported pain.001 batch.

Must match migration ``0008_payouts``. The money of a payout is held in the ledger by a pending
transfer keyed on the payout's id (see ``payez.adapters.db.payouts.hold_key``); the row's state
says what became of that hold, and the database refuses a state with no batch where one is due.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Cents, Id, Timestamp

payout_batches = sa.Table(
    "payout_batches",
    metadata,
    # The pain.001 message id: the bank refuses a second file carrying the same one.
    sa.Column("id", sa.String(35), primary_key=True),
    sa.Column("payout_count", sa.Integer, nullable=False),
    sa.Column("total_cents", Cents, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("execution_date", sa.Date, nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("executed_at", Timestamp),
    sa.CheckConstraint("payout_count > 0 AND total_cents > 0", name="not_empty"),
)

payouts = sa.Table(
    "payouts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("amount_cents", Cents, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("iban", sa.String(34), nullable=False),  # compact form, checked with schwifty
    sa.Column("creditor_name", sa.String(140), nullable=False),
    # requested -> exported -> executed | rejected (a requested payout may be rejected too)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("batch_id", sa.String(35), sa.ForeignKey("payout_batches.id")),
    sa.Column("reject_reason", sa.String(500)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    sa.CheckConstraint(
        "state IN ('requested', 'exported', 'executed', 'rejected')", name="state_known"
    ),
    sa.CheckConstraint(
        "(state <> 'requested' OR batch_id IS NULL) "
        "AND (state NOT IN ('exported', 'executed') OR batch_id IS NOT NULL)",
        name="batch_matches_state",
    ),
    sa.Index("ix_payouts_state_id", "state", "id"),
    sa.Index("ix_payouts_batch_id", "batch_id"),
    sa.Index("ix_payouts_user_id", "user_id"),
)
