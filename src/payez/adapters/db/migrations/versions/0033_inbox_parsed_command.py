"""The command the listener read in a post, kept with it: the processor does not parse it again.

``parsed_command`` is the compact JSON form of ``domain/stored_commands.py``; ``parsed_grammar``
the grammar version and service handle it was read with. Rows recorded before this revision
have neither and are parsed by the processor, as they always were.

The payments of a sender are indexed with every column the senders' history reads, so that the
processor's query of a batch is answered from the index alone. On a large PostgreSQL table,
build it beforehand with ``CREATE INDEX CONCURRENTLY`` under another name and swap them: a plain
build blocks the table's writes while it runs.

Revision ID: 0033_inbox_parsed_command
Revises: 0031_payments_by_recipient
"""

import sqlalchemy as sa
from alembic import op

revision = "0033_inbox_parsed_command"
down_revision = "0031_payments_by_recipient"
branch_labels = None
depends_on = None


_SENDER_INDEX = "ix_payments_sender_created"
_HISTORY_COLUMNS = [
    "sender_user_id",
    "created_at",
    "state",
    "amount_cents",
    "confirm_reason",
    "recipient_user_id",
    "recipient_account_id",
]


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("parsed_command", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parsed_grammar", sa.String(length=400), nullable=True))
    op.drop_index(_SENDER_INDEX, table_name="payments")
    op.create_index(_SENDER_INDEX, "payments", _HISTORY_COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index(_SENDER_INDEX, table_name="payments")
    op.create_index(_SENDER_INDEX, "payments", ["sender_user_id", "created_at"], unique=False)
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("parsed_grammar")
        batch.drop_column("parsed_command")
