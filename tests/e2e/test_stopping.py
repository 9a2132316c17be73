"""Stopping: ``payez serve`` and ``payez worker`` exit on SIGTERM or SIGINT, whatever is going on.

Each test starts the real command in a subprocess, brings it to a situation (idle, a streaming
client connected, a request half-received, a worker that has just worked), sends the signal and
waits at most ``STOP_LIMIT`` seconds: a supervisor's patience before it sends SIGKILL. The
process must have exited by then with status 0 (a stop asked for and carried out is a success),
and the ledger must check clean afterwards. Every subprocess is killed in a ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from mastodon import Mastodon

from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import payments
from payez.config import load_settings
from payez.sandbox.demo import seed_demo
from tests.e2e.service_world import free_port
from tests.e2e.test_failures import replies_per_command

PAYEZ = [sys.executable, "-m", "payez.entrypoints.cli"]
STOP_LIMIT = 10.0


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def payez(
    command: str,
    database_url: str,
    tmp_path: Path,
    *args: str,
    port: int | None = None,
    **settings: str,
) -> Iterator[Running]:
    """``payez COMMAND`` in a subprocess on ``database_url``, with ``settings`` added to its
    environment; killed on the way out if alive."""
    port = port or free_port()
    env = {
        **os.environ,
        "PAYEZ_DATABASE_URL": database_url,
        "PAYEZ_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYEZ_CONFIRM": "never",
        **settings,
    }
    log = tmp_path / f"{command}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*PAYEZ, command, "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Running(process, port, env, log)
    try:
        if command == "serve":
            _wait_for(lambda: _healthy(port) or process.poll() is not None, timeout=60)
            assert process.poll() is None, f"payez serve died:\n{running.log_text()}"
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def stop(running: Running, sig: signal.Signals = signal.SIGTERM) -> float:
    """Send ``sig``; returns the seconds the process took to exit, failing past ``STOP_LIMIT``."""
    started = time.monotonic()
    running.process.send_signal(sig)
    try:
        returncode = running.process.wait(STOP_LIMIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_LIMIT:.0f} s after {sig.name}:\n{running.log_text()}")
    elapsed = time.monotonic() - started
    print(f"\n{running.process.args[3]} stopped by {sig.name} in {elapsed:.2f} s")
    assert returncode == 0, f"exit status {returncode}:\n{running.log_text()}"
    return elapsed


def assert_ledger_sound(database_url: str) -> None:
    checked = subprocess.run(
        [*PAYEZ, "ledger", "check"],
        env={**os.environ, "PAYEZ_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def worker_streaming(running: Running) -> Callable[[], bool]:
    """True once the worker holds its stream to the sandbox open (the adapter logs it)."""
    return lambda: "stream connected" in running.log.read_text(errors="replace")


@contextlib.contextmanager
def raw_request(port: int, head: str, body: bytes = b"") -> Iterator[socket.socket]:
    """An HTTP request written by hand, so a test decides when (and whether) it ends."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        yield sock
    finally:
        sock.close()


def _read_until(sock: socket.socket, marker: bytes) -> bytes:
    received = b""
    while marker not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


# -- payez serve ----------------------------------------------------------------------------------


def test_idle_serve_stops_on_sigterm(tmp_path: Path) -> None:
    """A fresh database, nobody connected: only the worker's own stream to the sandbox is open."""
    database_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with payez("serve", database_url, tmp_path) as running:
        _wait_for(worker_streaming(running))
        stop(running)
    assert_ledger_sound(database_url)


