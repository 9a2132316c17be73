"""``INSERT ... ON CONFLICT DO NOTHING`` for both databases: the heart of exactly-once writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_duplicates(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], *, count: bool = True
) -> int:
    """Insert ``rows``, skipping any that would break a unique key; returns how many went in.

    With ``count=False`` the rows go in as one plain many-row statement (no RETURNING: the
    hot path's cheapest form) and the return value is 0.
    """
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    if not count:
        conn.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))
        return 0
    # Drivers report no reliable row count for a many-row insert: count what comes back.
    statement = dialect.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return len(conn.execute(statement, list(rows)).all())
