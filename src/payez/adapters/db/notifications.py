"""In-app notifications: written when a reply is not posted, read by the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import bulk
from payez.adapters.db.tables.notifications import notifications


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    network: str
    text: str
    created_at: datetime


def add(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of ``user_id``, ``network``, ``text``, ``source_key``, ``created_at``; one whose
    source is already notified is skipped."""
    bulk.insert_rows(conn, notifications, rows, skip_duplicates=True)


def latest(conn: Connection, user_id: int, limit: int = 10) -> list[Notification]:
    rows = conn.execute(
        sa.select(
            notifications.c.id,
            notifications.c.network,
            notifications.c.text,
            notifications.c.created_at,
        )
        .where(notifications.c.user_id == user_id)
        .order_by(notifications.c.id.desc())
        .limit(limit)
    )
    return [Notification(**row._mapping) for row in rows]
