"""Counting what an insert-or-ignore (``bulk.insert_rows``) really inserted, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from payez.adapters.db.bulk import insert_rows
from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import network_cursors, outbox


def message(key: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "network": "memory",
        "kind": "reply",
        "in_reply_to": "1",
        "text": "ok",
        "idempotency_key": key,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def test_a_bulk_insert_counts_only_the_rows_that_went_in(database_url: str) -> None:
    """``bulk.insert_rows``: one statement on PostgreSQL, one ``executemany`` on SQLite; a row
    skipped as a duplicate, of an earlier insert or of its own batch, is not counted."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        assert insert_rows(conn, outbox, [message("a")], skip_duplicates=True) == 1
        assert insert_rows(conn, outbox, [message("a"), message("b")], skip_duplicates=True) == 1
        batch = [message("c"), message("c"), message("d")]
        assert insert_rows(conn, outbox, batch, skip_duplicates=True) == 2
        assert insert_rows(conn, outbox, [], skip_duplicates=True) == 0
        keys = sorted(
            conn.execute(outbox.select().with_only_columns(outbox.c.idempotency_key)).scalars()
        )
    engine.dispose()
    assert keys == ["a", "b", "c", "d"]


def test_a_bulk_insert_skips_duplicates_by_any_unique_key(database_url: str) -> None:
    """A table whose key is its primary key (the network's name), not an idempotency key."""
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    row = {"network": "x", "cursor": "1", "updated_at": now}
    with engine.begin() as conn:
        assert insert_rows(conn, network_cursors, [row], skip_duplicates=True) == 1
        twice = [{**row, "cursor": "2"}, {**row, "network": "y"}]
        assert insert_rows(conn, network_cursors, twice, skip_duplicates=True) == 1
        rows = conn.execute(sa.select(network_cursors.c.network, network_cursors.c.cursor))
        cursors = {row.network: row.cursor for row in rows}
    engine.dispose()
    assert cursors == {"x": "1", "y": "1"}
