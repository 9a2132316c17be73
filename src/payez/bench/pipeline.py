"""``payez bench pipeline``: commands per second through the inbox processor.

Recorded command posts (sends between verified users, the shape of the real traffic) are
decided in batches: parse, policy, ledger, payment rows, outbox replies, one transaction per
batch. Network I/O is not measured here: it happens outside these transactions.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

from payez.adapters.db import inbox as inbox_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.migrate import migrate
from payez.bench.ledger import bench_database
from payez.config import load_settings
from payez.domain.money import Money
from payez.ports.clock import ManualClock
from payez.service.context import ServiceContext
from payez.service.load_wallet import load_wallet
from payez.service.open_account import open_user
from payez.service.process_inbox import process_until_empty

Database = Literal["sqlite", "postgres"]
NETWORK = "bench"
BATCH_SIZES = (100, 500)


@dataclass(frozen=True, slots=True)
class PipelineResult:
    db: Database
    batch: int
    commands: int
    seconds: float
    commands_per_s: float


def _users(ctx: ServiceContext, count: int) -> None:
    now = ctx.now()
    with ctx.engine.begin() as conn:
        for n in range(count):
            user_id = open_user(
                conn, kind="person", display_name=f"user{n}", now=now, identity_verified=True
            )
            users_repo.link_account(
                conn,
                user_id=user_id,
                network=NETWORK,
                account_id=f"bench:{n}",
                handle=f"user{n}",
                now=now,
            )
            load_wallet(conn, user_id, Money.eur(10_000_000), f"bench:load:{n}")


def _record(ctx: ServiceContext, commands: int, users: int, run: str, seed: int) -> None:
    rng = random.Random(seed)
    now = ctx.now()
    rows = []
    for n in range(commands):
        sender, recipient = rng.sample(range(users), 2)
        cents = rng.randint(50, 3000)
        rows.append(
            {
                "network": NETWORK,
                "original_id": f"{run}-{n}",
                "post_id": f"{run}-{n}",
                "author_id": f"bench:{sender}",
                "author_handle": f"user{sender}",
                "text": f"@payez envoie {cents // 100},{cents % 100:02d}€ à @user{recipient} merci",
                "posted_at": now,
                "seen_at": now,
                "in_reply_to_id": None,
                "recipient_account_id": f"bench:{recipient}",
                "is_repost": False,
                "is_quote": False,
                "visibility": "public",
                "edited": False,
                "processed": False,
            }
        )
    with ctx.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            inbox_repo.record(conn, rows[start : start + 5000])


def run_pipeline_bench(
    db: Database, database_url: str | None = None, *, commands: int = 10_000, users: int = 1_000
) -> list[PipelineResult]:
    results: list[PipelineResult] = []
    with bench_database(db, database_url) as url:
        migrate(url)
        settings = load_settings(
            {},
            database_url=url,
            confirm="never",
            daily_cap_cents=10**12,
            monthly_cap_cents=10**12,
        )
        engine = make_engine(url)
        ctx = ServiceContext(engine=engine, settings=settings, clock=ManualClock(datetime.now(UTC)))
        _users(ctx, users)
        for batch in BATCH_SIZES:
            _record(ctx, commands, users, run=f"b{batch}", seed=batch)
            started = time.perf_counter()
            processed = process_until_empty(ctx, batch_size=batch)
            seconds = time.perf_counter() - started
            results.append(
                PipelineResult(
                    db, batch, processed, round(seconds, 3), round(processed / seconds, 1)
                )
            )
        engine.dispose()
    return results


def results_json(results: list[PipelineResult]) -> dict[str, object]:
    return {"results": [{"bench": "pipeline", **asdict(r)} for r in results]}
