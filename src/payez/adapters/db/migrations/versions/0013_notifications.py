"""Notification choices: a private message when money reaches the user.

Revision ID: 0013_notifications
Revises: 0006_payments
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_notifications"
down_revision = "0006_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("notify_received", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notify_received")
