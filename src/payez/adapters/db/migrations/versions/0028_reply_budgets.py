"""Reply budgets: what each outbox message says and whom it is for, the points spent of each
network's budget, and the in-app notifications that stand for acknowledgements not posted.

Revision ID: 0028_reply_budgets
Revises: 0019_emails
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_reply_budgets"
down_revision = "0019_emails"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("user_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "reply_budget_spends",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_budget_spends")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_reply_budget_spends_outbox_id")),
    )
    op.create_index(
        "ix_reply_budget_spends_network",
        "reply_budget_spends",
        ["network", "spent_at"],
        unique=False,
    )
    op.create_table(
        "notifications",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("source_key", name=op.f("uq_notifications_source_key")),
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notifications_user", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_reply_budget_spends_network", table_name="reply_budget_spends")
    op.drop_table("reply_budget_spends")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("user_id")
        batch.drop_column("outcome")
