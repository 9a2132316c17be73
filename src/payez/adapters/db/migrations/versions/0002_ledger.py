"""The double-entry ledger: accounts with running balances, transfers, system accounts.

Revision ID: 0002_ledger
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger"
down_revision = "0001_base"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# code -> may the balance go below zero? Boundary accounts mirror money outside the ledger.
SYSTEM_ACCOUNTS = {
    "card_funding": True,
    "payouts": True,
    "claims_held": False,
    "refunds": False,
}


def upgrade() -> None:
    accounts = op.create_table(
        "ledger_accounts",
        sa.Column("id", Id, sa.Identity(), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("no_overdraft", sa.Boolean(), nullable=False),
        sa.Column("posted", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("pending_out", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("pending_in", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
        sa.UniqueConstraint("code", name="uq_ledger_accounts_code"),
        sa.CheckConstraint(
            "NOT no_overdraft OR posted - pending_out >= 0",
            name="ck_ledger_accounts_no_overdraft",
        ),
        sa.CheckConstraint(
            "pending_out >= 0 AND pending_in >= 0", name="ck_ledger_accounts_pending_not_negative"
        ),
        sa.CheckConstraint("length(currency) = 3", name="ck_ledger_accounts_currency_code"),
        postgresql_with={"fillfactor": 50},
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("id", Id, sa.Identity(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("debit_account_id", Id, nullable=False),
        sa.Column("credit_account_id", Id, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("pending_key", sa.String(200), nullable=True),
        sa.Column("memo", sa.String(500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_transfers"),
        sa.UniqueConstraint("key", name="uq_ledger_transfers_key"),
        sa.ForeignKeyConstraint(
            ["pending_key"],
            ["ledger_transfers.key"],
            name="fk_ledger_transfers_pending_key_ledger_transfers",
        ),
        sa.CheckConstraint("amount > 0", name="ck_ledger_transfers_amount_positive"),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name="ck_ledger_transfers_two_accounts"
        ),
        sa.CheckConstraint(
            "mode IN ('posted', 'pending', 'post_pending', 'void_pending')",
            name="ck_ledger_transfers_mode_known",
        ),
        sa.CheckConstraint(
            "(mode IN ('post_pending', 'void_pending')) = (pending_key IS NOT NULL)",
            name="ck_ledger_transfers_pending_key_iff_resolving",
        ),
    )
    # A pending transfer is resolved at most once; transfers resolving nothing stay out.
    op.create_index(
        "uq_ledger_transfers_pending_key",
        "ledger_transfers",
        ["pending_key"],
        unique=True,
        sqlite_where=sa.text("pending_key IS NOT NULL"),
        postgresql_where=sa.text("pending_key IS NOT NULL"),
    )
    op.bulk_insert(
        accounts,
        [
            {"code": code, "currency": "EUR", "no_overdraft": not overdraft}
            for code, overdraft in SYSTEM_ACCOUNTS.items()
        ],
    )


def downgrade() -> None:
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
