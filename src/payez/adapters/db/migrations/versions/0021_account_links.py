"""Password reset tokens, and the requests for emailed links (rate limits).

Revision ID: 0021_account_links
Revises: 0019_emails
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_account_links"
down_revision = "0019_emails"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "password_resets",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_resets_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index("ix_password_resets_user", "password_resets", ["user_id"])
    op.create_table(
        "email_link_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('verify', 'reset')",
            name=op.f("ck_email_link_requests_purpose_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_link_requests")),
    )
    op.create_index(
        "ix_email_link_requests_email", "email_link_requests", ["purpose", "email", "requested_at"]
    )
    op.create_index(
        "ix_email_link_requests_ip", "email_link_requests", ["purpose", "ip", "requested_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_email_link_requests_ip", table_name="email_link_requests")
    op.drop_index("ix_email_link_requests_email", table_name="email_link_requests")
    op.drop_table("email_link_requests")
    op.drop_index("ix_password_resets_user", table_name="password_resets")
    op.drop_table("password_resets")
