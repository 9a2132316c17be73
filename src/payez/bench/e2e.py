"""``payez bench e2e``: the whole loop on the sandbox network, from outside.

A ``payez serve`` process (web app, sandbox network and, with ``workers=0``, the worker) runs
on a fresh database, beside ``workers`` separate ``payez worker`` processes. Users of
the sandbox post sends at a fixed rate through its Mastodon API, as a client would; the worker
reads them from its stream, decides them, and posts the replies back through the network
adapter. The latency of a post is from its creation on the sandbox to its reply being stored
there, so visible to any client (the sandbox's statuses are read every 20 ms).
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from payez.adapters.db import users as users_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.migrate import migrate
from payez.adapters.db.tables import payments as payment_tables
from payez.bench import proc
from payez.bench.ledger import Database, bench_database
from payez.bench.posting import Post, post_at_rate
from payez.bench.stats import p50_p99
from payez.config import load_settings
from payez.domain.money import Money
from payez.sandbox.bootstrap import SANDBOX_NETWORK, sandbox_base_url
from payez.sandbox.network import tables
from payez.sandbox.network.accounts import create_sandbox_user, issue_token
from payez.sandbox.network.instance import sandbox_urls
from payez.service.load_wallet import load_wallet
from payez.service.open_account import open_user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PAYEZ_DATABASE_URL": url,
        "PAYEZ_PORT": str(port),
        "PAYEZ_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYEZ_CONFIRM": "never",
        "PAYEZ_DAILY_CAP_CENTS": str(10**12),
        # A benchmark's users post far more than people do: the flood limit would refuse them.
        "PAYEZ_SENDER_ORDERS_PER_HOUR": "0",
        "PAYEZ_MONTHLY_CAP_CENTS": str(10**12),
    }


def sandbox_members(url: str, port: int, count: int) -> list[str]:
    """Sandbox accounts linked to funded, verified Payez users; their API tokens."""
    settings = load_settings(_environment(url, port))
    engine = make_engine(url)
    now = datetime.now(UTC)
    tokens = []
    with engine.begin() as conn:
        urls = sandbox_urls(conn, sandbox_base_url(settings))
        for n in range(count):
            handle = f"user{n}"
            sandbox_id = create_sandbox_user(conn, handle, f"pw-{handle}-{n}", handle)
            tokens.append(issue_token(conn, None, sandbox_id, "read write"))
            user_id = open_user(
                conn, kind="person", display_name=handle, now=now, identity_verified=True
            )
            users_repo.link_account(
                conn,
                user_id=user_id,
                network=SANDBOX_NETWORK,
                account_id=urls.account_uri(handle),
                handle=handle,
                now=now,
            )
            load_wallet(conn, user_id, Money.eur(10_000_000), f"bench:e2e:{handle}")
    engine.dispose()
    return tokens


def start_payez(
    command: list[str], url: str, port: int, **settings: str
) -> subprocess.Popen[bytes]:
    """``payez <command>`` on ``url``; ``settings`` override the benchmark's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "payez.entrypoints.cli", *command],
        env={**_environment(url, port), **settings},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("payez serve exited")
        try:
            httpx.get(f"{base}/sandbox/api/v1/instance", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("payez serve did not start")


def run_e2e_bench(
    db: Database,
    database_url: str | None = None,
    *,
    rate: float = 200.0,
    seconds: float = 10.0,
    users: int = 200,
    workers: int = 0,
    web_processes: int = 1,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with bench_database(db, database_url) as url:
        migrate(url)
        port = free_port()
        tokens = sandbox_members(url, port, users)
        base = f"http://127.0.0.1:{port}"
        serve = ["serve"] if workers == 0 else ["serve", "--no-worker"]
        processes = [start_payez(serve, url, port, PAYEZ_WEB_PROCESSES=str(web_processes))]
        engine = make_engine(url)
        try:
            wait_until_up(base, processes[0])
            processes += [start_payez(["worker"], url, port) for _ in range(workers)]
            time.sleep(3)  # the workers connect their streams
            cpu_before = _cpu_seconds(processes)
            own_cpu_before = time.process_time()
            database_cpu_before = _database_cpu(engine)
            created, replied = _drive(port, engine, tokens, rate, seconds)
            database_cpu = _database_cpu(engine)
            cpu = _cpu_seconds(processes) - cpu_before
            own_cpu = time.process_time() - own_cpu_before
        finally:
            for process in processes:
                stop_process(process)
        try:
            stages = post_stages(engine, list(created))
        finally:
            engine.dispose()
    latencies = [(replied[s] - created[s]) * 1000 for s in created if s in replied]
    span = max(replied.values()) - min(created.values()) if replied else 0.0
    rows.append(
        {
            "bench": "e2e",
            "db": db,
            "offered_per_s": rate,
            "workers": workers,
            "web_processes": web_processes,
            "posts": len(created),
            "replied": len(latencies),
            "posts_per_s": round(len(latencies) / span, 1) if span else 0.0,
            **p50_p99(latencies),
            # The CPU Payez's processes (web app, sandbox, worker) spent while the posts were
            # sent and answered, per post answered: far less sensitive to a busy machine than
            # the latencies. Zero where /proc is not there to tell.
            "cpu_ms_per_post": round(cpu * 1000 / len(latencies), 2) if latencies else 0.0,
            # What the benchmark's own posters and watcher took from the same cores.
            "bench_cpu_ms_per_post": round(own_cpu * 1000 / len(latencies), 2)
            if latencies
            else 0.0,
            # And what PostgreSQL's backends serving the database took, when they run here.
            "db_cpu_ms_per_post": round(
                _grown(database_cpu_before, database_cpu) * 1000 / len(latencies), 2
            )
            if latencies
            else 0.0,
            **stages,
        }
    )
    return rows


# Where a post's time goes, as the stored timestamps tell it: from its creation on the sandbox
# to its record in the inbox (the listener), then to its reply queued in the outbox (the
# processor's batch), then to that reply stored on the sandbox (the outbox sender). The three
# add up to the server's side of the latency; the one whose p99 grows is where posts queue.
STAGES = ("listen", "decide", "reply")


def post_stages(engine: sa.Engine, status_ids: list[int]) -> dict[str, float]:
    """``<stage>_p50_ms`` and ``<stage>_p99_ms`` of each of :data:`STAGES`, over the posts
    ``status_ids`` that were answered."""
    statuses, inbox, outbox = tables.statuses, payment_tables.inbox, payment_tables.outbox
    wanted = set(status_ids)
    with engine.connect() as conn:
        created: dict[int, datetime] = {}
        answered: dict[int, datetime] = {}
        for status_id, parent, at in conn.execute(
            sa.select(statuses.c.id, statuses.c.in_reply_to_id, statuses.c.created_at)
        ):
            if status_id in wanted:
                created[status_id] = at
            elif parent in wanted:
                answered[parent] = min(at, answered.get(parent, at))
        seen = {
            int(original): (post, at)
            for original, post, at in conn.execute(
                sa.select(inbox.c.original_id, inbox.c.post_id, inbox.c.seen_at).where(
                    inbox.c.network == SANDBOX_NETWORK
                )
            )
        }
        queued = dict(
            conn.execute(
                sa.select(outbox.c.in_reply_to, outbox.c.created_at).where(
                    outbox.c.kind == "reply", outbox.c.network == SANDBOX_NETWORK
                )
            ).all()
        )
    spans: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for status_id, at in created.items():
        if status_id not in answered or status_id not in seen:
            continue
        post, seen_at = seen[status_id]
        if post not in queued:
            continue
        steps = (at, seen_at, queued[post], answered[status_id])
        for stage, start, end in zip(STAGES, steps, steps[1:], strict=False):
            spans[stage].append((end - start).total_seconds() * 1000)
    figures: dict[str, float] = {}
    for stage, values in spans.items():
        figures.update(p50_p99(values, prefix=f"{stage}_"))
    return figures


def _cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds of the running ``processes`` and of their children (the web processes of a
    ``serve``)."""
    pids = [p for process in processes for p in (process.pid, *proc.children(process.pid))]
    return sum(proc.cpu_seconds(pid) for pid in pids)


# Where the database server runs on this machine, its backends' CPU can be read from /proc.
_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}


def _database_cpu(engine: sa.Engine) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the benchmark's database (the
    service's connections and the watcher's), by pid, and under the server's own pid those of
    the backends it has reaped; none on SQLite, or where the server is another machine's (its
    pids are not ours to read)."""
    if engine.dialect.name != "postgresql" or engine.url.host not in _LOCAL_HOSTS:
        return {}
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        # A server in a container of its own has pids of its own: a local pid of that number
        # is someone else's.
        backends = [int(pid) for pid in pids if proc.command_line(int(pid)).startswith("postgres")]
    found = {pid: proc.cpu_seconds(pid) for pid in backends}
    # A pool closes a connection it has no room for once a burst is over: its backend's CPU
    # then moves to the server's main process, which reaps it (as it reaps any other child that
    # ends meanwhile, autovacuum's workers among them: on a quiet machine, the benchmark's).
    server = proc.parent(backends[0]) if backends else None
    if server is not None:
        found[server] = proc.reaped_children_cpu_seconds(server)
    return found


def _grown(before: dict[int, float], after: dict[int, float]) -> float:
    """The CPU used since ``before``: by the backends of ``after`` (those that connected
    meanwhile count whole), and by those reaped meanwhile, less what they had used before."""
    gone = sum(seconds for pid, seconds in before.items() if pid not in after)
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items()) - gone


def _drive(
    port: int, engine: sa.Engine, tokens: list[str], rate: float, seconds: float
) -> tuple[dict[int, float], dict[int, float]]:
    """Post at ``rate`` for ``seconds``; (status id -> creation time, -> reply first seen)."""
    replied: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        last = 0
        # One connection for the whole run, in autocommit on PostgreSQL: a checkout, BEGIN and
        # ROLLBACK around each read would triple the round trips this watcher takes from the
        # cores it measures.
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            while not done.is_set() or len(replied) < len(created):
                found = conn.execute(
                    sa.select(tables.statuses.c.id, tables.statuses.c.in_reply_to_id).where(
                        tables.statuses.c.id > last,
                        tables.statuses.c.in_reply_to_id.is_not(None),
                    )
                ).all()
                # Ends SQLite's transaction, and with it the lock its BEGIN IMMEDIATE took, so
                # the service's writes go on and the next read sees them (nothing is sent to
                # PostgreSQL in autocommit).
                conn.commit()
                at = time.time()
                for status_id, parent in found:
                    last = max(last, int(status_id))
                    replied.setdefault(int(parent), at)
                if done.is_set() and time.time() > deadline:
                    return
                time.sleep(0.02)

    rng = random.Random(2014)
    posts = []
    for _ in range(int(rate * seconds)):
        sender, recipient = rng.sample(range(len(tokens)), 2)
        cents = rng.randint(50, 3000)
        text = f"@payez envoie {cents // 100},{cents % 100:02d}€ à @user{recipient}"
        posts.append(Post(tokens[sender], text))
    created: dict[int, float] = {}
    deadline = time.time() + seconds + 120
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        created = post_at_rate("127.0.0.1", port, "/sandbox/api/v1/statuses", posts, rate)
    finally:
        done.set()
        watcher.join()
    return created, replied
