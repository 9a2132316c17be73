"""The transfer-mode checks of the ledger compare with ``=`` instead of ``IN (...)``.

Same rules, written so that SQLite checks them cheaply: SQLite builds a small temporary table
for an ``IN`` list of more than two values, and rebuilds it for every row inserted, which made
those two checks cost more than the rest of a transfer's insert. PostgreSQL reads both forms
alike; its constraints are rewritten too, so that both databases hold the same text.

On PostgreSQL the new constraints are added ``NOT VALID`` and validated apart, so the check of
existing rows does not block writes to the table.

Revision ID: 0034_ledger_checks_without_lists
Revises: 0032_ledger_account_names
"""

from __future__ import annotations

import re

from alembic import op

revision = "0034_ledger_checks_without_lists"
down_revision = "0032_ledger_account_names"  # the ledger's own branch
branch_labels = None
depends_on = None

_TABLE = "ledger_transfers"
# (name as 0002_ledger created it through the naming convention, new condition, old condition)
_CHECKS = (
    (
        "ck_ledger_transfers_ck_ledger_transfers_mode_known",
        "mode = 'posted' OR mode = 'pending' OR mode = 'post_pending' OR mode = 'void_pending'",
        "mode IN ('posted', 'pending', 'post_pending', 'void_pending')",
    ),
    (
        "ck_ledger_transfers_ck_ledger_transfers_pending_key_iff_resolving",
        "(mode = 'post_pending' OR mode = 'void_pending') = (pending_key IS NOT NULL)",
        "(mode IN ('post_pending', 'void_pending')) = (pending_key IS NOT NULL)",
    ),
)


# PostgreSQL cuts names at 63 characters: SQLAlchemy shortened this one with a digest.
_POSTGRES_NAMES = {
    "ck_ledger_transfers_ck_ledger_transfers_pending_key_iff_resolving": (
        "ck_ledger_transfers_ck_ledger_transfers_pending_key_iff_f6d7"
    ),
}


def _rewrite(conditions: list[tuple[str, str]]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for long_name, condition in conditions:
            name = _POSTGRES_NAMES.get(long_name, long_name)
            op.execute(
                f"ALTER TABLE {_TABLE} DROP CONSTRAINT {name}, "
                f"ADD CONSTRAINT {name} CHECK ({condition}) NOT VALID"
            )
            op.execute(f"ALTER TABLE {_TABLE} VALIDATE CONSTRAINT {name}")
        return
    _rebuild_on_sqlite(conditions)


def _rebuild_on_sqlite(conditions: list[tuple[str, str]]) -> None:
    """SQLite cannot alter a constraint: the table is rebuilt, as SQLite's documentation
    describes, from its own stored definition with the conditions swapped.

    Alembic's batch mode is not used: its copy would reference the old table in the
    pending-key foreign key, which fails as soon as the old table is dropped. Here the copy
    references itself, and the rename carries that reference over.
    """
    bind = op.get_bind()
    definition = bind.exec_driver_sql(
        f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{_TABLE}'"
    ).scalar_one()
    indexes = (
        bind.exec_driver_sql(
            f"SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{_TABLE}' "
            "AND sql IS NOT NULL"
        )
        .scalars()
        .all()
    )
    for name, condition in conditions:
        # Each check is found by name and its condition replaced whole, or nothing happens.
        found = re.search(rf"CONSTRAINT {name} CHECK \((.*)\)(?=,?\s*\n|\s*\)$)", definition)
        if found is None:
            raise RuntimeError(f"check {name} not found in the definition of {_TABLE}")
        definition = definition.replace(found.group(0), f"CONSTRAINT {name} CHECK ({condition})")
    copy = f"{_TABLE}_0034"
    definition = re.sub(rf'^CREATE TABLE "?{_TABLE}"?', f"CREATE TABLE {copy}", definition)
    definition = re.sub(rf'REFERENCES "?{_TABLE}"?\s*\(', f"REFERENCES {copy} (", definition)
    op.execute(definition)
    op.execute(f"INSERT INTO {copy} SELECT * FROM {_TABLE} ORDER BY id")
    op.execute(f"DROP TABLE {_TABLE}")
    op.execute(f"ALTER TABLE {copy} RENAME TO {_TABLE}")
    for index in indexes:
        op.execute(index)


def upgrade() -> None:
    _rewrite([(name, new) for name, new, _ in _CHECKS])


def downgrade() -> None:
    _rewrite([(name, old) for name, _, old in _CHECKS])
