"""Account closure: when a user closed their account (its profile is pseudonymised then).

Revision ID: 0023_account_closure
Revises: 0019_emails
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_account_closure"
down_revision = "0019_emails"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("closed_at")
