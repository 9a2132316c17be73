"""Crash storm on PostgreSQL: ``payez serve`` (web app and sandbox network) and two ``payez
worker`` processes, as real subprocesses, under a steady stream of commands posted on the
sandbox (payments, payments to someone who must claim them, purchases of a listing with little
stock, donations), each process killed with SIGKILL at random moments, more than fifty kills in
all, and restarted. Afterwards: the ledger check passes, every command has exactly one payment
decision and exactly one reply, every payment waiting for a claim is still there, and the
listing is not oversold."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from mastodon import Mastodon, MastodonError

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.tables.payments import inbox, listings, orders, payments
from payez.config import load_settings
from payez.sandbox.demo import LISTING_STOCK, seed_demo
from tests.e2e.service_world import free_port
from tests.e2e.test_failures import replies_per_command

PAYEZ = [sys.executable, "-m", "payez.entrypoints.cli"]
KILLS = 52


def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.25)


class Fleet:
    """The three processes, each restarted after it is killed."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env, self.port = env, port
        self.log = log_path.open("w")
        self.commands = {
            "serve": [*PAYEZ, "serve", "--no-worker", "--port", str(port)],
            "worker-1": [*PAYEZ, "worker", "--port", str(port)],
            "worker-2": [*PAYEZ, "worker", "--port", str(port)],
        }
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: Counter[str] = Counter()

    def start(self, name: str) -> None:
        self.running[name] = subprocess.Popen(
            self.commands[name], env=self.env, stdout=self.log, stderr=self.log
        )

    def kill(self, name: str) -> None:
        process = self.running[name]
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        self.kills[name] += 1

    def healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/healthz"
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()
        for process in self.running.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.log.close()


class Poster:
    """People posting commands, each post with an idempotency key: a post whose answer was lost
    in a crash is sent again with the same key, and made once."""

    def __init__(self, base: str, passwords: dict[str, str]) -> None:
        app = Mastodon.create_app("storm", api_base_url=base, scopes=["read", "write"])
        self.base, self.app, self.passwords = base, app, passwords
        self.clients: dict[str, Mastodon] = {}
        self.posted: dict[str, int] = {}  # idempotency key -> status id

    def client(self, handle: str) -> Mastodon:
        if handle not in self.clients:
            api = Mastodon(
                client_id=self.app[0],
                client_secret=self.app[1],
                api_base_url=self.base,
                version_check_mode="none",
                request_timeout=5,
            )
            api.log_in(handle, self.passwords[handle], scopes=["read", "write"])
            self.clients[handle] = api
        return self.clients[handle]

    def post(self, key: str, handle: str, text: str, in_reply_to: int | None = None) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                status = self.client(handle).status_post(
                    text, in_reply_to_id=in_reply_to, idempotency_key=key
                )
                self.posted[key] = int(status["id"])
                return
            except (MastodonError, OSError):
                assert time.monotonic() < deadline, f"could not post {key}"
                time.sleep(0.3)  # the server is down or restarting


@pytest.mark.slow
@pytest.mark.postgres
def test_a_storm_of_kills_loses_and_doubles_nothing(postgres_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PAYEZ_DATABASE_URL": postgres_url,
        "PAYEZ_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYEZ_CONFIRM": "never",
    }
    engine = make_engine(postgres_url)
    passwords = {u.handle: u.password for u in seed_demo(engine, load_settings(env))}
    with engine.connect() as conn:
        listing_post = int(conn.execute(sa.select(listings.c.post_id)).scalar_one())
    fleet = Fleet(env, port, tmp_path / "storm.log")
    rng = random.Random(2014)
    stop_kills = threading.Event()

    def keep_killing() -> None:
        while not stop_kills.is_set() and sum(fleet.kills.values()) < KILLS:
            stop_kills.wait(rng.uniform(0.4, 1.6))
            name = rng.choice(sorted(fleet.running))
            fleet.kill(name)
            fleet.start(name)

    try:
        for name in fleet.commands:
            fleet.start(name)
        _wait_for(fleet.healthy, 90)
        poster = Poster(f"http://127.0.0.1:{port}/sandbox", passwords)
        killer = threading.Thread(target=keep_killing)
        killer.start()
        expected: dict[str, str] = {}  # key -> kind
        n = 0
        while killer.is_alive() or n < 60:
            n += 1
            kind = ("pay", "claim", "donate", "buy")[n % 4]
            payer = ("alice", "bob", "carol")[n % 3]
            key = f"storm-{n}"
            if kind == "pay":
                poster.post(key, payer, f"@payez envoie {n % 7 + 1}€ à @bob #{n}")
            elif kind == "claim":
                poster.post(key, payer, f"@payez envoie {n % 5 + 1}€ à @dave #{n}")
            elif kind == "donate":
                poster.post(key, payer, f"@payez donne {n % 9 + 1}€ à @restos #{n}")
            else:
                poster.post(key, payer, f"@payez j'achète #{n}", in_reply_to=listing_post)
            expected[key] = kind
            time.sleep(0.05)
        killer.join(120)
        assert not killer.is_alive()
        assert sum(fleet.kills.values()) >= 50
        # The storm is over: the fleet, all running, finishes the work.
        _wait_for(fleet.healthy, 90)
        posted = set(poster.posted.values())

        def all_answered() -> bool:
            replies = replies_per_command(engine)
            return posted <= set(replies)

        _wait_for(all_answered, 180)
        time.sleep(2)  # room for a double reply or payment to show up, if there were one
    finally:
        stop_kills.set()
        fleet.stop()

    replies = replies_per_command(engine)
    assert {post: replies[post] for post in posted} == dict.fromkeys(posted, 1)
    with engine.connect() as conn:
        decisions = Counter(
            int(r[0])
            for r in conn.execute(
                sa.select(inbox.c.post_id).join(payments, payments.c.inbox_id == inbox.c.id)
            )
        )
        states = Counter(
            (r[0], r[1])
            for r in conn.execute(
                sa.select(payments.c.kind, payments.c.state).where(payments.c.amount_cents > 0)
            )
        )
        sold = conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
        stock = conn.execute(sa.select(listings.c.stock)).scalar_one()
        held = conn.execute(
            sa.select(sa.func.count())
            .select_from(payments)
            .where(payments.c.state == "held_for_claim", payments.c.claim_token.is_not(None))
        ).scalar_one()
    assert {post: decisions[post] for post in posted} == dict.fromkeys(posted, 1)
    claims = sum(1 for kind in expected.values() if kind == "claim")
    assert held == claims  # every payment to dave waits for him, none lost, none doubled
    assert sold == LISTING_STOCK and stock == 0  # sold out, never oversold
    report = check_ledger(engine)
    assert report.ok, report.problems
    print(f"kills: {dict(fleet.kills)}; commands: {Counter(expected.values())}; states: {states}")
    engine.dispose()
