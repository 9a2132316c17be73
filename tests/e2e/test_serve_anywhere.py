"""Seed once, then serve the same database at three different addresses: a port alone, a host
name, and behind a reverse proxy. Each time alice pays by post and it is a payment, never "open
your Payez account first": linked identities do not depend on where the server listens."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
import sqlalchemy as sa
from mastodon import Mastodon

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.tables.payments import payments
from payez.config import load_settings
from payez.service.account_summary import account_summary
from payez.service.context import ServiceContext
from tests.e2e.service_world import free_port

PAYEZ = [sys.executable, "-m", "payez.entrypoints.cli"]
STOP_SECONDS = 10


def _payez(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([*PAYEZ, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s")
        time.sleep(0.2)


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def _serving(port: int, env: dict[str, str], log: IO[str]) -> Iterator[None]:
    """``payez serve --port PORT`` (web app, sandbox and worker), stopped however the test ends:
    SIGTERM, then SIGKILL if it is still running after a while."""
    server = subprocess.Popen(
        [*PAYEZ, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        yield
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextlib.contextmanager
def _reverse_proxy(target_port: int) -> Iterator[int]:
    """A TCP relay on its own port to ``target_port``: the address a proxy would publish."""
    listener = socket.create_server(("127.0.0.1", 0))
    open_sockets: list[socket.socket] = [listener]

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the relay is closed
            try:
                upstream = socket.create_connection(("127.0.0.1", target_port))
            except OSError:
                client.close()  # not listening yet: the client sees a dropped connection
                continue
            open_sockets.extend((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(source, sink), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _alice(base_url: str, password: str) -> Mastodon:
    api_base_url = f"{base_url}/sandbox"
    client_id, secret = Mastodon.create_app(
        "identity-e2e", api_base_url=api_base_url, scopes=["read", "write"]
    )
    alice = Mastodon(
        client_id=client_id,
        client_secret=secret,
        api_base_url=api_base_url,
        version_check_mode="none",
    )
    alice.log_in("alice", password, scopes=["read", "write"])
    return alice


@pytest.mark.slow
def test_seed_once_then_serve_at_three_addresses_and_pay_each_time(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'payez.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("PAYEZ_BASE_URL", "PAYEZ_PORT")}
    env.update(PAYEZ_DATABASE_URL=database_url, PAYEZ_CONFIRM="never")
    # Seeded at the default address, http://127.0.0.1:8000, where nothing is served here.
    users = json.loads(_payez("demo", "seed", "--json", env=env))["users"]

    engine = make_engine(database_url)
    ctx = ServiceContext(engine=engine, settings=load_settings(env))

    def bob_balance() -> int:
        return account_summary(ctx, "bob").balance_cents

    def bob_balance_shown() -> int:
        shown = json.loads(_payez("accounts", "show", "bob", "--json", env=env))
        return int(shown["balance_cents"])

    start = bob_balance()
    ports = [free_port() for _ in range(3)]
    runs: list[tuple[int, str | None]] = [
        (ports[0], None),  # --port alone: the default base URL follows the port
        (ports[1], f"http://localhost:{ports[1]}"),  # a host name
        (ports[2], "proxy"),  # behind a reverse proxy: the base URL names the proxy
    ]
    with (tmp_path / "serve.log").open("w") as log:
        for n, (port, base) in enumerate(runs, start=1):
            with contextlib.ExitStack() as stack:
                if base == "proxy":
                    base = f"http://127.0.0.1:{stack.enter_context(_reverse_proxy(port))}"
                served_env = dict(env) if base is None else {**env, "PAYEZ_BASE_URL": base}
                base_url = base or f"http://127.0.0.1:{port}"
                stack.enter_context(_serving(port, served_env, log))
                _wait_for(lambda url=base_url: _healthy(url), f"serve at {base_url}")
                alice = _alice(base_url, users["alice"]["password"])
                alice.status_post(f"@payez envoie 1€ à @bob run {n}")
                expected = start + n * 100
                _wait_for(lambda want=expected: bob_balance() == want, f"payment {n} at {base_url}")
                assert bob_balance_shown() == expected
    with engine.connect() as conn:
        states = [r.state for r in conn.execute(sa.select(payments.c.state))]
    assert states == ["settled"] * 3
    assert check_ledger(engine).ok
    engine.dispose()
