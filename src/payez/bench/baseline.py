"""``payez bench baseline``: the machine's own limit for the hot path, in the same run.

A minimal hand-written pipeline on the same database: raw post bytes, a compiled regular
expression for the one command shape, then per flush one batched balance update, one batched
insert of transfer rows and one of reply rows, one commit. No policy, no payment rows, no reply
texts beyond a line: what any implementation must at least pay for. Payez's figures read as a
ratio to it.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from payez.adapters.db.engine import make_engine
from payez.bench.ledger import Database, bench_database
from payez.bench.stats import Row

BATCH_SIZES = (100, 500)
_COMMAND = re.compile(rb"^@payez envoie (\d+),(\d\d)\xe2\x82\xac \xc3\xa0 @user(\d+)")

_PG_SETUP = (
    "CREATE TABLE IF NOT EXISTS baseline_accounts (id bigint PRIMARY KEY, "
    "balance bigint NOT NULL CHECK (balance >= 0))",
    "CREATE TABLE IF NOT EXISTS baseline_transfers (id bigserial PRIMARY KEY, "
    "key text NOT NULL UNIQUE, debit bigint NOT NULL, credit bigint NOT NULL, "
    "amount bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS baseline_outbox (id bigserial PRIMARY KEY, "
    "post_id text NOT NULL UNIQUE, text text NOT NULL)",
)
_SQLITE_SETUP = (
    "CREATE TABLE IF NOT EXISTS baseline_accounts (id INTEGER PRIMARY KEY, "
    "balance INTEGER NOT NULL CHECK (balance >= 0))",
    "CREATE TABLE IF NOT EXISTS baseline_transfers (id INTEGER PRIMARY KEY, "
    "key TEXT NOT NULL UNIQUE, debit INTEGER NOT NULL, credit INTEGER NOT NULL, "
    "amount INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS baseline_outbox (id INTEGER PRIMARY KEY, "
    "post_id TEXT NOT NULL UNIQUE, text TEXT NOT NULL)",
)
_PG_MOVE = (
    "UPDATE baseline_accounts AS a SET balance = a.balance + v.delta "
    "FROM unnest(%b::bigint[], %b::bigint[]) AS v(id, delta) WHERE a.id = v.id"
)
_PG_TRANSFER = (
    "INSERT INTO baseline_transfers (key, debit, credit, amount) "
    "SELECT * FROM unnest(%b::text[], %b::bigint[], %b::bigint[], %b::bigint[])"
)
_PG_REPLY = (
    "INSERT INTO baseline_outbox (post_id, text) SELECT * FROM unnest(%b::text[], %b::text[])"
)
_SQLITE_MOVE = "UPDATE baseline_accounts SET balance = balance + ? WHERE id = ?"
_SQLITE_TRANSFER = "INSERT INTO baseline_transfers (key, debit, credit, amount) VALUES (?, ?, ?, ?)"
_SQLITE_REPLY = "INSERT INTO baseline_outbox (post_id, text) VALUES (?, ?)"


def _posts(count: int, users: int, seed: int) -> list[tuple[str, int, bytes]]:
    rng = random.Random(seed)
    posts = []
    for _ in range(count):
        sender, recipient = rng.sample(range(users), 2)
        cents = rng.randint(50, 3000)
        text = f"@payez envoie {cents // 100},{cents % 100:02d}€ à @user{recipient} merci"
        posts.append((f"p{rng.getrandbits(64):x}", sender, text.encode()))
    return posts


def _flush(raw: Any, postgres: bool, batch: list[tuple[str, int, bytes]]) -> None:
    deltas: dict[int, int] = {}
    transfers: list[tuple[str, int, int, int]] = []
    replies: list[tuple[str, str]] = []
    for post_id, sender, text in batch:
        found = _COMMAND.match(text)
        if found is None:
            continue
        cents = int(found[1]) * 100 + int(found[2])
        recipient = int(found[3])
        deltas[sender] = deltas.get(sender, 0) - cents
        deltas[recipient] = deltas.get(recipient, 0) + cents
        transfers.append((post_id, sender, recipient, cents))
        replies.append((post_id, f"@user{sender} paid {cents} cents"))
    ids = sorted(deltas)  # one lock order for every flush
    cursor = raw.cursor()
    if postgres:
        cursor.execute(_PG_MOVE, (ids, [deltas[i] for i in ids]))
        cursor.execute(_PG_TRANSFER, tuple(list(column) for column in zip(*transfers, strict=True)))
        cursor.execute(_PG_REPLY, ([r[0] for r in replies], [r[1] for r in replies]))
    else:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(_SQLITE_MOVE, [(deltas[i], i) for i in ids])
        cursor.executemany(_SQLITE_TRANSFER, transfers)
        cursor.executemany(_SQLITE_REPLY, replies)
    raw.commit()


def run_baseline_bench(
    db: Database,
    database_url: str | None = None,
    *,
    commands: int = 10_000,
    users: int = 1_000,
    batch_sizes: tuple[int, ...] = BATCH_SIZES,
) -> list[Row]:
    rows: list[Row] = []
    with bench_database(db, database_url) as url:
        engine = make_engine(url)
        try:
            connection = engine.raw_connection()
            raw: Any = connection.driver_connection
            postgres = db == "postgres"
            cursor = raw.cursor()
            if not postgres:
                raw.commit()
            for statement in _PG_SETUP if postgres else _SQLITE_SETUP:
                cursor.execute(statement)
            cursor.execute("DELETE FROM baseline_outbox")
            cursor.execute("DELETE FROM baseline_transfers")
            cursor.execute("DELETE FROM baseline_accounts")
            insert = (
                "INSERT INTO baseline_accounts VALUES (%s, %s)"
                if postgres
                else "INSERT INTO baseline_accounts VALUES (?, ?)"
            )
            cursor.executemany(insert, [(i, 10**12) for i in range(users)])
            raw.commit()
            for batch in batch_sizes:
                posts = _posts(commands, users, seed=batch + time.time_ns() % 1000)
                started = time.perf_counter()
                for start in range(0, len(posts), batch):
                    _flush(raw, postgres, posts[start : start + batch])
                seconds = time.perf_counter() - started
                rows.append(
                    {
                        "bench": "baseline",
                        "db": db,
                        "batch": batch,
                        "commands": len(posts),
                        "seconds": round(seconds, 3),
                        "commands_per_s": round(len(posts) / seconds, 1),
                    }
                )
            connection.close()
        finally:
            engine.dispose()
    return rows
