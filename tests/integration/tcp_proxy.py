"""A TCP proxy on loopback in front of a real server, that a test can cut off and bring back:
an outage as a client sees one (connections dropped, then refused), whatever the protocol.

It also counts the open connections whose first request line names a path, so a test can tell
when a client holds a stream (a WebSocket) open.

A fault can be set for the next connections: ``"hang"`` (the request reaches the server, the
answer never comes back) or ``"truncate"`` (the request reaches the server, the answer is cut
after its first bytes): what a client sees of a timeout or of a connection lost mid-answer,
after the server may already have acted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from urllib.parse import urlsplit


class TcpProxy:
    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.StreamWriter, str] = {}
        self.fault: str | None = None  # None | "hang" | "truncate"
        self.truncate_after = 64  # bytes of the answer let through by "truncate"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        async def listen() -> asyncio.Server:
            return await asyncio.start_server(self._serve, "127.0.0.1", self.port)

        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(10)

    def stop(self) -> None:
        """Refuse new connections and drop the open ones."""
        server, self._server = self._server, None
        if server is None:
            return

        async def close() -> None:
            server.close()
            for writer in list(self._open):
                writer.transport.abort()
            self._open.clear()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)

    def open_connections(self, path_part: str) -> int:
        return sum(1 for first_line in list(self._open.values()) if path_part in first_line)

    def close(self) -> None:
        self.stop()

        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_the_rest(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open[writer] = ""
        self._open[upstream_writer] = ""

        async def pipe(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, client: bool
        ) -> None:
            first = client
            passed = 0
            try:
                while chunk := await source.read(65536):
                    if first:
                        self._open[writer] = chunk.split(b"\r\n", 1)[0].decode(errors="replace")
                        first = False
                    fault = self.fault  # read for every chunk: kept-alive connections too
                    if not client and fault == "hang":
                        continue  # the answer is swallowed: the client waits for it
                    if not client and fault == "truncate":
                        chunk = chunk[: max(0, self.truncate_after - passed)]
                        passed += len(chunk)
                        sink.write(chunk)
                        await sink.drain()
                        if passed >= self.truncate_after:
                            break
                        continue
                    sink.write(chunk)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.transport.abort()

        try:
            await asyncio.gather(
                pipe(reader, upstream_writer, client=True),
                pipe(upstream_reader, writer, client=False),
            )
        finally:
            for end in (writer, upstream_writer):
                self._open.pop(end, None)
                with contextlib.suppress(Exception):
                    end.transport.abort()
