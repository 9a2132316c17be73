"""``payez bench load``: minutes of mixed traffic on a real ``payez serve``, from loopback.

One ``payez serve`` process (web app, sandbox network and worker) on a fresh database. At the
same time:

- sandbox users post payment commands at a steady rate through the sandbox's Mastodon API
  (most pay a member, some are refused for their amount, some wait for a newcomer's claim);
- members logged in to the web app browse their dashboard, a payment's page, their settings,
  read the JSON API and export their history as CSV;
- members post payments above the PSD2 single-payment threshold (30 €), which wait for the
  sender's confirmation: each is confirmed on its web page with the member's TOTP code, as the
  member would (one code per 30 s step, as codes are single-use);
- the card processor's webhook is delivered signed, as the sandbox processor sends it (then the
  same event again, which must be recognised as a duplicate), and an unsigned one is refused.

Every answer is checked (status, and no 5xx anywhere); each kind of request reports its
latency percentiles; the server's resident memory is sampled every few seconds, and "flat"
means the last fifth of the run averages within 10 % of the second fifth (the first one warms
caches). At the end the ledger is checked, every command post must have one decision and no
payment may still wait for a confirmation.
"""

from __future__ import annotations

import functools
import json
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
import pyotp
import sqlalchemy as sa

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.migrate import migrate
from payez.adapters.db.tables.payments import inbox, payments, users
from payez.bench.e2e import (
    _environment,
    free_port,
    sandbox_members,
    start_payez,
    stop_process,
    wait_until_up,
)
from payez.bench.ledger import Database, bench_database
from payez.bench.stats import percentile
from payez.config import load_settings
from payez.domain.payments import PaymentState
from payez.sandbox.cards import SandboxCardProcessor
from payez.service.passwords import hash_password
from payez.service.second_factor import enrol_totp_secret

PASSWORD = "load-test-password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Only a payment above the single-payment threshold asks for a confirmation: the cumulative
# PSD2 counters would stop every sender without a web login after five payments.
CONFIRMATION_SETTINGS = {
    "PAYEZ_CONFIRM": "psd2",
    "PAYEZ_PSD2_CUMULATIVE_COUNT": str(10**6),
    "PAYEZ_PSD2_CUMULATIVE_CENTS": str(10**12),
}
ABOVE_THRESHOLD = "40€"
TOTP_STEP_SECONDS = 30


@dataclass
class Tally:
    """What the load generator saw, by kind of request."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(
        self, kind: str, call: Callable[[], httpx.Response], ok: set[int]
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            answer = call()
            status = answer.status_code
        except httpx.HTTPError as exc:
            self.note(f"{kind}: {type(exc).__name__}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies[kind].append(elapsed)
        if status not in ok:
            self.note(f"{kind}: HTTP {status}")
        return answer

    def note(self, error: str) -> None:
        with self.lock:
            self.errors.append(error)


@dataclass(frozen=True)
class Member:
    """A member with a web login and a TOTP factor; ``index`` names its sandbox account."""

    user_id: int
    email: str
    index: int
    totp_secret: str


def _give_logins(url: str, port: int, count: int) -> list[Member]:
    """Web logins and TOTP factors for the first ``count`` members."""
    settings = load_settings(_environment(url, port))
    engine = make_engine(url)
    members = []
    hashed = hash_password(PASSWORD)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(users.c.id, users.c.display_name).order_by(users.c.id).limit(count)
        ).all()
        for user_id, handle in rows:
            email = f"member{user_id}@example.org"
            conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(email=email, password_hash=hashed, email_verified_at=now)
            )
            secret = pyotp.random_base32()
            enrol_totp_secret(conn, settings, user_id, secret, now)
            # sandbox_members names its users user0, user1, ... in the order it opens them.
            members.append(Member(user_id, email, int(handle.removeprefix("user")), secret))
    engine.dispose()
    return members


class Confirmations:
    """Members confirming, on their web pages, the payments that wait for them."""

    def __init__(self, base: str, engine: sa.Engine, members: list[Member], tally: Tally):
        self.engine = engine
        self.members = members
        self.tally = tally
        self.clients = {m.user_id: _logged_in(base, m.email) for m in members}
        self.last_step: dict[int, int] = {}
        self.asked = 0
        self.confirmed = 0

    def confirm_waiting(self) -> int:
        """Confirm what waits now, one payment per member and TOTP step; how many still wait."""
        waiting = self._waiting()
        for member in self.members:
            token = waiting.get(member.user_id)
            step = int(time.time()) // TOTP_STEP_SECONDS
            if token is None or self.last_step.get(member.user_id) == step:
                continue
            self.last_step[member.user_id] = step
            if self._confirm(member, token):
                self.confirmed += 1
        return _still_awaiting_confirmation(self.engine)

    def finish(self, timeout: float) -> None:
        """Go on confirming after the traffic stopped, until nothing waits."""
        deadline = time.time() + timeout
        while self.confirm_waiting() and time.time() < deadline:
            time.sleep(1)
        for client in self.clients.values():
            client.close()

    def _waiting(self) -> dict[int, str]:
        """Each member's oldest payment waiting for a confirmation: its token."""
        query = sa.select(payments.c.sender_user_id, payments.c.confirm_token).where(
            payments.c.state == PaymentState.AWAITING_CONFIRMATION,
            payments.c.sender_user_id.in_([m.user_id for m in self.members]),
        )
        with self.engine.connect() as conn:
            return {int(u): str(t) for u, t in conn.execute(query.order_by(payments.c.id.desc()))}

    def _confirm(self, member: Member, token: str) -> bool:
        client = self.clients[member.user_id]
        page = self.tally.timed(
            "confirm_page", functools.partial(client.get, f"/confirm/{token}"), {200}
        )
        found = _CSRF.search(page.text) if page is not None else None
        if found is None:
            self.tally.note("confirm_page: no form")
            return False
        form = {
            "csrf_token": found[1],
            "method": "totp",
            "code": pyotp.TOTP(member.totp_secret).now(),
        }
        answer = self.tally.timed(
            "confirm", functools.partial(client.post, f"/confirm/{token}", data=form), {200}
        )
        return answer is not None and answer.status_code == 200


