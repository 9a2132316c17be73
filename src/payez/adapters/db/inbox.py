"""The inbox repository: every post that reached us, once per (network, original post id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.payments import inbox
from payez.adapters.db.upsert import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    network: str
    original_id: str
    post_id: str
    author_id: str
    author_handle: str
    text: str
    posted_at: datetime
    seen_at: datetime
    in_reply_to_id: str | None
    recipient_account_id: str | None
    is_repost: bool
    is_quote: bool
    visibility: str
    edited: bool


def record(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Record posts; a post already recorded (a replay, an edit) is skipped. Returns new rows."""
    return insert_ignoring_duplicates(conn, inbox, rows)


def take_unprocessed(conn: Connection, limit: int) -> list[InboxRow]:
    """The oldest unprocessed posts, locked for this transaction.

    On PostgreSQL, ``SKIP LOCKED`` lets several processors share the inbox without waiting on
    each other; SQLite transactions are already serialised by ``BEGIN IMMEDIATE``.
    """
    query = (
        sa.select(inbox).where(inbox.c.processed == sa.false()).order_by(inbox.c.id).limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [
        InboxRow(**{k: v for k, v in row._mapping.items() if k != "processed"})
        for row in conn.execute(query)
    ]


def mark_processed(conn: Connection, ids: Sequence[int]) -> None:
    if ids:
        conn.execute(inbox.update().where(inbox.c.id.in_(list(ids))).values(processed=True))


def unprocessed_count(conn: Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(inbox).where(inbox.c.processed == sa.false())
        ).scalar_one()
    )
