"""``payez bench pipeline``: commands per second through the inbox processor, and latency.

Recorded command posts (sends between verified users, the shape of the real traffic) are
decided in batches: parse, policy, ledger, payment rows, outbox replies, one transaction per
batch. Network I/O is not measured here: it happens outside these transactions.

Two modes:

- closed loop (``run_pipeline_bench``): a backlog of posts is decided as fast as the processor
  goes, by batch size;
- open loop (``run_open_loop``): posts arrive in the inbox at a fixed offered rate while one or
  more processor processes decide them; each row reports the rate achieved and the latency from
  a post's arrival in the inbox to its reply in the outbox (p50, p99). ``saturation`` offers
  the whole backlog at once.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from payez.adapters.db import inbox as inbox_repo
from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.migrate import migrate
from payez.bench.ledger import bench_database
from payez.bench.stats import p50_p99
from payez.config import Settings, load_settings
from payez.domain.money import Money
from payez.ports.clock import ManualClock, SystemClock
from payez.service.context import ServiceContext
from payez.service.load_wallet import load_wallet
from payez.service.open_account import open_user
from payez.service.process_inbox import process_inbox, process_until_empty
from payez.service.record_posts import parsed_columns

Database = Literal["sqlite", "postgres"]
NETWORK = "bench"
BATCH_SIZES = (100, 500)
OFFERED_RATES = (500, 1_000, 2_000)
SATURATION = "saturation"


@dataclass(frozen=True, slots=True)
class PipelineResult:
    db: Database
    batch: int
    commands: int
    seconds: float
    commands_per_s: float


def _settings(url: str) -> Settings:
    # No confirmation step and caps out of reach: every command is decided and paid.
    return load_settings(
        {},
        database_url=url,
        confirm="never",
        daily_cap_cents=10**12,
        monthly_cap_cents=10**12,
        sender_orders_per_hour=0,  # bench users post far more than people: no flood limit
    )


def _users(ctx: ServiceContext, count: int) -> str:
    """Open ``count`` funded users; returns the tag their network accounts carry, so that
    several runs may share one database."""
    tag = f"{time.time_ns():x}"
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
                account_id=f"bench:{tag}:{n}",
                handle=f"user{n}",
                now=now,
            )
            load_wallet(conn, user_id, Money.eur(10_000_000), f"bench:load:{tag}:{n}")
    return tag


def _posts(
    commands: int, users: int, tag: str, run: str, seed: int, now: datetime, service_handle: str
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for n in range(commands):
        sender, recipient = rng.sample(range(users), 2)
        cents = rng.randint(50, 3000)
        text = f"@payez envoie {cents // 100},{cents % 100:02d}€ à @user{recipient} merci"
        # Parsed and stored as the listener records a post: the processor then reads the
        # stored command, as it does in service.
        _command, parsed = parsed_columns(text, service_handle)
        rows.append(
            {
                "network": NETWORK,
                "original_id": f"{tag}-{run}-{n}",
                "post_id": f"{tag}-{run}-{n}",
                "author_id": f"bench:{tag}:{sender}",
                "author_handle": f"user{sender}",
                "text": text,
                "posted_at": now,
                "seen_at": now,
                "in_reply_to_id": None,
                "recipient_account_id": f"bench:{tag}:{recipient}",
                "is_repost": False,
                "is_quote": False,
                "visibility": "public",
                "edited": False,
                "processed": False,
                **parsed,
            }
        )
    return rows


def _record(ctx: ServiceContext, commands: int, users: int, tag: str, run: str, seed: int) -> None:
    rows = _posts(commands, users, tag, run, seed, ctx.now(), ctx.service_handle(NETWORK))
    with ctx.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            inbox_repo.record(conn, rows[start : start + 5000])


def run_pipeline_bench(
    db: Database,
    database_url: str | None = None,
    *,
    commands: int = 10_000,
    users: int = 1_000,
    batch_sizes: tuple[int, ...] = BATCH_SIZES,
) -> list[PipelineResult]:
    results: list[PipelineResult] = []
    with bench_database(db, database_url) as url:
        migrate(url)
        engine = make_engine(url)
        ctx = ServiceContext(
            engine=engine, settings=_settings(url), clock=ManualClock(datetime.now(UTC))
        )
        tag = _users(ctx, users)
        for batch in batch_sizes:
            _record(ctx, commands, users, tag, run=f"b{batch}", seed=batch)
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


# -- open loop ------------------------------------------------------------------------------------


def _processor(url: str, batch: int, ready: Any, stop: Any, out: Any) -> None:
    """A processor process: decide posts until told to stop; report when each reply was
    first seen committed (post id -> Unix time)."""
    engine = make_engine(url)
    ctx = ServiceContext(engine=engine, settings=_settings(url), clock=SystemClock())
    seen: dict[str, float] = {}
    last = 0
    ready.set()
    try:
        while not stop.is_set():
            if process_inbox(ctx, batch_size=batch) == 0:
                time.sleep(0.001)
                continue
            at = time.time()
            with engine.connect() as conn:
                replies = outbox_repo.replies_after(conn, last)
            for reply_id, post_id in replies:
                seen.setdefault(post_id, at)
                last = max(last, reply_id)
    finally:
        out.put(seen)
        engine.dispose()


def _feed(ctx: ServiceContext, rows: list[dict[str, Any]], rate: float | None) -> dict[str, float]:
    """Record ``rows`` at ``rate`` posts/s (all at once when None); their arrival times.

    Posts go in every 10 ms, as a listener flushes what it has read: a write per post would
    mostly measure SQLite's single writer lock changing hands.
    """
    arrived: dict[str, float] = {}
    started = time.time()
    sent = 0
    while sent < len(rows):
        due = len(rows) if rate is None else min(len(rows), int((time.time() - started) * rate))
        if due <= sent:
            time.sleep(0.01)
            continue
        now = datetime.now(UTC)
        chunk = [{**row, "posted_at": now, "seen_at": now} for row in rows[sent:due]]
        with ctx.engine.begin() as conn:
            for start in range(0, len(chunk), 5000):
                inbox_repo.record(conn, chunk[start : start + 5000])
        at = time.time()
        for row in chunk:
            arrived[row["post_id"]] = at
        sent = due
        time.sleep(0.01)
    return arrived


def run_open_loop(
    db: Database,
    database_url: str | None = None,
    *,
    rates: tuple[int | str, ...] = (*OFFERED_RATES, SATURATION),
    seconds: float = 10.0,
    saturation_commands: int = 20_000,
    users: int = 1_000,
    batch: int = 500,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """One row per offered rate: achieved commands/s and arrival-to-reply latency."""
    rows: list[dict[str, Any]] = []
    spawn = multiprocessing.get_context("spawn")
    with bench_database(db, database_url) as url:
        migrate(url)
        engine = make_engine(url)
        ctx = ServiceContext(engine=engine, settings=_settings(url), clock=SystemClock())
        tag = _users(ctx, users)
        for index, rate in enumerate(rates):
            offered = None if isinstance(rate, str) else rate  # the one word is SATURATION
            count = saturation_commands if offered is None else int(offered * seconds)
            posts = _posts(
                count,
                users,
                tag,
                f"o{index}",
                seed=index,
                now=datetime.now(UTC),
                service_handle=ctx.service_handle(NETWORK),
            )
            stop, out = spawn.Event(), spawn.Queue()
            readies = [spawn.Event() for _ in range(workers)]
            processes = [
                spawn.Process(target=_processor, args=(url, batch, ready, stop, out))
                for ready in readies
            ]
            for process in processes:
                process.start()
            seen: dict[str, float] = {}
            try:
                for ready in readies:
                    ready.wait(60)
                arrived = _feed(ctx, posts, offered)
                deadline = time.time() + 120 + count / 500
                while time.time() < deadline:
                    with engine.connect() as conn:
                        if inbox_repo.unprocessed_count(conn) == 0:
                            break
                    time.sleep(0.05)
            finally:
                stop.set()
                for _ in processes:
                    for post_id, at in out.get(timeout=60).items():
                        seen[post_id] = min(at, seen.get(post_id, at))
                for process in processes:
                    process.join(30)
            rows.append(_open_loop_row(db, rate, batch, workers, arrived, seen))
        engine.dispose()
    return rows


def _open_loop_row(
    db: Database,
    rate: int | str,
    batch: int,
    workers: int,
    arrived: dict[str, float],
    seen: dict[str, float],
) -> dict[str, Any]:
    latencies = [(seen[p] - arrived[p]) * 1000 for p in arrived if p in seen]
    span = max(seen.values()) - min(arrived.values()) if seen else 0.0
    return {
        "bench": "pipeline_open",
        "db": db,
        "offered_per_s": rate,
        "batch": batch,
        "workers": workers,
        "commands": len(latencies),
        "commands_per_s": round(len(latencies) / span, 1) if span else 0.0,
        **p50_p99(latencies),
    }


def rows_of(results: list[PipelineResult]) -> list[dict[str, Any]]:
    return [{"bench": "pipeline", **asdict(r)} for r in results]
