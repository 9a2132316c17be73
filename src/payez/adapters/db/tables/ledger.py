"""The ledger tables: accounts with their running balances, their names, and the append-only
transfers.

Must match migrations ``0002_ledger``, ``0032_ledger_account_names``,
``0034_ledger_checks_without_lists`` and ``0036_ledger_write_stamp``. Balances are ``credits -
debits`` in integer cents of the account's currency; the database refuses a no-overdraft
account whose available balance (``posted - pending_out``) would go below zero, whatever code
writes to it.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Timestamp

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Only what a transfer reads or writes: every batch rewrites the rows of the accounts it
# touches, and the narrower they are, the fewer pages it dirties (on SQLite each dirty page is
# written to the WAL at commit). An account's names live in ``ledger_account_names``.
ledger_accounts = sa.Table(
    "ledger_accounts",
    metadata,
    sa.Column("id", Id, sa.Identity(), primary_key=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("no_overdraft", sa.Boolean(), nullable=False),
    sa.Column("posted", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("pending_out", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("pending_in", sa.BigInteger(), nullable=False, server_default="0"),
    sa.CheckConstraint("NOT no_overdraft OR posted - pending_out >= 0", name="no_overdraft"),
    sa.CheckConstraint("pending_out >= 0 AND pending_in >= 0", name="pending_not_negative"),
    sa.CheckConstraint("length(currency) = 3", name="currency_code"),
    # Room on each page for the new row version: balance updates stay heap-only (HOT), with
    # no index to touch.
    postgresql_with={"fillfactor": 50},
)

# One row per account, written when it is opened and (the owner) when its user is
# pseudonymised; transfers never touch it. No foreign key, as for the transfers: the ledger
# writes both rows in one transaction, accounts are never deleted, and ``check_ledger``
# reports an account without its names.
ledger_account_names = sa.Table(
    "ledger_account_names",
    metadata,
    sa.Column("account_id", Id, primary_key=True, autoincrement=False),
    # System accounts have a code ("card_funding", ...); user wallets have an owner instead.
    sa.Column("code", sa.String(64), nullable=True, unique=True),
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Column(
        "created_at",
        Timestamp,
        nullable=False,
        server_default=sa.text("CURRENT_TIMESTAMP"),
    ),
)

ledger_transfers = sa.Table(
    "ledger_transfers",
    metadata,
    sa.Column("id", Id, sa.Identity(), primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    # No foreign keys to the accounts: on PostgreSQL their checks cost two thirds of a batch
    # insert. The ledger only writes a transfer between accounts it has just read under lock,
    # accounts are never deleted, and ``check_ledger`` reports any transfer naming a missing one.
    sa.Column("debit_account_id", Id, nullable=False),
    sa.Column("credit_account_id", Id, nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("pending_key", sa.String(200), sa.ForeignKey("ledger_transfers.key"), nullable=True),
    sa.Column("memo", sa.String(500), nullable=True),
    sa.Column(
        "created_at",
        Timestamp,
        nullable=False,
        server_default=sa.text("CURRENT_TIMESTAMP"),
    ),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
    # ``=`` rather than ``IN (...)``: SQLite rebuilds a temporary table for an IN list of more
    # than two values on every row it checks (migration 0034_ledger_checks_without_lists).
    sa.CheckConstraint(
        "mode = 'posted' OR mode = 'pending' OR mode = 'post_pending' OR mode = 'void_pending'",
        name="mode_known",
    ),
    sa.CheckConstraint(
        "(mode = 'post_pending' OR mode = 'void_pending') = (pending_key IS NOT NULL)",
        name="pending_key_iff_resolving",
    ),
    # A pending transfer is posted or voided at most once, enforced by the database. Partial:
    # the many transfers that resolve nothing stay out of the index.
    sa.Index(
        "uq_ledger_transfers_pending_key",
        "pending_key",
        unique=True,
        sqlite_where=sa.text("pending_key IS NOT NULL"),
        postgresql_where=sa.text("pending_key IS NOT NULL"),
    ),
)

# One row, set to a fresh random number by every SQLite batch that moves money: a connection
# whose last stamp is still there knows nobody changed a balance behind it
# (``adapters/db/ledger_cache.py``). PostgreSQL leaves it alone.
ledger_write_stamp = sa.Table(
    "ledger_write_stamp",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("stamp", sa.BigInteger(), nullable=False),
    sa.CheckConstraint("id = 1", name="one_row"),
)
