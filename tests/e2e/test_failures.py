"""Failure tests: replays, a dropped stream, and a worker killed with SIGKILL again and again.

Afterwards the ledger must be sound, every command settled exactly once, every reply posted once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from payez.adapters.db.cursors import save as save_cursor
from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.tables.payments import payments
from payez.config import load_settings
from payez.entrypoints.worker import Worker
from payez.sandbox.bootstrap import SANDBOX_NETWORK
from payez.sandbox.demo import seed_demo
from payez.sandbox.network import tables as sandbox_tables
from payez.sandbox.network.statuses import post_status
from tests.e2e.service_world import ServiceWorld, free_port

PAYEZ = [sys.executable, "-m", "payez.entrypoints.cli"]


def replies_per_command(world_engine: sa.Engine, service: str = "payez") -> Counter[int]:
    """How many replies the service account posted under each status."""
    with world_engine.connect() as conn:
        payez_id = conn.execute(
            sa.select(sandbox_tables.accounts.c.id).where(
                sandbox_tables.accounts.c.username == service
            )
        ).scalar_one()
        rows = conn.execute(
            sa.select(sandbox_tables.statuses.c.in_reply_to_id).where(
                sandbox_tables.statuses.c.account_id == payez_id,
                sandbox_tables.statuses.c.in_reply_to_id.is_not(None),
            )
        )
        return Counter(int(r[0]) for r in rows)


def test_replayed_notifications_move_nothing_twice(world: ServiceWorld) -> None:
    status = world.post("alice", "@payez envoie 5€ à @bob")
    world.step()
    # Forget where the listener got to: every notification is delivered again.
    with world.engine.begin() as conn:
        save_cursor(conn, SANDBOX_NETWORK, "0", datetime.now(UTC))
    world.step()
    world.step()
    assert world.balance("bob") == 50_500
    assert len(world.replies_to(status)) == 1


def test_dropped_stream_is_backfilled_without_loss_or_double(world: ServiceWorld) -> None:
    worker = Worker(world.ctx, poll_seconds=3600, timer_seconds=3600)
    worker.start()
    try:
        world.post("alice", "@payez envoie 1€ à @bob")
        _wait_for(lambda: world.balance("bob") == 50_100)
        world.server.stop()  # the network goes away: the stream drops
        with world.engine.begin() as conn:  # people go on posting meanwhile
            alice = conn.execute(
                sa.select(sandbox_tables.accounts.c.id).where(
                    sandbox_tables.accounts.c.username == "alice"
                )
            ).scalar_one()
            for cents in (2, 3):
                post_status(conn, alice, f"@payez envoie {cents}€ à @bob", datetime.now(UTC))
        world.server.start()
        _wait_for(lambda: world.balance("bob") == 50_600, timeout=60)
        time.sleep(1)
        assert world.balance("bob") == 50_600
    finally:
        worker.shutdown()


def _wait_for(condition: object, timeout: float = 30) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """``payez serve --no-worker`` in a subprocess: the web app and the sandbox network."""
    port = free_port()
    env = {
        **os.environ,
        "PAYEZ_DATABASE_URL": database_url,
        "PAYEZ_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYEZ_CONFIRM": "never",
    }
    settings = load_settings(env)
    engine = make_engine(database_url)
    passwords = {u.handle: u.password for u in seed_demo(engine, settings)}
    engine.dispose()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [*PAYEZ, "serve", "--no-worker", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        _wait_for(lambda: _healthy(port), timeout=60)
        yield {**env, "PORT": str(port), **{f"PW_{k}": v for k, v in passwords.items()}}
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_worker_killed_twenty_times_settles_every_command_once(
    served: dict[str, str], tmp_path: Path
) -> None:
    from mastodon import Mastodon

    port = served["PORT"]
    base = f"http://127.0.0.1:{port}/sandbox"
    app = Mastodon.create_app("kill-test", api_base_url=base, scopes=["read", "write"])
    alice = Mastodon(
        client_id=app[0], client_secret=app[1], api_base_url=base, version_check_mode="none"
    )
    alice.log_in("alice", served["PW_alice"], scopes=["read", "write"])
    rng = random.Random(2014)
    commands, kills = 30, 20
    posted: list[int] = []
    worker_log = (tmp_path / "worker.log").open("w")

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*PAYEZ, "worker", "--port", port], env=served, stdout=worker_log, stderr=worker_log
        )

    # Posts keep arriving while workers start and die at random instants: during start-up,
    # mid-batch, between the ledger commit and the reply, mid-reply.
    for round_ in range(kills):
        for n in range(round_ * commands // kills, (round_ + 1) * commands // kills):
            posted.append(int(alice.status_post(f"@payez envoie {n + 1}€ à @bob #{n}")["id"]))
        worker = start_worker()
        time.sleep(rng.uniform(0.3, 3.0))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    # A last worker runs to the end.
    engine = make_engine(served["PAYEZ_DATABASE_URL"])
    worker = start_worker()
    try:
        expected = sum(range(1, commands + 1)) * 100

        def all_done() -> bool:
            replies = replies_per_command(engine)
            return len(replies) == commands and _bob_received(engine) == expected

        _wait_for(all_done, timeout=120)
    finally:
        worker.terminate()
        worker.wait(10)
        worker_log.close()
    with engine.connect() as conn:
        states = Counter(r[0] for r in conn.execute(sa.select(payments.c.state)))
    assert states == {"settled": commands}
    replies = replies_per_command(engine)
    assert set(replies) == set(posted)
    assert set(replies.values()) == {1}
    assert check_ledger(engine).ok


def _bob_received(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(payments.c.amount_cents), 0)).where(
                payments.c.state == "settled"
            )
        ).scalar_one()
    return int(total)
