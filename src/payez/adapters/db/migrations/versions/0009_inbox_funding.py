"""Card funding of a short sender's command: the inbox row waits for the charge.

Revision ID: 0009_inbox_funding
Revises: 0006_payments
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_inbox_funding"
down_revision = "0006_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("funding", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("funding_cents", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("funding_cents")
        batch.drop_column("funding")
