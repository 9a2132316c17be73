"""The sandbox mailbox: emails delivered when no SMTP server is configured.

Revision ID: 0020_sandbox_mail
Revises: 0019_emails
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_sandbox_mail"
down_revision = "0019_emails"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sandbox_mail",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_mail")),
        sa.UniqueConstraint("message_id", name=op.f("uq_sandbox_mail_message_id")),
    )
    op.create_index("ix_sandbox_mail_to_address_id", "sandbox_mail", ["to_address", "id"])


def downgrade() -> None:
    op.drop_index("ix_sandbox_mail_to_address_id", table_name="sandbox_mail")
    op.drop_table("sandbox_mail")
