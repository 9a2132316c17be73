"""Serve any ASGI application with uvicorn on a free 127.0.0.1 port, in a background thread.

    with serve(app) as server:
        httpx.get(server.url + "/path")
        server.stop(); server.start()   # same port: a real outage, then recovery

``before_stop`` runs before each stop (for example to end the sandbox's open streams).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class ServedApp:
    def __init__(
        self,
        app: Any,
        *,
        port: int = 0,
        before_stop: Callable[[], None] | None = None,
        graceful_seconds: int = 2,
    ) -> None:
        self.app = app
        self.before_stop = before_stop
        self.graceful_seconds = graceful_seconds
        self._socket: socket.socket | None = _bind(port)
        self.port: int = self._socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            return
        sock = self._socket if self._socket is not None else _bind(self.port)
        self._socket = None
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=self.graceful_seconds,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def stop(self, timeout: float = 15.0) -> None:
        if self._server is None or self._thread is None:
            return
        if self.before_stop is not None:
            self.before_stop()
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("the test server did not stop")
        self._server = self._thread = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def serve(app: Any, **options: Any) -> Iterator[ServedApp]:
    served = ServedApp(app, **options)
    served.start()
    try:
        yield served
    finally:
        served.stop()
