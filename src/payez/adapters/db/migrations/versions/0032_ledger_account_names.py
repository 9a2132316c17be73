"""Ledger accounts' names in a table of their own, so that balance rows stay narrow.

Every batch of transfers rewrites the rows of the accounts it touches. With the code, the
owner and the creation time in them, a page held about 80 accounts; a batch of 100 transfers
over 10,000 wallets dirtied some 100 account pages, each written to SQLite's WAL at commit.
Without them a page holds about three times as many, and a batch dirties half the pages.
Nothing that moves money reads the names: they move to ``ledger_account_names``, one row per
account, with the same values.

Revision ID: 0032_ledger_account_names
Revises: 0002_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032_ledger_account_names"
down_revision = "0002_ledger"  # the ledger's own branch
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_account_names",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_ledger_account_names"),
        sa.UniqueConstraint("code", name="uq_ledger_account_names_code"),
    )
    op.execute(
        "INSERT INTO ledger_account_names (account_id, code, owner, created_at) "
        "SELECT id, code, owner, created_at FROM ledger_accounts"
    )
    # On SQLite the table is rebuilt (its CHECK constraints with it), which also packs the
    # remaining columns; PostgreSQL drops the columns in place, and each row gets narrow at
    # its next update.
    with op.batch_alter_table("ledger_accounts", recreate="auto") as batch:
        batch.drop_constraint("uq_ledger_accounts_code", type_="unique")
        batch.drop_column("code")
        batch.drop_column("owner")
        batch.drop_column("created_at")


def downgrade() -> None:
    with op.batch_alter_table("ledger_accounts", recreate="auto") as batch:
        batch.add_column(sa.Column("code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
        batch.create_unique_constraint("uq_ledger_accounts_code", ["code"])
    op.execute(
        "UPDATE ledger_accounts SET "
        "code = (SELECT n.code FROM ledger_account_names n "
        "WHERE n.account_id = ledger_accounts.id), "
        "owner = (SELECT n.owner FROM ledger_account_names n "
        "WHERE n.account_id = ledger_accounts.id), "
        "created_at = coalesce((SELECT n.created_at FROM ledger_account_names n "
        "WHERE n.account_id = ledger_accounts.id), created_at)"
    )
    op.drop_table("ledger_account_names")
