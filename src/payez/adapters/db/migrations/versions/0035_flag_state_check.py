"""A payment flag's state is checked with ``=`` instead of ``IN (...)``.

The same rule, written so that SQLite checks it cheaply: SQLite rebuilds a small temporary
table for an ``IN`` list of more than two values on every row it checks, and the velocity rules
write flags as posts are decided. PostgreSQL reads both forms alike; its constraint is
rewritten too, ``NOT VALID`` then validated apart, so that writes are not blocked meanwhile.
SQLite rebuilds the table (nothing references it).

Revision ID: 0035_flag_state_check
Revises: 0012_backoffice
"""

from __future__ import annotations

from alembic import op

revision = "0035_flag_state_check"  # at most 32 characters: alembic_version's width
down_revision = "0012_backoffice"  # the back-office branch
branch_labels = None
depends_on = None

_TABLE = "payment_flags"
_NAME = "ck_payment_flags_state_known"
_NEW = "state = 'open' OR state = 'cleared' OR state = 'confirmed'"
_OLD = "state IN ('open', 'cleared', 'confirmed')"


def _rewrite(condition: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE {_TABLE} DROP CONSTRAINT {_NAME}, "
            f"ADD CONSTRAINT {_NAME} CHECK ({condition}) NOT VALID"
        )
        op.execute(f"ALTER TABLE {_TABLE} VALIDATE CONSTRAINT {_NAME}")
        return
    with op.batch_alter_table(_TABLE, recreate="always") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), condition)


def upgrade() -> None:
    _rewrite(_NEW)


def downgrade() -> None:
    _rewrite(_OLD)
