"""The outbox repository: replies, private notices and listing posts waiting to be sent, each
with its key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

from payez.adapters.db import bulk
from payez.adapters.db.tables.payments import outbox


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    network: str
    kind: str
    in_reply_to: str | None
    recipient_account_id: str | None
    recipient_handle: str | None
    text: str
    idempotency_key: str
    attempts: int
    outcome: str | None = None
    user_id: int | None = None


def enqueue(conn: Connection, messages: Sequence[dict[str, Any]]) -> None:
    """Queue messages; one whose idempotency key is already queued is skipped."""
    bulk.insert_rows(conn, outbox, messages, skip_duplicates=True)


@dataclass(frozen=True, slots=True)
class OutboxState:
    message: OutboxMessage
    state: str
    """pending | sent | failed | cancelled | downgraded"""
    next_attempt_at: datetime
    remote_id: str | None
    last_error: str | None


_MESSAGE_COLUMNS = (
    outbox.c.id,
    outbox.c.network,
    outbox.c.kind,
    outbox.c.in_reply_to,
    outbox.c.recipient_account_id,
    outbox.c.recipient_handle,
    outbox.c.text,
    outbox.c.idempotency_key,
    outbox.c.attempts,
    outbox.c.outcome,
    outbox.c.user_id,
)


def by_key(conn: Connection, idempotency_key: str) -> OutboxState | None:
    row = conn.execute(
        sa.select(
            *_MESSAGE_COLUMNS,
            outbox.c.state,
            outbox.c.next_attempt_at,
            outbox.c.remote_id,
            outbox.c.last_error,
        ).where(outbox.c.idempotency_key == idempotency_key)
    ).first()
    if row is None:
        return None
    values = row._mapping
    return OutboxState(
        message=OutboxMessage(**{c.name: values[c.name] for c in _MESSAGE_COLUMNS}),
        state=str(values["state"]),
        next_attempt_at=values["next_attempt_at"],
        remote_id=values["remote_id"],
        last_error=values["last_error"],
    )


def requeue_failed(
    conn: Connection, idempotency_key: str, now: datetime, values: dict[str, Any]
) -> bool:
    """Send a failed message again from now, with ``values`` changed; False if not failed."""
    result = conn.execute(
        outbox.update()
        .where(outbox.c.idempotency_key == idempotency_key, outbox.c.state == "failed")
        .values(state="pending", attempts=0, next_attempt_at=now, last_error=None, **values)
    )
    return result.rowcount == 1


def cancel_pending(conn: Connection, idempotency_key: str) -> None:
    conn.execute(
        outbox.update()
        .where(outbox.c.idempotency_key == idempotency_key, outbox.c.state == "pending")
        .values(state="cancelled")
    )


def due(conn: Connection, now: datetime, limit: int) -> list[OutboxMessage]:
    query = (
        sa.select(*_MESSAGE_COLUMNS)
        .where(outbox.c.state == "pending", outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [OutboxMessage(**row._mapping) for row in conn.execute(query)]


def claim(
    conn: Connection, now: datetime, until: datetime, limit: int, networks: Sequence[str]
) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages of ``networks`` for this sender, oldest first: they
    stay pending but are not due again before ``until``, so no other sender takes them meanwhile.

    A sender that dies holding them leaves them to be sent by another once ``until`` passes;
    the network's idempotency key makes a late second attempt harmless.
    """
    if not networks:
        return []
    due_ids = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.state == "pending",
            outbox.c.next_attempt_at <= now,
            outbox.c.network.in_(list(networks)),
        )
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due_ids = due_ids.with_for_update(skip_locked=True)
    rows = conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(due_ids.scalar_subquery()))
        .values(next_attempt_at=until)
        .returning(*_MESSAGE_COLUMNS)
    ).all()
    return sorted((OutboxMessage(**row._mapping) for row in rows), key=lambda m: m.id)


def claim_by_key(
    conn: Connection, idempotency_key: str, now: datetime, until: datetime
) -> OutboxMessage | None:
    """Take the message with this key if it is pending and due, as :func:`claim` does."""
    row = conn.execute(
        outbox.update()
        .where(
            outbox.c.idempotency_key == idempotency_key,
            outbox.c.state == "pending",
            outbox.c.next_attempt_at <= now,
        )
        .values(next_attempt_at=until)
        .returning(*_MESSAGE_COLUMNS)
    ).first()
    return None if row is None else OutboxMessage(**row._mapping)


