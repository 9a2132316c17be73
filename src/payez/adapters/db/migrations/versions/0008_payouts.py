"""SEPA payouts and their exported batches.

Revision ID: 0008_payouts
Revises: 0006_payments
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_payouts"
down_revision = "0006_payments"
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payout_batches",
        sa.Column("id", sa.String(length=35), nullable=False),
        sa.Column("payout_count", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("executed_at", _TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batches")),
        sa.CheckConstraint(
            "payout_count > 0 AND total_cents > 0", name=op.f("ck_payout_batches_not_empty")
        ),
    )
    op.create_table(
        "payouts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("creditor_name", sa.String(length=140), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.String(length=35), nullable=True),
        sa.Column("reject_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payouts_user_id_users")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["payout_batches.id"], name=op.f("fk_payouts_batch_id_payout_batches")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payouts_amount_positive")),
        sa.CheckConstraint(
            "state IN ('requested', 'exported', 'executed', 'rejected')",
            name=op.f("ck_payouts_state_known"),
        ),
        sa.CheckConstraint(
            "(state <> 'requested' OR batch_id IS NULL) "
            "AND (state NOT IN ('exported', 'executed') OR batch_id IS NOT NULL)",
            name=op.f("ck_payouts_batch_matches_state"),
        ),
    )
    op.create_index("ix_payouts_state_id", "payouts", ["state", "id"], unique=False)
    op.create_index("ix_payouts_batch_id", "payouts", ["batch_id"], unique=False)
    op.create_index("ix_payouts_user_id", "payouts", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_payouts_user_id", table_name="payouts")
    op.drop_index("ix_payouts_batch_id", table_name="payouts")
    op.drop_index("ix_payouts_state_id", table_name="payouts")
    op.drop_table("payouts")
    op.drop_table("payout_batches")
