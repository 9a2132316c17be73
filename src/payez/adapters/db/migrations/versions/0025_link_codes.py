"""Link codes: a social account linked by posting a one-time code from it.

Revision ID: 0025_link_codes
Revises: 0019_emails
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_link_codes"
down_revision = "0019_emails"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "link_codes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_link_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_link_codes_code_hash")),
    )
    op.create_index("ix_link_codes_user", "link_codes", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_link_codes_user", table_name="link_codes")
    op.drop_table("link_codes")
