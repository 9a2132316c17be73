"""The sandbox card processor's own state (customers, saved cards, setups, charges, refunds).

Revision ID: 0004_sandbox_cards
Revises: 0001_base
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_sandbox_cards"
down_revision = "0001_base"
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sandbox_card_customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("default_method_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_card_customers")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_sandbox_card_customers_idempotency_key")
        ),
    )
    op.create_table(
        "sandbox_card_methods",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("behaviour", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=16), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_card_methods")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["sandbox_card_customers.id"],
            name=op.f("fk_sandbox_card_methods_customer_id_sandbox_card_customers"),
        ),
    )
    op.create_table(
        "sandbox_card_setups",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("client_secret", sa.String(length=80), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_card_setups")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["sandbox_card_customers.id"],
            name=op.f("fk_sandbox_card_setups_customer_id_sandbox_card_customers"),
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sandbox_card_setups_idempotency_key")),
    )
    op.create_table(
        "sandbox_card_charges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("method_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_card_charges")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["sandbox_card_customers.id"],
            name=op.f("fk_sandbox_card_charges_customer_id_sandbox_card_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["method_id"],
            ["sandbox_card_methods.id"],
            name=op.f("fk_sandbox_card_charges_method_id_sandbox_card_methods"),
        ),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_sandbox_card_charges_idempotency_key")
        ),
        sa.CheckConstraint(
            "amount_cents > 0", name=op.f("ck_sandbox_card_charges_amount_positive")
        ),
    )
    op.create_index("ix_sandbox_card_charges_created_at", "sandbox_card_charges", ["created_at"])
    op.create_table(
        "sandbox_card_refunds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("charge_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_card_refunds")),
        sa.ForeignKeyConstraint(
            ["charge_id"],
            ["sandbox_card_charges.id"],
            name=op.f("fk_sandbox_card_refunds_charge_id_sandbox_card_charges"),
        ),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_sandbox_card_refunds_idempotency_key")
        ),
        sa.CheckConstraint(
            "amount_cents > 0", name=op.f("ck_sandbox_card_refunds_amount_positive")
        ),
    )
    op.create_index("ix_sandbox_card_refunds_created_at", "sandbox_card_refunds", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_sandbox_card_refunds_created_at", table_name="sandbox_card_refunds")
    op.drop_table("sandbox_card_refunds")
    op.drop_index("ix_sandbox_card_charges_created_at", table_name="sandbox_card_charges")
    op.drop_table("sandbox_card_charges")
    op.drop_table("sandbox_card_setups")
    op.drop_table("sandbox_card_methods")
    op.drop_table("sandbox_card_customers")
