"""The parts of stopping below the commands (tests/e2e/test_stopping.py runs the commands):
a worker told to stop never starts, waits for its threads only until its deadline, and a process
abandons the threads that will not end instead of waiting for them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from payez.adapters.networks.memory import InMemoryNetwork
from payez.entrypoints.worker import Worker
from payez.ports.network import MentionPage
from tests.integration.pipeline_world import World


class StuckNetwork(InMemoryNetwork):
    """A network whose mention polls hang until released, as a server that never answers."""

    def __init__(self) -> None:
        super().__init__(name="memory")
        self.polling = threading.Event()
        self.release = threading.Event()

    def fetch_mentions(self, cursor: str | None, limit: int = 40) -> MentionPage:
        self.polling.set()
        self.release.wait(60)
        return super().fetch_mentions(cursor, limit)


def test_a_worker_told_to_stop_never_starts(sqlite_url: str) -> None:
    world = World.create(sqlite_url)
    stop = threading.Event()
    worker = Worker(world.ctx, stop=stop)
    stop.set()  # the server began stopping before it got round to starting the worker
    worker.start()
    assert worker.threads == []
    assert worker.shutdown() == []


def test_shutdown_abandons_a_thread_stuck_past_its_deadline(sqlite_url: str) -> None:
    world = World.create(sqlite_url)
    network = StuckNetwork()
    world.ctx.networks = {"memory": network}
    worker = Worker(world.ctx, stream=False, idle_seconds=0.05)
    worker.start()
    try:
        assert network.polling.wait(30)
        left = worker.shutdown(timeout=0.5)
        # Every other loop saw the stop; the stuck one is named and left to die with the process.
        assert left == ["poll-memory"]
        assert [t.name for t in worker.threads if t.is_alive()] == ["poll-memory"]
        assert all(t.daemon for t in worker.threads)
    finally:
        network.release.set()
        for thread in worker.threads:
            thread.join(10)
    assert not any(t.is_alive() for t in worker.threads)


def _exit_with_a_thread(tmp_path: Path, thread_seconds: float) -> tuple[int, bool]:
    """Run a process whose non-daemon thread writes a file after ``thread_seconds``, and which
    then calls ``exit_without_stragglers(2)``; returns its status and whether the file exists."""
    done = tmp_path / "done"
    program = textwrap.dedent(
        f"""
        import pathlib, threading, time
        from payez.entrypoints.stopping import exit_without_stragglers

        def work():
            time.sleep({thread_seconds})
            pathlib.Path({str(done)!r}).write_text("done")

        threading.Thread(target=work, name="slow-handler").start()
        exit_without_stragglers(2)
        """
    )
    process = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=60)
    return process.returncode, done.exists()


def test_a_thread_that_ends_in_time_is_waited_for(tmp_path: Path) -> None:
    assert _exit_with_a_thread(tmp_path, 0.2) == (0, True)


def test_a_thread_that_would_outlive_the_deadline_is_abandoned(tmp_path: Path) -> None:
    # Left alone, Python would wait the 30 s for the thread, then the file would exist.
    assert _exit_with_a_thread(tmp_path, 30) == (0, False)
