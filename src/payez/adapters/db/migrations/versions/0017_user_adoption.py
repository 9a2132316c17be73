"""Adoption: a login-less account (opened by a claim) handed over to the person who proved it.

Revision ID: 0017_user_adoption
Revises: 0013_notifications
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_user_adoption"
down_revision = "0013_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("adopted_by_user_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key(
            "fk_users_adopted_by_user_id", "users", ["adopted_by_user_id"], ["id"]
        )
    op.create_index("ix_users_adopted_by", "users", ["adopted_by_user_id"])


def downgrade() -> None:
    op.drop_index("ix_users_adopted_by", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_adopted_by_user_id", type_="foreignkey")
        batch.drop_column("adopted_by_user_id")
