"""The PostgreSQL server restarted under a running service, twice (a fast shutdown, then an
immediate one, which is a crash to the clients): ``/healthz`` says the database is unreachable
while it is down, the web app and two workers reconnect on their own, and every command settles
exactly once with exactly one reply. A worker started while the database is down waits for
it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from mastodon import Mastodon

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.migrate import migrate
from payez.adapters.db.tables.payments import payments
from payez.config import load_settings
from payez.sandbox.demo import seed_demo
from tests.e2e.test_failures import replies_per_command
from tests.integration.pg_cluster import cluster_root, free_port, new_cluster

PAYEZ = [sys.executable, "-m", "payez.entrypoints.cli"]


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.2)


def _health(port: int) -> tuple[int, dict[str, str]]:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=15)
    except httpx.HTTPError:
        return 0, {}
    return answer.status_code, answer.json()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.mark.slow
def test_the_service_rides_out_two_database_restarts(tmp_path: Path) -> None:
    with cluster_root() as root, new_cluster(root) as server:
        server.start()
        server.execute("CREATE DATABASE payez")
        url = server.url("payez")
        migrate(url)
        port = free_port()
        env = {
            **os.environ,
            "PAYEZ_DATABASE_URL": url,
            "PAYEZ_BASE_URL": f"http://127.0.0.1:{port}",
            "PAYEZ_CONFIRM": "never",
        }
        engine = make_engine(url)
        passwords = {u.handle: u.password for u in seed_demo(engine, load_settings(env))}
        log = (tmp_path / "service.log").open("w")
        processes = [
            subprocess.Popen(
                [*PAYEZ, "serve", "--no-worker", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=log,
            )
        ]
        try:
            _wait_for(lambda: _health(port)[0] == 200)
            processes += [
                subprocess.Popen(
                    [*PAYEZ, "worker", "--port", str(port)], env=env, stdout=log, stderr=log
                )
                for _ in range(2)
            ]
            base = f"http://127.0.0.1:{port}/sandbox"
            app = Mastodon.create_app("restart-test", api_base_url=base, scopes=["read", "write"])
            alice = Mastodon(
                client_id=app[0],
                client_secret=app[1],
                api_base_url=base,
                version_check_mode="none",
            )
            alice.log_in("alice", passwords["alice"], scopes=["read", "write"])
            posted: list[int] = []
            amount = 0

            def post_some(count: int) -> None:
                nonlocal amount
                for _ in range(count):
                    n = len(posted) + 1
                    posted.append(int(alice.status_post(f"@payez envoie {n}€ à @bob #{n}")["id"]))
                    amount += n * 100

            def settled_so_far() -> bool:
                return _bob_received(engine) == amount

            post_some(10)
            time.sleep(0.5)  # the restart lands while the workers are busy
            for mode in ("fast", "immediate"):
                server.stop(mode)
                status, body = _health(port)
                assert status == 503, (status, body)
                assert body == {"status": "unavailable", "database": "unreachable"}
                if mode == "fast":
                    # A worker started while the database is down waits for it.
                    processes.append(
                        subprocess.Popen(
                            [*PAYEZ, "worker", "--port", str(port)],
                            env=env,
                            stdout=log,
                            stderr=log,
                        )
                    )
                time.sleep(2)  # the workers fail and back off meanwhile
                server.start()
                _wait_for(lambda: _health(port)[0] == 200)
                post_some(10)
            _wait_for(settled_so_far, timeout=120)
            _wait_for(lambda: len(replies_per_command(engine)) == len(posted), timeout=60)
            assert all(p.poll() is None for p in processes), "a process died"
        finally:
            for process in processes:
                _stop(process)
            log.close()
        with engine.connect() as conn:
            states = Counter(r[0] for r in conn.execute(sa.select(payments.c.state)))
        assert states == {"settled": len(posted)}
        replies = replies_per_command(engine)
        assert set(replies) == set(posted)
        assert set(replies.values()) == {1}
        report = check_ledger(engine)
        assert report.ok, report.problems
        engine.dispose()


def _bob_received(engine: sa.Engine) -> int:
    try:
        with engine.connect() as conn:
            total = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(payments.c.amount_cents), 0)).where(
                    payments.c.state == "settled"
                )
            ).scalar_one()
    except sa.exc.OperationalError:
        return -1
    return int(total)