def test_idle_serve_stops_on_sigint(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with payez("serve", database_url, tmp_path) as running:
        _wait_for(worker_streaming(running))
        stop(running, signal.SIGINT)
    assert_ledger_sound(database_url)


@pytest.mark.parametrize("worker", ["--worker", "--no-worker"])
def test_serve_stops_with_a_streaming_client_connected(
    sqlite_url: str, tmp_path: Path, worker: str
) -> None:
    """A client that keeps a sandbox stream open and never hangs up."""
    with (
        payez("serve", sqlite_url, tmp_path, worker) as running,
        raw_request(
            running.port,
            f"GET /sandbox/api/v1/streaming/public HTTP/1.1\nHost: 127.0.0.1:{running.port}\n",
        ) as client,
    ):
        assert b":)" in _read_until(client, b":)"), "the stream did not open"
        stop(running)
        # The server ended the stream before it went: the client reads the end, not a reset.
        client.settimeout(1)
        assert _read_until(client, b"0\r\n\r\n").endswith(b"0\r\n\r\n")
    assert_ledger_sound(sqlite_url)


@pytest.mark.parametrize("worker", ["--worker", "--no-worker"])
def test_serve_stops_with_a_request_half_received(
    sqlite_url: str, tmp_path: Path, worker: str
) -> None:
    """A slow client: the request's headers are in, its body never finishes arriving, so the
    request is in flight (the application awaits the rest of the body) when the signal comes."""
    with payez("serve", sqlite_url, tmp_path, worker) as running:
        head = (
            "POST /sandbox/api/v1/apps HTTP/1.1\n"
            f"Host: 127.0.0.1:{running.port}\n"
            "Content-Type: application/x-www-form-urlencoded\n"
            "Content-Length: 100000\n"
        )
        with raw_request(running.port, head, b"client_name=slo") as slow:
            slow.settimeout(0.5)
            with pytest.raises(TimeoutError):  # no answer: the request is still in flight
                slow.recv(1)
            stop(running)
    assert_ledger_sound(sqlite_url)


@dataclass
class Demo:
    passwords: dict[str, str]


def seed(database_url: str, port: int) -> Demo:
    settings = load_settings(
        {"PAYEZ_DATABASE_URL": database_url, "PAYEZ_BASE_URL": f"http://127.0.0.1:{port}"}
    )
    engine = make_engine(database_url)
    try:
        return Demo({u.handle: u.password for u in seed_demo(engine, settings)})
    finally:
        engine.dispose()


def post_payments(running: Running, demo: Demo, count: int) -> None:
    base = f"{running.base_url}/sandbox"
    app = Mastodon.create_app("stop-test", api_base_url=base, scopes=["read", "write"])
    alice = Mastodon(
        client_id=app[0], client_secret=app[1], api_base_url=base, version_check_mode="none"
    )
    alice.log_in("alice", demo.passwords["alice"], scopes=["read", "write"])
    for n in range(count):
        alice.status_post(f"@payez envoie {n + 1}€ à @bob #{n}")


def settled_and_answered(database_url: str, count: int) -> Callable[[], bool]:
    engine = make_engine(database_url)

    def done() -> bool:
        with engine.connect() as conn:
            settled = conn.execute(
                sa.select(sa.func.count()).where(payments.c.state == "settled")
            ).scalar_one()
        return settled == count and len(replies_per_command(engine)) == count

    return done


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_serve_stops_after_a_busy_run(
    database_factory: Callable[[str], str], tmp_path: Path, kind: str
) -> None:
    database_url = database_factory(kind)
    port = free_port()
    demo = seed(database_url, port)
    with payez("serve", database_url, tmp_path, port=port) as running:
        post_payments(running, demo, 5)
        _wait_for(settled_and_answered(database_url, 5), timeout=60)
        post_payments(running, demo, 3)  # and more work arriving as the signal does
        stop(running)
    assert_ledger_sound(database_url)


# -- payez worker ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_worker_stops_after_a_busy_run(
    sqlite_url: str, tmp_path: Path, sig: signal.Signals
) -> None:
    port = free_port()
    demo = seed(sqlite_url, port)
    with payez("serve", sqlite_url, tmp_path, "--no-worker", port=port) as served:
        with payez("worker", sqlite_url, tmp_path, port=port) as worker:
            post_payments(served, demo, 5)
            _wait_for(settled_and_answered(sqlite_url, 5), timeout=60)
            post_payments(served, demo, 3)
            stop(worker, sig)
        stop(served)
    assert_ledger_sound(sqlite_url)


def test_worker_stops_while_the_network_is_down(sqlite_url: str, tmp_path: Path) -> None:
    """The server went first: the worker is between reconnection attempts when told to stop."""
    port = free_port()
    with (
        payez("serve", sqlite_url, tmp_path, "--no-worker", port=port) as served,
        payez("worker", sqlite_url, tmp_path, port=port) as worker,
    ):
        _wait_for(worker_streaming(worker))
        stop(served)
        time.sleep(1)  # the stream has dropped; the worker backs off and retries
        stop(worker)
    assert_ledger_sound(sqlite_url)
