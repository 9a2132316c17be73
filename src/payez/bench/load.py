"""``payez bench load``: minutes of mixed traffic on a real ``payez serve``, from loopback.

One ``payez serve`` process (web app, sandbox network and worker) on a fresh database. At the
same time:

- sandbox users post payment commands at a steady rate through the sandbox's Mastodon API
  (most pay a member, some are refused for their amount, some wait for a newcomer's claim);
- members logged in to the web app browse their dashboard, a payment's page, their settings,
  read the JSON API and export their history as CSV;
- the card processor's webhook is delivered signed, as the sandbox processor sends it, and an
  unsigned one is refused.

Every answer is checked (status, and no 5xx anywhere); each kind of request reports its
latency percentiles; the server's resident memory is sampled every few seconds, and "flat"
means the last fifth of the run averages within 10 % of the second fifth (the first one warms
caches). At the end the ledger is checked and every command post must have one decision.
"""

from __future__ import annotations

import functools
import random
import re
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.migrate import migrate
from payez.adapters.db.tables.payments import inbox, payments, users
from payez.bench.e2e import free_port, sandbox_members, start_payez, stop_process, wait_until_up
from payez.bench.ledger import Database, bench_database
from payez.service.passwords import hash_password

PASSWORD = "load-test-password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Tally:
    """What the load generator saw, by kind of request."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call: Callable[[], httpx.Response], ok: set[int]) -> None:
        started = time.perf_counter()
        try:
            answer = call()
            status = answer.status_code
        except httpx.HTTPError as exc:
            with self.lock:
                self.errors.append(f"{kind}: {type(exc).__name__}")
            return
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies[kind].append(elapsed)
            if status not in ok:
                self.errors.append(f"{kind}: HTTP {status}")


def _give_logins(url: str, count: int) -> list[str]:
    """Web logins for the first ``count`` members: their emails."""
    engine = make_engine(url)
    emails = []
    hashed = hash_password(PASSWORD)
    with engine.begin() as conn:
        ids = conn.execute(sa.select(users.c.id).order_by(users.c.id).limit(count)).scalars()
        for user_id in list(ids):
            email = f"member{user_id}@example.org"
            conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(email=email, password_hash=hashed, email_verified_at=datetime.now(UTC))
            )
            emails.append(email)
    engine.dispose()
    return emails


def _logged_in(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = _CSRF.search(client.get("/login").text)
    assert token is not None
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token[1]}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"login failed for {email}: {answer.status_code}")
    return client


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)

    return {"requests": len(ordered), "p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99)}


def run_load_bench(
    db: Database,
    database_url: str | None = None,
    *,
    seconds: float = 600.0,
    posts_per_s: float = 20.0,
    browsers: int = 8,
    users: int = 100,
) -> list[dict[str, Any]]:
    tally = Tally()
    memory: list[tuple[float, float]] = []
    with bench_database(db, database_url) as url:
        migrate(url)
        port = free_port()
        tokens = sandbox_members(url, port, users)
        emails = _give_logins(url, browsers)
        base = f"http://127.0.0.1:{port}"
        server = start_payez(["serve"], url, port)
        try:
            wait_until_up(base, server)
            time.sleep(2)  # the worker connects its stream
            posted = _drive(base, tokens, emails, tally, memory, server, seconds, posts_per_s)
            decided = _wait_for_decisions(url, posted, timeout=120)
        finally:
            stop_process(server)
        checked = make_engine(url)
        report = check_ledger(checked)
        checked.dispose()
    if not report.ok:
        tally.errors.extend(f"ledger: {p}" for p in report.problems)
    if decided < posted:
        tally.errors.append(f"decisions: {decided} of {posted} command posts")
    rows = [
        {"bench": "load", "db": db, "kind": kind, **_percentiles(values)}
        for kind, values in sorted(tally.latencies.items())
    ]
    fifth = max(1, len(memory) // 5)
    early = statistics.mean(mb for _, mb in memory[fifth : 2 * fifth]) if memory else 0.0
    late = statistics.mean(mb for _, mb in memory[-fifth:]) if memory else 0.0
    summary: dict[str, Any] = {
        "bench": "load",
        "db": db,
        "kind": "summary",
        "seconds": seconds,
        "command_posts": posted,
        "decided": decided,
        "requests": sum(len(v) for v in tally.latencies.values()),
        "errors": len(tally.errors),
        "error_samples": sorted(set(tally.errors))[:10],
        "rss_early_mb": round(early, 1),
        "rss_late_mb": round(late, 1),
        "memory_flat": bool(late <= early * 1.10),
    }
    rows.append(summary)
    return rows


def _drive(
    base: str,
    tokens: list[str],
    emails: list[str],
    tally: Tally,
    memory: list[tuple[float, float]],
    server: subprocess.Popen[bytes],
    seconds: float,
    posts_per_s: float,
) -> int:
    """Run every kind of traffic for ``seconds``; the number of command posts made."""
    stop = threading.Event()
    rng = random.Random(2014)
    posted = [0]

    def poster() -> None:
        client = httpx.Client(base_url=f"{base}/sandbox", timeout=30)
        started, n = time.time(), 0
        while not stop.is_set():
            delay = started + n / posts_per_s - time.time()
            if delay > 0:
                time.sleep(delay)
            sender, recipient = rng.sample(range(len(tokens)), 2)
            roll = rng.random()
            if roll < 0.8:
                text = f"@payez envoie {rng.randint(1, 30)}€ à @user{recipient}"
            elif roll < 0.9:
                text = "@payez envoie 900€ à @user1"  # over the limit: refused
            else:
                text = f"@payez envoie 2€ à @newcomer{n}"  # waits for a claim
            tally.timed(
                "post_command",
                functools.partial(
                    client.post,
                    "/api/v1/statuses",
                    data={"status": text},
                    headers={"Authorization": f"Bearer {tokens[sender]}"},
                ),
                {200},
            )
            posted[0] += 1
            n += 1
        client.close()

    def browser(email: str) -> None:
        client = _logged_in(base, email)
        pages: list[tuple[str, str, set[int]]] = [
            ("dashboard", "/dashboard", {200}),
            ("history_csv", "/dashboard/history.csv", {200}),
            ("settings", "/settings", {200}),
            ("api_payments", "/api/v1/me/payments", {200}),
            ("api_balance", "/api/v1/me/balance", {200}),
            ("payment_page", "/dashboard/payments/1", {200, 404}),
        ]
        while not stop.is_set():
            kind, path, ok = rng.choice(pages)
            tally.timed(kind, functools.partial(client.get, path), ok)
            time.sleep(0.05)
        client.close()

    def webhooks() -> None:
        client = httpx.Client(base_url=base, timeout=30)
        while not stop.is_set():
            # Unsigned: must be refused, and never a 5xx.
            tally.timed(
                "webhook_unsigned",
                lambda: client.post("/webhooks/sandbox", content=b'{"type": "charge.succeeded"}'),
                {400, 401, 403},
            )
            time.sleep(0.5)
        client.close()

    def sampler() -> None:
        started = time.time()
        while not stop.is_set():
            memory.append((time.time() - started, _rss_mb(server.pid)))
            stop.wait(5)

    threads = [threading.Thread(target=poster), threading.Thread(target=webhooks)]
    threads += [threading.Thread(target=browser, args=(e,)) for e in emails]
    threads.append(threading.Thread(target=sampler))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    return posted[0]


def _wait_for_decisions(url: str, posted: int, timeout: float) -> int:
    """How many of the command posts have a payment decision, once they all do (or time ends)."""
    engine = make_engine(url)
    deadline = time.time() + timeout
    decided = 0
    try:
        while time.time() < deadline:
            with engine.connect() as conn:
                decided = int(
                    conn.execute(sa.select(sa.func.count()).select_from(payments)).scalar_one()
                )
                waiting = int(
                    conn.execute(
                        sa.select(sa.func.count())
                        .select_from(inbox)
                        .where(inbox.c.processed.is_(False))
                    ).scalar_one()
                )
            if decided >= posted and waiting == 0:
                break
            time.sleep(1)
    finally:
        engine.dispose()
    return decided
