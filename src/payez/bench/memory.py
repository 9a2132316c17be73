"""``payez bench memory``: the processor's resident memory over a long run.

A process of its own decides ``commands`` posts in batches (recorded 10,000 at a time, as a
backlog) and reads its resident set size after each chunk: a flat line means nothing grows
with the work done (no cache, log or list that keeps every command).
"""

from __future__ import annotations

import multiprocessing
import resource
from datetime import UTC, datetime
from typing import Any

from payez.adapters.db.engine import make_engine
from payez.adapters.db.migrate import migrate
from payez.bench.ledger import Database, bench_database
from payez.bench.pipeline import _record, _settings, _users
from payez.ports.clock import ManualClock
from payez.service.context import ServiceContext
from payez.service.process_inbox import process_until_empty

CHUNK = 10_000


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _run(url: str, commands: int, users: int, batch: int, out: Any) -> None:
    engine = make_engine(url)
    ctx = ServiceContext(
        engine=engine, settings=_settings(url), clock=ManualClock(datetime.now(UTC))
    )
    tag = _users(ctx, users)
    samples: list[tuple[int, float]] = []
    done = 0
    while done < commands:
        chunk = min(CHUNK, commands - done)
        # Recorded a thousand at a time, so the bench's own lists do not make the peak.
        for start in range(0, chunk, 1000):
            size = min(1000, chunk - start)
            _record(ctx, size, users, tag, run=f"m{done}-{start}", seed=done + start)
        done += process_until_empty(ctx, batch_size=batch)
        samples.append((done, round(_resident_mb(), 1)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    out.put((samples, round(peak, 1)))


def run_memory_bench(
    db: Database,
    database_url: str | None = None,
    *,
    commands: int = 100_000,
    users: int = 1_000,
    batch: int = 500,
) -> list[dict[str, Any]]:
    spawn = multiprocessing.get_context("spawn")
    with bench_database(db, database_url) as url:
        migrate(url)
        out = spawn.Queue()
        process = spawn.Process(target=_run, args=(url, commands, users, batch, out))
        process.start()
        try:
            samples, peak = out.get(timeout=3600)
        finally:
            process.join(60)
    first = samples[0][1]
    return [
        {
            "bench": "memory",
            "db": db,
            "commands": samples[-1][0],
            "batch": batch,
            "peak_rss_mb": peak,
            "rss_after_first_chunk_mb": first,
            "rss_at_end_mb": samples[-1][1],
            "growth_mb": round(samples[-1][1] - first, 1),
            "samples": [{"commands": n, "rss_mb": mb} for n, mb in samples],
        }
    ]