def mark_sent(conn: Connection, message_id: int, remote_id: str | None, now: datetime) -> None:
    mark_all_sent(conn, [(message_id, remote_id)], now)


# The batch's ids and the networks' ids for them, as a table of two columns (PostgreSQL).
_SENT = (
    sa.func.unnest(
        sa.bindparam("message_ids", type_=postgresql.ARRAY(sa.BigInteger())),
        sa.bindparam("remote_ids", type_=postgresql.ARRAY(sa.String())),
    )
    .table_valued(sa.column("id", sa.BigInteger()), sa.column("remote_id", sa.String()))
    .render_derived(name="sent")
)


def _mark_sent(message: sa.ColumnElement[bool], remote_id: Any) -> sa.Update:
    """Messages that match ``message`` marked sent at ``:now`` with ``remote_id``, unless
    another sender marked them first."""
    return (
        outbox.update()
        .where(message, outbox.c.state != "sent")
        .values(
            state="sent",
            sent_at=sa.bindparam("now", type_=outbox.c.sent_at.type),
            remote_id=remote_id,
            attempts=outbox.c.attempts + 1,
        )
    )


_MARK_SENT_FROM_ARRAYS = _mark_sent(outbox.c.id == _SENT.c.id, _SENT.c.remote_id)
_MARK_SENT_ONE_BY_ONE = _mark_sent(
    outbox.c.id == sa.bindparam("message_id"), sa.bindparam("sent_remote_id")
)


def mark_all_sent(conn: Connection, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
    """Mark messages sent, with the id the network gave each.

    On PostgreSQL the batch is one statement, its ids in two arrays: an ``executemany`` runs
    one per message, and a busy outbox marks one batch after another. SQLite, in-process,
    runs the same update once per message. A message another sender already marked sent
    keeps that first record.
    """
    if not sent:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(
            _MARK_SENT_FROM_ARRAYS,
            {
                "message_ids": [message_id for message_id, _ in sent],
                "remote_ids": [remote_id for _, remote_id in sent],
                "now": now,
            },
        )
        return
    conn.execute(
        _MARK_SENT_ONE_BY_ONE,
        [{"message_id": m, "sent_remote_id": r, "now": now} for m, r in sent],
    )


def mark_retry(conn: Connection, message_id: int, next_attempt_at: datetime, error: str) -> None:
    conn.execute(
        outbox.update()
        .where(outbox.c.id == message_id)
        .values(next_attempt_at=next_attempt_at, last_error=error, attempts=outbox.c.attempts + 1)
    )


def defer(conn: Connection, message_ids: Sequence[int], until: datetime, reason: str) -> None:
    """Hold messages back until ``until`` without counting an attempt: nothing was tried."""
    if message_ids:
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(list(message_ids)), outbox.c.state == "pending")
            .values(next_attempt_at=until, last_error=reason)
        )


def mark_downgraded(conn: Connection, message_ids: Sequence[int], reason: str) -> None:
    """Messages told another way (in the app) instead of being posted."""
    if message_ids:
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(list(message_ids)), outbox.c.state == "pending")
            .values(state="downgraded", last_error=reason)
        )


def mark_failed(conn: Connection, message_id: int, error: str) -> None:
    conn.execute(
        outbox.update()
        .where(outbox.c.id == message_id)
        .values(state="failed", last_error=error, attempts=outbox.c.attempts + 1)
    )


def replies_after(conn: Connection, last_id: int) -> list[tuple[int, str]]:
    """(id, post id replied to) of the public replies queued after ``last_id``."""
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.in_reply_to)
        .where(outbox.c.id > last_id, outbox.c.kind == "reply")
        .order_by(outbox.c.id)
    )
    return [(int(i), str(post)) for i, post in rows]


def pending_count(conn: Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.state == "pending")
        ).scalar_one()
    )


def counts_by_network(
    conn: Connection, state: str, last_error: str | None = None
) -> dict[str, int]:
    """How many messages are in ``state`` on each network (with ``last_error``, if given)."""
    query = (
        sa.select(outbox.c.network, sa.func.count())
        .where(outbox.c.state == state)
        .group_by(outbox.c.network)
    )
    if last_error is not None:
        query = query.where(outbox.c.last_error == last_error)
    return {str(network): int(count) for network, count in conn.execute(query)}
