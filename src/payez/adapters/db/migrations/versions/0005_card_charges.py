"""Card charge attempts (exactly-once charges) and processed processor webhooks.

Revision ID: 0005_card_charges
Revises: 0001_base
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_card_charges"
down_revision = "0001_base"
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "card_charges",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("processor", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("processor_charge_id", sa.String(length=64), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_until", _TIMESTAMP, nullable=True),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_charges")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_card_charges_idempotency_key")),
        sa.UniqueConstraint(
            "processor_charge_id", name=op.f("uq_card_charges_processor_charge_id")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_card_charges_amount_positive")),
        sa.CheckConstraint(
            "status IN ('pending', 'requires_action', 'succeeded', 'failed')",
            name=op.f("ck_card_charges_status_known"),
        ),
    )
    op.create_table(
        "processed_webhooks",
        sa.Column("processor", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("processed_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("processor", "event_id", name=op.f("pk_processed_webhooks")),
    )


def downgrade() -> None:
    op.drop_table("processed_webhooks")
    op.drop_table("card_charges")
