"""SIGTERM and SIGINT ask a long-running command (``payez serve``, ``payez worker``) to stop.

They never kill it outright: the handler only asks for the stop, the command winds its work down
(every loop honours one stop event) and returns, so the process exits normally, with status 0,
within seconds. A second signal while stopping changes nothing; SIGKILL remains the hard stop.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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
