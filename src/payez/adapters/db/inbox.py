"""The inbox repository: every post that reached us, once per (network, original post id)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from payez.adapters.db.bulk import fetch_all, insert_rows, result_converters
from payez.adapters.db.tables.payments import inbox


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
    # The command the listener read in the post, and the grammar it read it with
    # (domain/stored_commands.py); None when the post was recorded otherwise.
    parsed_command: str | None = None
    parsed_grammar: str | None = None


# The columns of an InboxRow, in its fields' order (so a row converts positionally).
_COLUMNS = tuple(inbox.c[name] for name in InboxRow.__dataclass_fields__)
_NAMES = ", ".join(column.name for column in _COLUMNS)
# Not processed, and not parked while the sender's card is charged (see fund_from_card).
_TAKE = (
    f"SELECT {_NAMES} FROM inbox WHERE processed = {{false}} "
    "AND (funding IS NULL OR funding != 'waiting') ORDER BY id LIMIT {limit}"
)
_TAKE_SQLITE = _TAKE.format(false="0", limit="?")
_TAKE_POSTGRES = _TAKE.format(false="false", limit="%s") + " FOR UPDATE SKIP LOCKED"
_MARK_SQLITE = "UPDATE inbox SET processed = 1 WHERE id IN (SELECT value FROM json_each(?))"
_MARK_POSTGRES = "UPDATE inbox SET processed = true WHERE id = ANY(%s::bigint[])"


def _inbox_row(row: Any) -> InboxRow:
    return InboxRow(*row)


@lru_cache(maxsize=4)
def _converters(dialect: Dialect) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, converter) of the columns whose driver values need converting."""
    converters = result_converters(_COLUMNS, dialect)
    return [(n, convert) for n, convert in enumerate(converters) if convert is not None]


def record(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Record posts; a post already recorded (a replay, an edit) is skipped. Returns new rows.

    One statement whatever the number of posts, so it is prepared once (a many-row ``VALUES``
    list is a new statement for every count of rows)."""
    return insert_rows(conn, inbox, rows, skip_duplicates=True)


def take_unprocessed(conn: Connection, limit: int) -> list[InboxRow]:
    """The oldest unprocessed posts, locked for this transaction.

    On PostgreSQL, ``SKIP LOCKED`` lets several processors share the inbox without waiting on
    each other; SQLite transactions are already serialised by ``BEGIN IMMEDIATE``. When posts
    are taken, the rest of the transaction is planned for each execution
    (:func:`plan_each_execution`).
    """
    postgres = conn.dialect.name == "postgresql"
    # Read from the driver: SQLAlchemy's rows cost more than the statement (see fetch_all).
    rows = fetch_all(conn, _TAKE_POSTGRES if postgres else _TAKE_SQLITE, (limit,))
    if rows and postgres:
        plan_each_execution(conn)
    converters = _converters(conn.dialect)
    taken = []
    for row in rows:
        values = list(row)
        for position, convert in converters:
            values[position] = convert(values[position])
        taken.append(InboxRow(*values))
    return taken


def plan_each_execution(conn: Connection) -> None:
    """Have PostgreSQL plan this transaction's prepared statements for each execution.

    A batch's statements are prepared once (one text per query: array parameters), but their
    best plan depends on how many ids the batch carries: the generic plan PostgreSQL may settle
    on after five executions made the senders' query up to four times slower, and the pipeline
    half as fast. Everywhere else (the web app, the sandbox, the listener, the outbox, and the
    foreign key checks of every insert) one row is looked up by key, and planning it again each
    time cost PostgreSQL more than running it.
    """
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def mark_processed(conn: Connection, ids: Sequence[int]) -> None:
    if not ids:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_MARK_POSTGRES, (list(ids),))
    else:
        conn.exec_driver_sql(_MARK_SQLITE, (json.dumps(list(ids)),))


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
