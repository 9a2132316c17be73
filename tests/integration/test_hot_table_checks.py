"""The tables a post's hot path writes hold no CHECK that SQLite evaluates slowly.

SQLite turns ``x IN (a, b, c)`` into a small temporary table and, inside a CHECK, builds it
again for every row written: the ledger's two mode checks once cost more than the rest of a
transfer's insert. A check on these tables compares with ``=`` instead
(``0034_ledger_checks_without_lists``).
"""

from __future__ import annotations

import re
import sqlite3

from sqlalchemy.engine import make_url

# What deciding a post writes: the listener's row, the decision, the money, the reply.
HOT_TABLES = (
    "inbox",
    "payments",
    "payment_flags",
    "outbox",
    "ledger_accounts",
    "ledger_transfers",
    "ledger_write_stamp",
    "reply_budget_spends",
)
_IN_LIST = re.compile(r"\bIN\s*\(", re.IGNORECASE)


def _definition(sqlite_url: str, table: str) -> str:
    path = make_url(sqlite_url).database
    assert path
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    assert row is not None, table
    return str(row[0])


def test_no_hot_table_checks_a_value_against_a_list(sqlite_url: str) -> None:
    offending = {}
    for table in HOT_TABLES:
        checks = [
            line.strip()
            for line in _definition(sqlite_url, table).splitlines()
            if " CHECK " in line.upper()
        ]
        if found := [c for c in checks if _IN_LIST.search(c)]:
            offending[table] = found
    assert offending == {}


def test_the_ledger_still_checks_every_mode_by_name(sqlite_url: str) -> None:
    checks = _definition(sqlite_url, "ledger_transfers")
    for mode in ("posted", "pending", "post_pending", "void_pending"):
        assert f"mode = '{mode}'" in checks
