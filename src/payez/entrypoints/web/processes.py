"""Several web processes on one listening socket: ``payez serve`` with ``PAYEZ_WEB_PROCESSES``.

Why. One interpreter runs one thread of Python at a time, so one process answers requests on
one core at most, however many the machine has. The web app keeps nothing of its own in memory
between requests: sessions, login attempts and OAuth states are rows, the live dashboard and
the sandbox's streams poll the database. So any process can answer any request, and the kernel
hands each new connection to whichever process accepts it first.

How. The parent does what must happen once (migrations, the sandbox's service account and
OAuth client, binding the socket), then forks the processes and only watches them. It forks
before it holds any thread or database connection: a fork copies only the calling thread, and
a pooled connection used by two processes corrupts both. Each process then opens its own pool
and serves; the worker, when this command runs it, runs in the first process only.

Stopping. SIGTERM or SIGINT to the parent is passed on to every process, which stops as a lone
``payez serve`` does; the parent waits for them, and kills any still there after the deadline.
If one process ends on its own, the parent stops the others and exits with an error status: a
supervisor restarts the whole service rather than leave it answering on fewer cores, or a
worker-less half. The processes also get SIGTERM if the parent dies without a word (SIGKILL),
so none is ever left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger("payez.server")

# uvicorn's own backlog: connections the kernel queues while every process is busy.
BACKLOG = 2048
# How long a process that ended waits for the parent's own stop signal before it counts as a
# failure.
_SIGNAL_GRACE_SECONDS = 0.5
# Linux's prctl option asking for a signal when the parent process dies.
_PR_SET_PDEATHSIG = 1


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket every process accepts on, bound as uvicorn binds its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def run_processes(
    count: int, serve_one: Callable[[int], None], stop: threading.Event, *, stop_seconds: float
) -> int:
    """Fork ``count`` processes, each running ``serve_one(index)``, and watch them until ``stop``
    is set or one of them ends; return the parent's exit status (0, or 1 if one failed)."""
    parent = os.getpid()
    children: dict[int, int] = {}
    for index in range(count):
        if stop.is_set():
            break
        pid = os.fork()
        if pid == 0:
            _serve_child(serve_one, index, parent)
        children[pid] = index
    failed = _watch(children, stop)
    _stop_all(children, stop_seconds)
    return 1 if failed else 0


def _serve_child(serve_one: Callable[[int], None], index: int, parent: int) -> None:
    status = 0
    try:
        if not _dies_with(parent):
            return  # the parent is gone already: nothing to serve for, and nothing failed
        serve_one(index)
    except BaseException:
        log.exception("web process %d failed", index)
        status = 1
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        # Never return into the parent's code: this process ends here, whatever ran.
        os._exit(status)


def _dies_with(parent: int) -> bool:
    """Ask for SIGTERM when ``parent`` dies; False if it died before the request was in place."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    return os.getppid() == parent


def _watch(children: dict[int, int], stop: threading.Event) -> bool:
    """Wait for ``stop``; True if a process ended first (it is removed from ``children``)."""
    while children and not stop.wait(0.2):
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid in children:
            index = children.pop(pid)
            if stop.wait(_SIGNAL_GRACE_SECONDS):
                # A signal sent to the whole group (a terminal's Ctrl-C, a supervisor's stop)
                # can end a process before the parent has run its own handler: a stop.
                return False
            log.error(
                "web process %d ended on its own (%s): stopping the others",
                index,
                _described(status),
            )
            return True
    return False


def _stop_all(children: dict[int, int], stop_seconds: float) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + stop_seconds
    while children and time.monotonic() < deadline:
        pid, _status = os.waitpid(-1, os.WNOHANG)
        if pid in children:
            del children[pid]
        elif pid == 0:
            time.sleep(0.05)
    for pid, index in children.items():
        log.warning("web process %d still running after %s s: killed", index, stop_seconds)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _described(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"status {os.waitstatus_to_exitcode(status)}"
