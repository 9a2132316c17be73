"""Email notifications, each one switchable by the user.

Revision ID: 0024_email_notifications
Revises: 0019_emails
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_email_notifications"
down_revision = "0019_emails"
branch_labels = None
depends_on = None

SWITCHES = (
    "email_money_received",
    "email_claim_expiring",
    "email_payout_executed",
    "email_confirmation_waiting",
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name in SWITCHES:
            batch.add_column(
                sa.Column(name, sa.Boolean(), server_default=sa.true(), nullable=False)
            )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name in reversed(SWITCHES):
            batch.drop_column(name)
