"""The parent of ``payez serve``'s web processes (``entrypoints/web/processes.py``), with real
forks running stand-ins for the server: how it stops them, and what it does when one ends."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from payez.bench import proc
from payez.entrypoints.web.processes import _serve_child, listening_socket, run_processes


def note_pid(pids: Path, index: int) -> None:
    # Written whole under another name, then renamed: a process stopped mid-write must not
    # leave an empty note that looks like a process that started.
    part = pids / f"{index}.part"
    part.write_text(str(os.getpid()))
    os.replace(part, pids / str(index))


def noted(pids: Path) -> int:
    return sum(1 for path in pids.iterdir() if path.name.isdigit())


def sleeper(pids: Path) -> Callable[[int], None]:
    """A stand-in web process: notes its pid, then waits to be signalled."""

    def serve_one(index: int) -> None:
        note_pid(pids, index)
        time.sleep(60)

    return serve_one


def started(pids: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 10
    while noted(pids) < count:
        assert time.monotonic() < deadline, "the processes did not start"
        time.sleep(0.02)
    return [int((pids / str(index)).read_text()) for index in range(count)]


def stop_later(stop: threading.Event, when: Callable[[], bool]) -> threading.Thread:
    def wait_then_stop() -> None:
        deadline = time.monotonic() + 10
        while not when() and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()

    thread = threading.Thread(target=wait_then_stop)
    thread.start()
    return thread


def test_stopping_the_parent_stops_every_process(tmp_path: Path) -> None:
    stop = threading.Event()
    waiter = stop_later(stop, lambda: noted(tmp_path) == 3)
    status = run_processes(3, sleeper(tmp_path), stop, stop_seconds=5)
    waiter.join()
    assert status == 0
    assert not any(proc.is_running(pid) for pid in started(tmp_path, 3))


def test_a_process_that_ends_on_its_own_stops_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def serve_one(index: int) -> None:
        if index == 1:
            started(tmp_path, 1)  # so that process 0 is stopped, not cut off before its note
            return  # as a server that stopped by itself
        sleeper(tmp_path)(index)

    started_at = time.monotonic()
    status = run_processes(2, serve_one, threading.Event(), stop_seconds=5)
    assert status == 1
    assert time.monotonic() - started_at < 5
    assert "web process 1 ended on its own (status 0)" in caplog.text
    assert not proc.is_running(started(tmp_path, 1)[0])


def test_a_process_that_fails_at_start_stops_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def serve_one(index: int) -> None:
        if index == 0:
            raise RuntimeError("no database")
        note_pid(tmp_path, 1)
        time.sleep(60)

    assert run_processes(2, serve_one, threading.Event(), stop_seconds=5) == 1
    assert "web process 0 ended on its own (status 1)" in caplog.text


def test_a_process_deaf_to_sigterm_is_killed_at_the_deadline(tmp_path: Path) -> None:
    def serve_one(index: int) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sleeper(tmp_path)(index)

    stop = threading.Event()
    waiter = stop_later(stop, lambda: noted(tmp_path) == 1)
    started_at = time.monotonic()
    assert run_processes(1, serve_one, stop, stop_seconds=0.5) == 0
    waiter.join()
    assert time.monotonic() - started_at < 5
    assert not proc.is_running(started(tmp_path, 1)[0])


def test_a_stop_asked_before_the_fork_starts_nothing(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    assert run_processes(2, sleeper(tmp_path), stop, stop_seconds=5) == 0
    assert list(tmp_path.iterdir()) == []


def test_every_process_accepts_on_the_one_socket() -> None:
    with listening_socket("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
        assert sock.get_inheritable()
        with contextlib.closing(socket.create_connection(("127.0.0.1", port), timeout=2)):
            accepted, _ = sock.accept()
            accepted.close()


def test_a_process_whose_parent_is_already_gone_serves_nothing_and_did_not_fail(
    tmp_path: Path,
) -> None:
    pid = os.fork()
    if pid == 0:
        # The parent it was forked for is not its parent (pid 1 never forks web processes).
        _serve_child(sleeper(tmp_path), 0, parent=1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert list(tmp_path.iterdir()) == [], "it served"
