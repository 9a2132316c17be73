"""``payez serve`` in several web processes (``PAYEZ_WEB_PROCESSES``), on PostgreSQL.

The real command runs in a subprocess. What is proved: every process answers requests, any
process can carry on what another began (a sign-in, a stream), the worker runs once, and the
processes never outlive the service: SIGTERM stops them all with status 0, one that dies stops
the rest with an error status, and they follow a parent killed without a word.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from payez.adapters.db.engine import make_engine
from payez.bench import proc
from payez.sandbox.network import tables as sandbox_tables
from tests.e2e.service_world import free_port
from tests.e2e.test_stopping import (
    PAYEZ,
    STOP_LIMIT,
    Running,
    _wait_for,
    assert_ledger_sound,
    payez,
    post_payments,
    seed,
    settled_and_answered,
    stop,
    worker_streaming,
)

pytestmark = pytest.mark.postgres


def web_processes(running: Running) -> list[int]:
    return proc.children(running.process.pid)


def gone(pid: int) -> bool:
    return not proc.is_running(pid)


@contextlib.contextmanager
def two_processes(database_url: str, tmp_path: Path, port: int) -> Iterator[Running]:
    """``payez serve`` with two web processes; none is left alive, whatever the test did."""
    with payez("serve", database_url, tmp_path, port=port, PAYEZ_WEB_PROCESSES="2") as running:
        _wait_for(lambda: len(web_processes(running)) == 2)
        children = web_processes(running)
        try:
            yield running
        finally:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_two_web_processes_share_the_work_and_stop_together(
    postgres_url: str, tmp_path: Path
) -> None:
    port = free_port()
    demo = seed(postgres_url, port)
    with two_processes(postgres_url, tmp_path, port) as running:
        children = web_processes(running)
        _wait_for(worker_streaming(running))
        before = {pid: proc.cpu_seconds(pid) for pid in children}

        def page(_: int) -> int:
            # A new connection each time: the kernel hands it to whichever process accepts.
            response = httpx.get(f"{running.base_url}/sandbox/api/v1/instance", timeout=10)
            return response.status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(page, range(400))) == {200}
        assert all(proc.cpu_seconds(pid) > before[pid] for pid in children), "a process sat idle"

        # The sandbox app and its token, registered and issued on whichever process, serve
        # the posts on any other; the worker reads them and answers each once.
        post_payments(running, demo, 5)
        _wait_for(settled_and_answered(postgres_url, 5), timeout=60)
        assert running.log_text().count("stream connected") == 1, "the worker ran twice"
        stop(running)
        assert all(gone(pid) for pid in children)
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            payez_apps = conn.execute(
                sa.select(sa.func.count()).where(sandbox_tables.apps.c.name == "Payez")
            ).scalar_one()
    finally:
        engine.dispose()
    assert payez_apps == 1, "each process registered its own OAuth client"
    assert_ledger_sound(postgres_url)


def test_a_web_process_that_dies_stops_the_service(postgres_url: str, tmp_path: Path) -> None:
    with two_processes(postgres_url, tmp_path, free_port()) as running:
        first, second = web_processes(running)
        os.kill(second, signal.SIGKILL)
        returncode = running.process.wait(STOP_LIMIT)
        assert returncode == 1, running.log_text()
        assert "ended on its own" in running.log_text()
        assert gone(first)


def test_web_processes_follow_a_parent_killed_without_a_word(
    postgres_url: str, tmp_path: Path
) -> None:
    with two_processes(postgres_url, tmp_path, free_port()) as running:
        children = web_processes(running)
        running.process.kill()
        running.process.wait()
        deadline = time.monotonic() + STOP_LIMIT
        while not all(gone(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(gone(pid) for pid in children), "a web process outlived its parent"


def test_a_signal_to_the_whole_group_is_a_stop(postgres_url: str, tmp_path: Path) -> None:
    """Ctrl-C in a terminal, or a supervisor stopping a service, signals every process at once:
    the processes end as the parent learns of the stop, and that is no failure."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*PAYEZ, "serve", "--port", str(port)],
            env={**os.environ, "PAYEZ_DATABASE_URL": postgres_url, "PAYEZ_WEB_PROCESSES": "2"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, as a terminal's job
        )
    running = Running(process, port, {}, log)
    try:
        _wait_for(lambda: len(web_processes(running)) == 2, timeout=60)
        children = web_processes(running)
        _wait_for(worker_streaming(running))
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(STOP_LIMIT) == 0, running.log_text()
        assert all(gone(pid) for pid in children)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_port_taken_is_a_clear_error(postgres_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = subprocess.run(
            [*PAYEZ, "serve", "--port", str(port)],
            env={**os.environ, "PAYEZ_DATABASE_URL": postgres_url, "PAYEZ_WEB_PROCESSES": "2"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert served.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}: Address already in use" in served.stderr
    assert "Traceback" not in served.stderr
