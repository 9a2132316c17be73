"""Associations and merchants on the web app: profiles, campaigns, tax receipts, listing details.

Revision ID: 0011_campaigns
Revises: 0006_payments
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_campaigns"
down_revision = "0006_payments"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"))


def upgrade() -> None:
    op.create_table(
        "association_profiles",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("object", sa.String(length=300), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("association_profiles", "user_id"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_association_profiles")),
    )
    op.create_table(
        "donor_profiles",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("show_name", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("donor_profiles", "user_id"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_donor_profiles")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("association_user_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("goal_cents", sa.BigInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("goal_cents > 0", name=op.f("ck_campaigns_goal_positive")),
        _user_fk("campaigns", "association_user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_association", "campaigns", ["association_user_id"], unique=False)
    op.create_table(
        "receipt_counters",
        sa.Column("association_user_id", sa.BigInteger(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        _user_fk("receipt_counters", "association_user_id"),
        sa.PrimaryKeyConstraint("association_user_id", name=op.f("pk_receipt_counters")),
    )
    op.create_table(
        "tax_receipts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("association_user_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("donor_user_id", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("donation_dates", sa.Text(), nullable=False),
        sa.Column("association_name", sa.String(length=120), nullable=False),
        sa.Column("association_address", sa.String(length=300), nullable=False),
        sa.Column("association_object", sa.String(length=300), nullable=False),
        sa.Column("association_legal_id", sa.String(length=32), nullable=False),
        sa.Column("donor_name", sa.String(length=120), nullable=False),
        sa.Column("donor_address", sa.String(length=300), nullable=False),
        sa.Column("tax_article", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_tax_receipts_amount_positive")),
        _user_fk("tax_receipts", "association_user_id"),
        _user_fk("tax_receipts", "donor_user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_receipts")),
        sa.UniqueConstraint(
            "association_user_id", "number", name=op.f("uq_tax_receipts_association_user_id_number")
        ),
        sa.UniqueConstraint(
            "association_user_id",
            "donor_user_id",
            "year",
            name=op.f("uq_tax_receipts_association_user_id_donor_user_id_year"),
        ),
    )
    op.create_index("ix_tax_receipts_donor", "tax_receipts", ["donor_user_id"], unique=False)
    op.create_table(
        "tax_receipt_payments",
        sa.Column("receipt_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["tax_receipts.id"],
            name=op.f("fk_tax_receipt_payments_receipt_id_tax_receipts"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_tax_receipt_payments_payment_id_payments"),
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_tax_receipt_payments")),
    )
    op.create_index(
        "ix_tax_receipt_payments_receipt", "tax_receipt_payments", ["receipt_id"], unique=False
    )
    op.create_table(
        "listing_details",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_user_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("picture_type", sa.String(length=32), nullable=True),
        sa.Column("picture", sa.LargeBinary(), nullable=True),
        sa.Column("listing_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_listing_details_price_positive")),
        sa.CheckConstraint("stock > 0", name=op.f("ck_listing_details_stock_positive")),
        _user_fk("listing_details", "merchant_user_id"),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_listing_details_listing_id_listings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_details")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_listing_details_listing_id")),
    )
    op.create_index(
        "ix_listing_details_merchant", "listing_details", ["merchant_user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_listing_details_merchant", table_name="listing_details")
    op.drop_table("listing_details")
    op.drop_index("ix_tax_receipt_payments_receipt", table_name="tax_receipt_payments")
    op.drop_table("tax_receipt_payments")
    op.drop_index("ix_tax_receipts_donor", table_name="tax_receipts")
    op.drop_table("tax_receipts")
    op.drop_table("receipt_counters")
    op.drop_index("ix_campaigns_association", table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_table("donor_profiles")
    op.drop_table("association_profiles")