def _still_awaiting_confirmation(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(payments)
                .where(payments.c.state == PaymentState.AWAITING_CONFIRMATION)
            ).scalar_one()
        )


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
        return round(percentile(ordered, share), 1)

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
        members = _give_logins(url, port, browsers)
        base = f"http://127.0.0.1:{port}"
        warmed = _first_payments(url, port, tokens)
        server = start_payez(["serve"], url, port, **CONFIRMATION_SETTINGS)
        engine = make_engine(url)
        try:
            wait_until_up(base, server)
            time.sleep(2)  # the worker connects its stream
            confirmations = Confirmations(base, engine, members, tally)
            posted = _drive(
                base, tokens, members, confirmations, tally, memory, server, seconds, posts_per_s
            )
            decided = _wait_for_decisions(url, warmed + posted, timeout=120) - warmed
            confirmations.finish(timeout=TOTP_STEP_SECONDS * 3 + 30)
            waiting = _still_awaiting_confirmation(engine)
        finally:
            stop_process(server)
            engine.dispose()
        checked = make_engine(url)
        report = check_ledger(checked)
        checked.dispose()
    if not report.ok:
        tally.errors.extend(f"ledger: {p}" for p in report.problems)
    if decided < posted:
        tally.errors.append(f"decisions: {decided} of {posted} command posts")
    if waiting:
        tally.errors.append(f"confirmations: {waiting} payments still wait for one")
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
        "confirmations_asked": confirmations.asked,
        "confirmed": confirmations.confirmed,
        "awaiting_confirmation_left": waiting,
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
    members: list[Member],
    confirmations: Confirmations,
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

    def asker() -> None:
        """Members post payments that need their confirmation, each member at most once per
        TOTP step, and confirm them as they arrive."""
        client = httpx.Client(base_url=f"{base}/sandbox", timeout=30)
        pause = (TOTP_STEP_SECONDS + 2) / max(1, len(members))
        n = 0
        while members and not stop.wait(pause):
            member = members[n % len(members)]
            recipient = (member.index + 1 + n % (len(tokens) - 1)) % len(tokens)  # never self
            tally.timed(
                "post_confirmable",
                functools.partial(
                    client.post,
                    "/api/v1/statuses",
                    data={"status": f"@payez envoie {ABOVE_THRESHOLD} à @user{recipient}"},
                    headers={"Authorization": f"Bearer {tokens[member.index]}"},
                ),
                {200},
            )
            confirmations.asked += 1
            n += 1
            confirmations.confirm_waiting()
        client.close()

    def webhooks() -> None:
        client = httpx.Client(base_url=base, timeout=30)
        # The server's sandbox processor signs and checks with its default secret.
        processor = SandboxCardProcessor(confirmations.engine, base_url=base)
        n = 0
        while not stop.is_set():
            # Unsigned: must be refused, and never a 5xx.
            tally.timed(
                "webhook_unsigned",
                lambda: client.post("/webhooks/sandbox", content=b'{"type": "charge.succeeded"}'),
                {400, 401, 403},
            )
            payload, signature = processor.signed_event(
                "customer.updated", {"id": f"cus_load{n}", "object": "customer"}
            )
            headers = {"stripe-signature": signature, "content-type": "application/json"}
            for kind, expected in (("webhook_signed", "ignored"), ("webhook_again", "duplicate")):
                answer = tally.timed(
                    kind,
                    functools.partial(
                        client.post, "/webhooks/sandbox", content=payload, headers=headers
                    ),
                    {200},
                )
                if answer is not None and answer.status_code == 200:
                    got = json.loads(answer.content).get("outcome")
                    if got != expected:
                        tally.note(f"{kind}: outcome {got}, not {expected}")
            n += 1
            time.sleep(0.5)
        client.close()

    def sampler() -> None:
        started = time.time()
        while not stop.is_set():
            memory.append((time.time() - started, _rss_mb(server.pid)))
            stop.wait(5)

    threads = [threading.Thread(target=poster), threading.Thread(target=webhooks)]
    threads.append(threading.Thread(target=asker))
    threads += [threading.Thread(target=browser, args=(m.email,)) for m in members]
    threads.append(threading.Thread(target=sampler))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    return posted[0] + confirmations.asked


def _first_payments(url: str, port: int, tokens: list[str]) -> int:
    """Every user pays once, with confirmations off, before the run: under PSD2 a first
    payment always waits for its sender's confirmation, and most users have no web login."""
    base = f"http://127.0.0.1:{port}"
    server = start_payez(["serve"], url, port)
    try:
        wait_until_up(base, server)
        time.sleep(2)  # the worker connects its stream
        with httpx.Client(base_url=f"{base}/sandbox", timeout=30) as client:
            for n, token in enumerate(tokens):
                answer = client.post(
                    "/api/v1/statuses",
                    data={"status": f"@payez envoie 1€ à @user{(n + 1) % len(tokens)}"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                answer.raise_for_status()
        decided = _wait_for_decisions(url, len(tokens), timeout=60)
    finally:
        stop_process(server)
    if decided < len(tokens):
        raise RuntimeError(f"warm-up: {decided} of {len(tokens)} first payments decided")
    return decided


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
