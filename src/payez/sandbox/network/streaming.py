"""The streaming API (server-sent events), fed by polling the database.

Several processes may share the sandbox database (web app, workers), so a stream cannot rely on
in-process signals: each open stream polls for rows newer than the last it sent, about every
``poll_interval`` seconds, and writes a heartbeat comment when idle. A stream ends when the
client goes away, when :meth:`StreamRegistry.close_all` or :meth:`StreamRegistry.stop` is
called before a server stops (a stopping server waits for its open responses: a stream left
running would hold it up), or after ``max_stream_seconds`` (the client then reconnects, as it
would after any drop).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from payez.sandbox.network import tables
from payez.sandbox.network.api import notifications_query
from payez.sandbox.network.context import SandboxContext, caller, context, user_id
from payez.sandbox.network.entities import Renderer
from payez.sandbox.network.errors import SandboxInvalid
from payez.sandbox.network.threads import off_loop

router = APIRouter()

Event = tuple[str, str]


class _Cursor:
    """The newest notification and status a stream has already considered."""

    def __init__(self, notification_id: int, status_id: int) -> None:
        self.notification_id = notification_id
        self.status_id = status_id


def _start(ctx: SandboxContext) -> _Cursor:
    with ctx.engine.begin() as conn:
        last_notification = conn.execute(sa.select(sa.func.max(tables.notifications.c.id))).scalar()
        last_status = conn.execute(sa.select(sa.func.max(tables.statuses.c.id))).scalar()
    return _Cursor(int(last_notification or 0), int(last_status or 0))


def _poll(ctx: SandboxContext, stream: str, account_id: int | None, cursor: _Cursor) -> list[Event]:
    events: list[Event] = []
    n, s = tables.notifications, tables.statuses
    with ctx.engine.begin() as conn:
        # Read the high-water marks first and stop there: a row committed between the two
        # queries is left for the next poll instead of being skipped.
        newest_notification = int(conn.execute(sa.select(sa.func.max(n.c.id))).scalar() or 0)
        newest_status = int(conn.execute(sa.select(sa.func.max(s.c.id))).scalar() or 0)
        renderer = Renderer(conn, ctx.urls, account_id)
        if account_id is not None and stream in ("user", "user:notification"):
            rows = conn.execute(
                notifications_query(account_id)
                .where(n.c.id > cursor.notification_id, n.c.id <= newest_notification)
                .order_by(n.c.id)
            ).all()
            events.extend(("notification", _dump(r)) for r in renderer.notifications(rows))
        if stream in ("user", "public"):
            query = sa.select(s).where(
                s.c.id > cursor.status_id, s.c.id <= newest_status, s.c.deleted_at.is_(None)
            )
            if stream == "user":
                query = query.where(s.c.account_id == account_id)
            else:
                query = query.where(s.c.visibility == "public")
            rows = conn.execute(query.order_by(s.c.id)).all()
            events.extend(("update", _dump(r)) for r in renderer.statuses(rows))
    cursor.notification_id = max(cursor.notification_id, newest_notification)
    cursor.status_id = max(cursor.status_id, newest_status)
    return events


def _dump(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


async def _events(
    request: Request, ctx: SandboxContext, stream: str, account_id: int | None
) -> AsyncIterator[str]:
    registry = ctx.streams
    generation = registry.opened()
    try:
        cursor = await off_loop(_start, ctx)
        yield ":)\n\n"
        started = last_write = time.monotonic()
        while registry.serving(generation):
            if time.monotonic() - started > ctx.max_stream_seconds:
                break
            for name, payload in await off_loop(_poll, ctx, stream, account_id, cursor):
                yield f"event: {name}\ndata: {payload}\n\n"
                last_write = time.monotonic()
            if time.monotonic() - last_write >= ctx.heartbeat_interval:
                yield ":thump\n\n"
                last_write = time.monotonic()
            await asyncio.sleep(ctx.poll_interval)
    finally:
        registry.closed()


def _response(request: Request, ctx: SandboxContext, stream: str, account: int | None) -> Any:
    return StreamingResponse(
        _events(request, ctx, stream, account),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/api/v1/streaming/health", response_class=PlainTextResponse)
def health() -> str:
    return "OK"


@router.get("/api/v1/streaming/user")
async def user_stream(request: Request) -> Any:
    return _response(request, context(request), "user", await user_id(request))


@router.get("/api/v1/streaming/user/notification")
async def notification_stream(request: Request) -> Any:
    return _response(request, context(request), "user:notification", await user_id(request))


@router.get("/api/v1/streaming/public")
async def public_stream(request: Request) -> Any:
    owner = await caller(request, required=False)
    return _response(request, context(request), "public", owner.account_id if owner else None)


@router.get("/api/v1/streaming")
async def any_stream(request: Request) -> Any:
    stream = request.query_params.get("stream", "")
    if stream == "public":
        return await public_stream(request)
    if stream in ("user", "user:notification"):
        return _response(request, context(request), stream, await user_id(request))
    raise SandboxInvalid(f"unknown stream {stream!r}")
