"""The live dashboard: ``GET /dashboard/events``, the member's own news as server-sent events.

Where the news comes from. Payments are decided by the worker, often in another process, so
this process can only learn of them from the database. Two ways were weighed:

- PostgreSQL ``LISTEN/NOTIFY``: instant, but SQLite has nothing like it (a second mechanism to
  keep working), a listening connection is held out of the pool for as long as the process
  lives, a notification sent while a listener reconnects is lost (so a query to catch up is
  needed anyway), and the deciding transaction would have to send it: the hot path would change.
- Polling, chosen: each open stream asks the database about every ``live_poll_ms`` (1 s), with
  a connection checked out for the query and returned at once (never held between polls). The
  question is one primary-key read of the member's wallet; only when it changed are the ledger
  transfers after the stream's cursor read (``service.dashboard_events``). It works the same on
  both databases, survives restarts on either side, and the deciding path is untouched. The
  price is up to a second of delay and that one read per open dashboard per second.

The protocol. Every event's ``id`` is a ledger transfer id of the member's wallet: a reconnecting
browser sends the last one back (``Last-Event-ID``) and gets exactly what came after, in order,
nothing twice (the service module explains why ids of one wallet never arrive out of order).
The page gives the first cursor (``?after=``, the ledger's newest id, read before the page reads
its history). The one move that can slip between the two is one already numbered below that id
but committed only after the page read its list (a few milliseconds of overlap): its row shows
at the next reload, and the balance is right anyway, as it is sent once on opening.
Events are ``payment`` (a payment of the member moved: its history row, rendered and escaped
here with the list's own template, the new balance, and a sentence for screen readers in the
member's language) and ``balance`` (money moved with no payment to show, and once on opening).
A comment line goes out whenever the stream was silent for ``live_heartbeat_seconds``, so that
proxies keep it open; ``retry`` tells the browser how soon to come back after it ends.

Ending. A stream ends when its client goes away (Starlette cancels it), when the login session
it was opened with ends (checked at each heartbeat), after ``live_stream_seconds`` (the browser
reconnects, and its login is checked again), and as soon as the server starts stopping:
uvicorn waits for open responses before it stops, and a stream never finishes by itself, so
``payez serve`` calls :meth:`LiveStreams.stop` when stopping begins (``entrypoints/web/server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from payez.domain.ledger import Balance
from payez.entrypoints.web.auth import Visitor, visitor_of
from payez.entrypoints.web.dashboard import money_formatter
from payez.entrypoints.web.i18n import format_moment, texts
from payez.entrypoints.web.site import Site
from payez.service.dashboard_events import (
    Change,
    Changes,
    changes_after,
    latest_change,
    wallet_balance,
    wallet_of,
)
from payez.service.history import MAX_ID, HistoryEntry
from payez.service.my_payment_requests import request_reasons
from payez.service.time_zones import zone_of
from payez.service.web_sessions import session_user

log = logging.getLogger("payez.web")

EVENTS_PATH = "/dashboard/events"
# How long a browser waits before it reconnects after a stream ended (a restart, a deploy).
RETRY_MS = 3000
# A stopping server ends its streams within this long (the pause between polls is cut in
# slices this short).
STOP_SLICE_SECONDS = 0.2
HEADERS = {
    "Cache-Control": "no-store",
    # nginx and its kin would otherwise hold the events back to fill a buffer.
    "X-Accel-Buffering": "no",
}


class LiveStreams:
    """The event streams open in this process, so that a stopping server ends them first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._generation = 0
        self.open = 0

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """End every stream within a slice, and open no more: the server is stopping for good.
        Must not block (it runs in the server's event loop)."""
        self._stopping.set()
        self.close_all()

    def close_all(self) -> None:
        """End the streams open now; those opened later are served (a server stopped and
        started again, in tests)."""
        with self._lock:
            self._generation += 1

    def opened(self) -> int:
        """Count a new stream in; returns the generation it belongs to."""
        with self._lock:
            self.open += 1
            return self._generation

    def serving(self, generation: int) -> bool:
        """Whether a stream opened in ``generation`` should go on."""
        return generation == self._generation and not self._stopping.is_set()

    def closed(self) -> None:
        with self._lock:
            self.open -= 1


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    id: int | None
    data: dict[str, object]

    def text(self) -> str:
        lines = [f"event: {self.name}"]
        if self.id is not None:
            lines.append(f"id: {self.id}")
        # JSON has no raw newline in it, so the data is one ``data:`` line.
        lines.append("data: " + json.dumps(self.data, ensure_ascii=False, separators=(",", ":")))
        return "\n".join(lines) + "\n\n"


