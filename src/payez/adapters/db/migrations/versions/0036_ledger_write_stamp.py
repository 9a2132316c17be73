"""A stamp every SQLite ledger write changes, so a connection can trust what it wrote itself.

Reading the accounts a batch names was a fifth of a SQLite batch's time. A connection may keep
the balances it wrote while nobody else wrote since: each batch that moves money sets
``ledger_write_stamp.stamp`` to a fresh random number in its own transaction, and the next batch
compares it, under the write lock, with the one it set (see ``adapters/db/ledger_cache.py``).
Another writer's batch, or the rollback of the connection's own, leaves another value there.
PostgreSQL has the table and leaves it alone: there, accounts are read under their row locks.

Revision ID: 0036_ledger_write_stamp
Revises: 0034_ledger_checks_without_lists
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036_ledger_write_stamp"
down_revision = "0034_ledger_checks_without_lists"  # the ledger's own branch
branch_labels = None
depends_on = None


def upgrade() -> None:
    stamp = op.create_table(
        "ledger_write_stamp",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_write_stamp")),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_write_stamp_one_row")),
    )
    op.bulk_insert(stamp, [{"id": 1, "stamp": 0}])


def downgrade() -> None:
    op.drop_table("ledger_write_stamp")
