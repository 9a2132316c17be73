"""The time zone a user reads times in (an IANA name; Paris by default).

Revision ID: 0016_user_time_zone
Revises: 0006_payments
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_user_time_zone"
down_revision = "0006_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("time_zone", sa.String(64), server_default="Europe/Paris", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("time_zone")
