"""Payments found by their recipient without reading the whole table.

A member's history, balance chart, live dashboard, requests, campaign totals and tax receipts
all ask for the payments a user received; without this index each of those pages read every
payment ever made.

Revision ID: 0031_payments_by_recipient
Revises: 0030
"""

from alembic import op

revision = "0031_payments_by_recipient"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_payments_recipient_created",
        "payments",
        ["recipient_user_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_payments_recipient_created", table_name="payments")
