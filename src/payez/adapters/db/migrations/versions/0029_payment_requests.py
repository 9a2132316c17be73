"""Payment requests (a link and a QR code asking to be paid) and opt-in public profile pages.

Revision ID: 0029_payment_requests
Revises: 0019_emails
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_payment_requests"
down_revision = "0019_emails"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("owner_user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("once", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "amount_cents IS NULL OR amount_cents > 0",
            name=op.f("ck_payment_requests_amount_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_payment_requests_owner_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_requests")),
        sa.UniqueConstraint("code", name=op.f("uq_payment_requests_code")),
    )
    op.create_index(
        "ix_payment_requests_owner", "payment_requests", ["owner_user_id", "id"], unique=False
    )
    op.create_table(
        "public_profiles",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("handle", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_public_profiles_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_public_profiles")),
        sa.UniqueConstraint("handle", name=op.f("uq_public_profiles_handle")),
    )


def downgrade() -> None:
    op.drop_table("public_profiles")
    op.drop_index("ix_payment_requests_owner", table_name="payment_requests")
    op.drop_table("payment_requests")
