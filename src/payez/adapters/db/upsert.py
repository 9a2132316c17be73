"""``INSERT ... ON CONFLICT DO NOTHING`` for both databases: the heart of exactly-once writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_duplicates(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> int:
    """Insert ``rows``, skipping any that would break a unique key; returns how many went in."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # Drivers report no reliable row count for a many-row insert: count what comes back.
    statement = dialect.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return len(conn.execute(statement, list(rows)).all())
