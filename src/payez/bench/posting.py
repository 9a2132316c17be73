"""The e2e benchmark's posters: statuses created on the sandbox at a fixed rate, cheaply.

The posters stand for the network's users, who post from their own machines. Here they share
the two cores with the service they measure, so whatever they spend is taken from it: with a
thread pool of ``httpx`` clients the benchmark took 2.1–2.4 ms of CPU a post, 1.3 ms now.
These posters write each request's bytes once, ahead of time, and send them on sixteen
keep-alive HTTP/1.1 connections from one event loop, reading back only the status line, the
length and the new status's id.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

# Posts in flight at once: well above what the rate needs while the service keeps up, so a
# slow answer delays no post behind it.
CONNECTIONS = 16


@dataclass(frozen=True, slots=True)
class Post:
    token: str
    text: str


class PostRefused(RuntimeError):
    """The sandbox answered a post with something other than 200."""


def request_bytes(host: str, port: int, path: str, post: Post) -> bytes:
    body = urlencode({"status": post.text}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Bearer {post.token}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


def post_at_rate(
    host: str, port: int, path: str, posts: list[Post], rate: float
) -> dict[int, float]:
    """Send ``posts`` at ``rate`` a second; the id of each status created -> when it was sent."""
    requests = [request_bytes(host, port, path, post) for post in posts]
    return asyncio.run(_post_all(host, port, requests, rate))


async def _post_all(host: str, port: int, requests: list[bytes], rate: float) -> dict[int, float]:
    created: dict[int, float] = {}
    connections = [await asyncio.open_connection(host, port) for _ in range(CONNECTIONS)]
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)

    async def send(request: bytes) -> None:
        reader, writer = await idle.get()
        started = time.time()
        writer.write(request)
        status_id = await _created_id(reader)
        created[status_id] = started
        idle.put_nowait((reader, writer))

    began = time.time()
    sending = []
    try:
        for n, request in enumerate(requests):
            delay = began + n / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sending.append(asyncio.create_task(send(request)))
        await asyncio.gather(*sending)
    finally:
        for task in sending:
            task.cancel()
        for _, writer in connections:
            writer.close()
    return created


async def _created_id(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = None
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise PostRefused(f"{status_line}: an answer without a Content-Length")
    body = await reader.readexactly(length)
    if status_line.split(" ", 2)[1] != "200":
        raise PostRefused(f"{status_line}: {body[:200]!r}")
    return int(json.loads(body)["id"])
