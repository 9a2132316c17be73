"""The email outbox repository: emails waiting to be sent, each with its key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import bulk
from payez.adapters.db.tables.emails import emails


@dataclass(frozen=True, slots=True)
class QueuedEmail:
    id: int
    kind: str
    user_id: int | None
    to_address: str
    language: str
    subject: str
    text: str
    idempotency_key: str
    state: str
    attempts: int
    created_at: datetime


_COLUMNS = tuple(emails.c[name] for name in QueuedEmail.__slots__)


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue emails; one whose idempotency key is already queued is skipped."""
    bulk.insert_rows(conn, emails, rows, skip_duplicates=True)


def due(conn: Connection, now: datetime, limit: int) -> list[QueuedEmail]:
    """Pending emails whose time has come, oldest first; locked on PostgreSQL so that two
    workers never take the same one."""
    query = (
        sa.select(*_COLUMNS)
        .where(emails.c.state == "pending", emails.c.next_attempt_at <= now)
        .order_by(emails.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [QueuedEmail(**row._mapping) for row in conn.execute(query)]


def claim(conn: Connection, email_id: int, now: datetime, until: datetime) -> bool:
    """Take a due email for sending until ``until``, by compare-and-set: True for the one
    caller that moved it; False if someone else had it, or it was sent meanwhile."""
    taken = conn.execute(
        emails.update()
        .where(
            emails.c.id == email_id,
            emails.c.state == "pending",
            emails.c.next_attempt_at <= now,
        )
        .values(next_attempt_at=until)
    )
    return taken.rowcount == 1


def mark_sent(conn: Connection, email_id: int, now: datetime) -> None:
    conn.execute(
        emails.update()
        .where(emails.c.id == email_id)
        .values(state="sent", sent_at=now, attempts=emails.c.attempts + 1, last_error=None)
    )


def mark_retry(conn: Connection, email_id: int, next_attempt_at: datetime, error: str) -> None:
    conn.execute(
        emails.update()
        .where(emails.c.id == email_id)
        .values(next_attempt_at=next_attempt_at, last_error=error, attempts=emails.c.attempts + 1)
    )


def mark_failed(conn: Connection, email_id: int, error: str) -> None:
    conn.execute(
        emails.update()
        .where(emails.c.id == email_id)
        .values(state="failed", last_error=error, attempts=emails.c.attempts + 1)
    )


def sent_to(conn: Connection, address: str) -> list[QueuedEmail]:
    """Every email queued for ``address``, newest first (tests and support)."""
    rows = conn.execute(
        sa.select(*_COLUMNS).where(emails.c.to_address == address).order_by(emails.c.id.desc())
    )
    return [QueuedEmail(**row._mapping) for row in rows]
