"""How a long-running command (``payez serve``, ``payez worker``) stops.

SIGTERM and SIGINT only *ask* for the stop: the command winds its work down (every loop honours
one stop event) and returns, so the process exits normally, with status 0, within seconds. A
second signal while stopping changes nothing; SIGKILL remains the hard stop. Whatever is still
running at the end (a request handler blocked in a slow call, say) is abandoned, as SIGKILL would
abandon it: every step is one transaction, so nothing is left half-written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

log = logging.getLogger("payez.stopping")


@contextlib.contextmanager
def stop_on_signals(request_stop: Callable[[], None]) -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT call ``request_stop`` (which must not block).

    Install it first thing, so a signal during start-up (a migration, say) is not lost and does
    not kill the process half-way: the command checks for the stop before it serves.
    """

    def handle(_signal: int, _frame: FrameType | None) -> None:
        request_stop()

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exit_without_stragglers(timeout: float) -> None:
    """Give the threads still running (daemon threads aside, which the exit ends anyway) up to
    ``timeout`` seconds, then, if some are left, exit at once rather than wait for them.

    Python waits for every non-daemon thread before it exits, and some are not ours to stop (the
    server's thread pool, running a request's handler); the deadline must hold all the same.
    """
    deadline = time.monotonic() + timeout
    for thread in _stragglers():
        thread.join(max(0.0, deadline - time.monotonic()))
    left = [thread.name for thread in _stragglers()]
    if not left:
        return
    log.warning("stopped; abandoning threads still busy: %s", ", ".join(left))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _stragglers() -> list[threading.Thread]:
    current = threading.current_thread()
    return [t for t in threading.enumerate() if t is not current and not t.daemon and t.is_alive()]
