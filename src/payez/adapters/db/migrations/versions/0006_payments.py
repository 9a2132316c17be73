"""The pay-by-post pipeline: users, linked accounts, inbox, payments, outbox, listings, orders.

Revision ID: 0006_payments
Revises: 0001_base
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_payments"
down_revision = "0001_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("original_id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.String(length=512), nullable=False),
        sa.Column("author_handle", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_reply_to_id", sa.String(length=64), nullable=True),
        sa.Column("recipient_account_id", sa.String(length=512), nullable=True),
        sa.Column("is_repost", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_quote", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("visibility", sa.String(length=16), server_default="public", nullable=False),
        sa.Column("edited", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("processed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("network", "original_id", name=op.f("uq_inbox_network_original_id")),
    )
    op.create_index("ix_inbox_unprocessed", "inbox", ["processed", "id"], unique=False)
    op.create_table(
        "network_cursors",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_network_cursors")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("in_reply_to", sa.String(length=64), nullable=True),
        sa.Column("recipient_account_id", sa.String(length=512), nullable=True),
        sa.Column("recipient_handle", sa.String(length=320), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"], unique=False)
    op.create_table(
        "users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("language", sa.String(length=2), server_default="fr", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("identity_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("organisation_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("legal_id", sa.String(length=32), nullable=True),
        sa.Column("wallet_account_id", sa.BigInteger(), nullable=False),
        sa.Column("hide_amount", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("card_customer_id", sa.String(length=64), nullable=True),
        sa.Column("last_confirmation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("wallet_account_id", name=op.f("uq_users_wallet_account_id")),
    )
    op.create_table(
        "listings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_user_id", sa.BigInteger(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_listings_price_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_listings_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["merchant_user_id"], ["users.id"], name=op.f("fk_listings_merchant_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
        sa.UniqueConstraint("network", "post_id", name=op.f("uq_listings_network_post_id")),
    )
    op.create_table(
        "payments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("inbox_id", sa.BigInteger(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=48), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("sender_user_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_user_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_account_id", sa.String(length=512), nullable=True),
        sa.Column("recipient_handle", sa.String(length=320), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("listing_id", sa.BigInteger(), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_token", sa.String(length=64), nullable=True),
        sa.Column("confirm_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_reason", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_cents IS NULL OR amount_cents > 0", name=op.f("ck_payments_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inbox.id"], name=op.f("fk_payments_inbox_id_inbox")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"], ["users.id"], name=op.f("fk_payments_recipient_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["sender_user_id"], ["users.id"], name=op.f("fk_payments_sender_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("claim_token", name=op.f("uq_payments_claim_token")),
        sa.UniqueConstraint("confirm_token", name=op.f("uq_payments_confirm_token")),
        sa.UniqueConstraint("inbox_id", name=op.f("uq_payments_inbox_id")),
    )
    op.create_index(
        "ix_payments_recipient_account",
        "payments",
        ["network", "recipient_account_id"],
        unique=False,
    )
    op.create_index(
        "ix_payments_sender_created", "payments", ["sender_user_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_payments_state_claim", "payments", ["state", "claim_expires_at"], unique=False
    )
    op.create_table(
        "social_links",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=512), nullable=False),
        sa.Column("handle", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_social_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_links")),
        sa.UniqueConstraint(
            "network", "account_id", name=op.f("uq_social_links_network_account_id")
        ),
    )
    op.create_index("ix_social_links_user", "social_links", ["user_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("listing_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("buyer_user_id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["buyer_user_id"], ["users.id"], name=op.f("fk_orders_buyer_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_orders_listing_id_listings")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_user_id"], ["users.id"], name=op.f("fk_orders_merchant_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_orders_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_orders_payment_id")),
    )
    op.create_index(
        "ix_orders_merchant", "orders", ["merchant_user_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_orders_merchant", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_social_links_user", table_name="social_links")
    op.drop_table("social_links")
    op.drop_index("ix_payments_state_claim", table_name="payments")
    op.drop_index("ix_payments_sender_created", table_name="payments")
    op.drop_index("ix_payments_recipient_account", table_name="payments")
    op.drop_table("payments")
    op.drop_table("listings")
    op.drop_table("users")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("network_cursors")
    op.drop_index("ix_inbox_unprocessed", table_name="inbox")
    op.drop_table("inbox")
