"""``payez bench ledger``: transfers per second, by batch size and by how accounts are chosen.

Each case applies random transfers between funded wallets, one transaction per batch, on one
connection kept open the way a worker keeps it. ``uniform`` picks accounts evenly; ``zipf``
picks them with a Zipf law (exponent 1), so a few accounts take most transfers, as popular
merchants and associations do.
"""

from __future__ import annotations

import itertools
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, apply_batch_on
from payez.adapters.db.migrate import migrate
from payez.domain.ledger import Applied, Transfer
from payez.domain.money import Money

Database = Literal["sqlite", "postgres"]
Distribution = Literal["uniform", "zipf"]

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "payez_bench"
BATCH_SIZES = (1, 100, 1000)
DISTRIBUTIONS: tuple[Distribution, ...] = ("uniform", "zipf")
# Transfers per case, by batch size: enough batches to average out commit jitter.
DEFAULT_TRANSFERS = {1: 2_000, 100: 30_000, 1000: 60_000}
FUNDING_CENTS = 10_000_000  # per wallet: a bench transfer never meets insufficient funds


@dataclass(frozen=True, slots=True)
class BenchResult:
    db: Database
    batch: int
    distribution: Distribution
    transfers_per_s: float
    transfers: int
    seconds: float
    refused: int


@contextmanager
def bench_database(db: Database, database_url: str | None) -> Iterator[str]:
    """The URL to measure on: the one given, or a fresh dedicated database."""
    if database_url is not None:
        yield database_url
        return
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="payez-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    # A name of its own, so that two benchmarks on one server never share a database.
    name = f"{BENCH_DATABASE}_{os.getpid()}_{time.time_ns() % 10**6}"
    with psycopg.connect(LOCAL_POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(LOCAL_POSTGRES).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(LOCAL_POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sampler(
    accounts: list[int], distribution: Distribution, rng: random.Random
) -> Callable[[int], list[int]]:
    if distribution == "uniform":
        return lambda k: rng.choices(accounts, k=k)
    ranked = accounts[:]
    rng.shuffle(ranked)  # hot accounts spread over the id range, as in life
    cumulative = list(itertools.accumulate(1.0 / rank for rank in range(1, len(ranked) + 1)))
    return lambda k: rng.choices(ranked, cum_weights=cumulative, k=k)


def _transfers(
    accounts: list[int], distribution: Distribution, count: int, prefix: str, seed: int
) -> list[Transfer]:
    rng = random.Random(seed)
    sample = _sampler(accounts, distribution, rng)
    debits = sample(count)
    credits = sample(count)
    out: list[Transfer] = []
    for i, (debit, credit) in enumerate(zip(debits, credits, strict=True)):
        while credit == debit:
            credit = sample(1)[0]
        out.append(Transfer(f"{prefix}-{i}", debit, credit, Money.eur(rng.randint(1, 5_000))))
    return out


def _setup(engine: Engine, accounts: int) -> list[int]:
    with engine.begin() as connection:
        ledger = SqlLedger(connection)
        ids = ledger.open_accounts(accounts, no_overdraft=True, owner="bench")
        funding = ledger.account_id("card_funding")
    with engine.connect() as connection:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            apply_batch_on(
                connection,
                [Transfer(f"fund-{a}", funding, a, Money.eur(FUNDING_CENTS)) for a in chunk],
            )
    return ids


def run_ledger_bench(
    db: Database,
    database_url: str | None = None,
    *,
    accounts: int = 10_000,
    transfers: int | None = None,
    batch_sizes: tuple[int, ...] = BATCH_SIZES,
) -> list[BenchResult]:
    """Measure every (batch size, distribution) case on a freshly set-up ledger."""
    results: list[BenchResult] = []
    run = f"{time.time_ns():x}"
    with bench_database(db, database_url) as url:
        migrate(url)
        engine = make_engine(url)
        try:
            ids = _setup(engine, accounts)
            with engine.connect() as connection:
                for batch, distribution in itertools.product(batch_sizes, DISTRIBUTIONS):
                    count = transfers if transfers is not None else DEFAULT_TRANSFERS[batch]
                    count = max(batch, count - count % batch)
                    work = _transfers(
                        ids, distribution, count, f"{run}-{batch}-{distribution}", seed=batch
                    )
                    refused = 0
                    started = time.perf_counter()
                    for start in range(0, count, batch):
                        outcome = apply_batch_on(connection, work[start : start + batch])
                        refused += sum(1 for r in outcome if not isinstance(r, Applied))
                    seconds = time.perf_counter() - started
                    results.append(
                        BenchResult(
                            db,
                            batch,
                            distribution,
                            round(count / seconds, 1),
                            count,
                            round(seconds, 3),
                            refused,
                        )
                    )
        finally:
            engine.dispose()
    return results


def results_json(results: list[BenchResult]) -> dict[str, list[dict[str, object]]]:
    return {"results": [{"bench": "ledger", **asdict(r)} for r in results]}