class Teller:
    """Turns the service's changes into events, in the member's language and time zone."""

    def __init__(self, site: Site, visitor: Visitor) -> None:
        self.site = site
        self.visitor = visitor
        self.language = visitor.language
        self.zone = zone_of(visitor.time_zone)
        self.t = texts(visitor.language)
        self.money = money_formatter(visitor.language)

    def balance(self, balance: Balance, change_id: int | None = None) -> Event:
        shown = self.money(balance.posted)
        says = self.t["live_balance"].format(amount=shown) if change_id is not None else ""
        return Event("balance", change_id, {"balance": shown, "says": says})

    def events(self, found: Changes) -> list[Event]:
        """One event per payment, at the newest of its transfers (a card top-up and the payment
        it paid for are one piece of news), then one for any other moves; in id order, so that
        a browser resuming after any of them misses nothing."""
        latest: dict[int, Change] = {}
        others: Change | None = None
        for change in found.changes:
            if change.entry is not None:
                latest[change.entry.id] = change
            else:
                others = change
        told = sorted([*latest.values(), *([others] if others else [])], key=lambda c: c.id)
        return [self._event(c, found.balance) for c in told]

    def _event(self, change: Change, balance: Balance) -> Event:
        if change.entry is None:
            return self.balance(balance, change.id)
        entry = change.entry
        return Event(
            "payment",
            change.id,
            {
                "payment": entry.id,
                "row": self._row(entry),
                "balance": self.money(balance.posted),
                "says": self._says(entry),
            },
        )

    def _says(self, entry: HistoryEntry) -> str:
        amount = self.money(entry.amount)
        if entry.direction == "received":
            return self.t["live_received"].format(handle=entry.counterparty, amount=amount)
        state = self.t["state_" + entry.state].lower()
        return self.t["live_sent"].format(handle=entry.counterparty, amount=amount, state=state)

    def _row(self, entry: HistoryEntry) -> str:
        def when(moment: datetime | None) -> str:
            return format_moment(moment, self.language, self.zone) if moment else ""

        reasons = request_reasons(self.site.ctx, [(entry.id, entry.memo)])
        template = self.site.templates.get_template("history_row.html")
        return template.render(
            t=self.t, when=when, money=self.money, e=entry, request_reasons=reasons
        ).strip()


def _cursor(last_event_id: str | None, after: int | None) -> int | None:
    """Where the stream starts: after the last event the browser got, else after the page."""
    if last_event_id is not None:
        text = last_event_id.strip()
        if text.isascii() and text.isdigit() and len(text) <= 19:
            return min(int(text), MAX_ID)
    return after


async def _pause(streams: LiveStreams, generation: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while streams.serving(generation):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, STOP_SLICE_SECONDS))


async def _stream(
    site: Site,
    streams: LiveStreams,
    visitor: Visitor,
    user_id: int,
    wallet_id: int,
    cursor: int | None,
) -> AsyncGenerator[str]:
    teller = Teller(site, visitor)
    generation = streams.opened()
    try:
        news = _news(site, streams, generation, teller, user_id, wallet_id, cursor)
        async with contextlib.aclosing(news):
            async for text in news:
                yield text
    except sa_exc.DBAPIError as exc:
        # The database went away: the stream ends quietly and the browser comes back after
        # ``retry``, as after any drop.
        log.warning("live dashboard: the database is unreachable: %s", type(exc.orig).__name__)
    finally:
        streams.closed()


async def _news(
    site: Site,
    streams: LiveStreams,
    generation: int,
    teller: Teller,
    user_id: int,
    wallet_id: int,
    cursor: int | None,
) -> AsyncGenerator[str]:
    ctx = site.ctx
    settings = ctx.settings
    visitor = teller.visitor
    yield f"retry: {RETRY_MS}\n\n"
    if cursor is None:
        cursor = await run_in_threadpool(latest_change, ctx)
    balance = await run_in_threadpool(wallet_balance, ctx, wallet_id)
    # The page may have been built while money was moving: its balance is set right at once.
    yield teller.balance(balance).text()
    known: Balance | None = None
    started = last_write = time.monotonic()
    while streams.serving(generation):
        now = time.monotonic()
        if now - started >= settings.live_stream_seconds:
            break
        balance = await run_in_threadpool(wallet_balance, ctx, wallet_id)
        if balance != known:
            found = await run_in_threadpool(changes_after, ctx, user_id, wallet_id, cursor)
            for event in teller.events(found):
                yield event.text()
            if found.changes:
                cursor = found.changes[-1].id
                last_write = time.monotonic()
            # Compared with the balance read *before* the transfers: money that moved in
            # between changes it again, and the next poll reads that move.
            known = None if found.more else balance
        if time.monotonic() - last_write >= settings.live_heartbeat_seconds:
            if not await run_in_threadpool(_still_logged_in, site, visitor, user_id):
                break
            yield ": still here\n\n"
            last_write = time.monotonic()
        await _pause(streams, generation, settings.live_poll_ms / 1000)


class EventStream(StreamingResponse):
    """A stream of events whose generator is always closed when the response ends.

    When the client goes away, Starlette cancels the task writing the response, which may be
    waiting to hand a chunk on rather than inside the generator: the generator would then stay
    suspended, its ``finally`` left to the garbage collector. Closing it here ends it at once.
    """

    def __init__(self, content: AsyncGenerator[str]) -> None:
        super().__init__(content, media_type="text/event-stream", headers=HEADERS)
        self.events = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.events.aclose()


def _still_logged_in(site: Site, visitor: Visitor, user_id: int) -> bool:
    found = session_user(site.ctx, visitor.session_token)
    return found is not None and found.user_id == user_id


async def _ended() -> AsyncGenerator[str]:
    yield f"retry: {RETRY_MS}\n\n"


def dashboard_event_routes(site: Site, streams: LiveStreams) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(EVENTS_PATH)
    async def events(
        request: Request,
        after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
        last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    ) -> Response:
        visitor = visitor_of(request)
        if visitor.user_id is None:
            # Not a redirect to the login page: an EventSource would read that page as a
            # broken stream. A 401 makes it give up.
            return Response(status_code=401, headers={"Cache-Control": "no-store"})
        user_id = visitor.user_id
        if streams.stopping:
            # The browser comes back after ``retry``, to the server that takes over.
            return EventStream(_ended())
        wallet_id = await run_in_threadpool(wallet_of, site.ctx, user_id)
        if wallet_id is None:  # pragma: no cover - a logged-in member always has a wallet
            return Response(status_code=401, headers={"Cache-Control": "no-store"})
        body = _stream(site, streams, visitor, user_id, wallet_id, _cursor(last_event_id, after))
        return EventStream(body)

    return router
