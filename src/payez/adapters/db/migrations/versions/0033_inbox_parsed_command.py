"""The command the listener read in a post, kept with it: the processor does not parse it again.

``parsed_command`` is the compact JSON form of ``domain/stored_commands.py``; ``parsed_grammar``
the grammar version and service handle it was read with. Rows recorded before this revision
have neither and are parsed by the processor, as they always were.

Revision ID: 0033_inbox_parsed_command
Revises: 0031_payments_by_recipient
"""

import sqlalchemy as sa
from alembic import op

revision = "0033_inbox_parsed_command"
down_revision = "0031_payments_by_recipient"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("parsed_command", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parsed_grammar", sa.String(length=400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("parsed_grammar")
        batch.drop_column("parsed_command")
