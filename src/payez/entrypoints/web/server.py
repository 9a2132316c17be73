"""The HTTP server of ``payez serve``: uvicorn, with the background work tied to its life.

uvicorn stops in this order: it stops listening, lets the requests in flight finish (at most
``GRACEFUL_SECONDS``, then cancels them), and only then runs the application's shutdown. Open
streams never finish by themselves, and the worker holds one to this very server, so the
background work must be told to stop when stopping *begins*, not at the end: :meth:`shutdown`
calls ``on_stopping`` first. The worker is started once the server listens (its network calls
come back here), and never once stopping has begun.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

import uvicorn

log = logging.getLogger("payez.server")

# Time left to the requests in flight, and to the worker (told to stop at the same moment), when
# the server stops: the process ends well within the 10 s a supervisor usually grants.
GRACEFUL_SECONDS = 4


class Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        *,
        stop: threading.Event,
        on_listening: Callable[[], None],
        on_stopping: Callable[[], None],
    ) -> None:
        super().__init__(config)
        self.stop = stop
        self.on_listening = on_listening
        self.on_stopping = on_stopping

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # A signal that came before uvicorn took the signal handlers over set ``stop``.
        if self.stop.is_set():
            self.should_exit = True
        elif self.started and not self.should_exit:
            self.on_listening()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info(
            "stopping; %d open connection(s) get %s s to finish",
            len(self.server_state.connections),
            self.config.timeout_graceful_shutdown,
        )
        self.stop.set()
        self.on_stopping()
        await super().shutdown(sockets)
