"""Counting what an insert-or-ignore really inserted, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from payez.adapters.db.bulk import insert_rows
from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import network_cursors, outbox
from payez.adapters.db.upsert import insert_ignoring_duplicates


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


def test_counts_only_the_rows_that_went_in(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        assert insert_ignoring_duplicates(conn, outbox, [message("a")]) == 1
        assert insert_ignoring_duplicates(conn, outbox, [message("a")]) == 0
        assert insert_ignoring_duplicates(conn, outbox, [message("a"), message("b")]) == 1
        assert insert_ignoring_duplicates(conn, outbox, []) == 0
        now = datetime.now(UTC)
        row = {"network": "x", "cursor": "1", "updated_at": now}
        assert (
            insert_ignoring_duplicates(conn, network_cursors, [row, {**row, "network": "y"}]) == 2
        )
    engine.dispose()


def test_the_uncounted_form_still_skips_duplicates(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        insert_ignoring_duplicates(conn, outbox, [message("a"), message("b")], count=False)
        insert_ignoring_duplicates(conn, outbox, [message("b"), message("c")], count=False)
        keys = sorted(
            conn.execute(outbox.select().with_only_columns(outbox.c.idempotency_key)).scalars()
        )
    engine.dispose()
    assert keys == ["a", "b", "c"]


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
