"""The inbox repository: every post that reached us, once per (network, original post id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.sets import one_of
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
    funding: str | None = None
    funding_cents: int | None = None


# The columns of an InboxRow, in its fields' order (so a row converts positionally).
_COLUMNS = tuple(inbox.c[name] for name in InboxRow.__dataclass_fields__)


def _inbox_row(row: Any) -> InboxRow:
    return InboxRow(*row)


def record(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Record posts; a post already recorded (a replay, an edit) is skipped. Returns new rows."""
    return insert_ignoring_duplicates(conn, inbox, rows)


def take_unprocessed(conn: Connection, limit: int) -> list[InboxRow]:
    """The oldest unprocessed posts, locked for this transaction.

    On PostgreSQL, ``SKIP LOCKED`` lets several processors share the inbox without waiting on
    each other; SQLite transactions are already serialised by ``BEGIN IMMEDIATE``.
    """
    query = (
        sa.select(*_COLUMNS)
        .where(
            inbox.c.processed == sa.false(),
            # Parked posts wait for their sender's card charge (see fund_from_card).
            sa.or_(inbox.c.funding.is_(None), inbox.c.funding != "waiting"),
        )
        .order_by(inbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_inbox_row(row) for row in conn.execute(query)]


def mark_processed(conn: Connection, ids: Sequence[int]) -> None:
    if ids:
        conn.execute(inbox.update().where(one_of(conn, inbox.c.id, ids)).values(processed=True))


def unprocessed_count(conn: Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(inbox).where(inbox.c.processed == sa.false())
        ).scalar_one()
    )


def wait_for_funding(conn: Connection, shortfalls: dict[int, int]) -> None:
    """Park these posts until their senders' cards are charged for the shortfall (cents)."""
    for inbox_id, cents in shortfalls.items():
        conn.execute(
            inbox.update()
            .where(inbox.c.id == inbox_id)
            .values(funding="waiting", funding_cents=cents)
        )


def waiting_for_funding(conn: Connection, limit: int) -> list[InboxRow]:
    query = (
        sa.select(*_COLUMNS)
        .where(inbox.c.processed == sa.false(), inbox.c.funding == "waiting")
        .order_by(inbox.c.id)
        .limit(limit)
    )
    return [_inbox_row(row) for row in conn.execute(query)]


def funding_done(conn: Connection, inbox_id: int, outcome: str) -> bool:
    """Release a parked post to the processor: ``funded`` or ``failed``; False if not parked."""
    result = conn.execute(
        inbox.update()
        .where(inbox.c.id == inbox_id, inbox.c.funding == "waiting")
        .values(funding=outcome)
    )
    return result.rowcount == 1


def get(conn: Connection, inbox_id: int) -> InboxRow | None:
    row = conn.execute(sa.select(*_COLUMNS).where(inbox.c.id == inbox_id)).first()
    return None if row is None else _inbox_row(row)
