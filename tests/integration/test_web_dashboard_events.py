"""The live dashboard's event stream (``GET /dashboard/events``): members only, their own news
only, in the server-sent events format, resumed exactly where a browser left off; and a stream
ends when its client goes away or the server starts stopping.

Under the TestClient a response is read whole, so the streams here live one or two seconds
(``live_stream_seconds``); the payments are made before a stream is opened and come as what a
browser would catch up on.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import exc as sa_exc

from payez.entrypoints.web import dashboard_events
from payez.entrypoints.web.auth import SESSION_COOKIE
from payez.entrypoints.web.dashboard_events import LiveStreams
from payez.service.web_sessions import close_session
from tests.integration.network_server import ServedApp
from tests.integration.test_web_dashboard import _member
from tests.integration.web_world import Browser, WebWorld, web_world

_AFTER = re.compile(r'data-events="/dashboard/events\?after=(\d+)"')


@dataclass
class Event:
    name: str
    id: int | None
    data: dict[str, Any]


@dataclass
class Members:
    web: WebWorld
    alice: Browser
    bob: Browser
    eve: Browser

    def pay(self, text: str) -> int:
        post = self.web.world.post("alice", text)
        self.web.world.run()
        payment = self.web.world.payment_for(post)
        assert payment["state"] == "settled", payment
        return int(payment["id"])


@pytest.fixture
def members(database_url: str) -> Iterator[Members]:
    with web_world(
        database_url, live_poll_ms=50, live_stream_seconds=2, live_heartbeat_seconds=1
    ) as web:
        alice = _member(web, "alice@example.org", "alice", 10_000)
        bob = _member(web, "bob@example.org", "bob", 1_000)
        eve = _member(web, "eve@example.org", "eve", 0)
        yield Members(web, alice, bob, eve)


def parse(body: str) -> tuple[list[Event], list[str]]:
    """The events of a stream, and its comment lines."""
    events: list[Event] = []
    comments: list[str] = []
    for block in body.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                comments.append(line)
                continue
            name, _, value = line.partition(": ")
            assert name not in fields, f"{name} twice in {block!r}"
            fields[name] = value
        if "event" in fields:
            found = fields.get("id")
            events.append(
                Event(fields["event"], int(found) if found else None, json.loads(fields["data"]))
            )
    return events, comments


def page_mark(browser: Browser) -> int:
    page = browser.get("/dashboard")
    assert page.status_code == 200, page.text
    found = _AFTER.search(page.text)
    assert found, "the dashboard gives no starting point for its live updates"
    return int(found.group(1))


def stream(
    browser: Browser, *, after: int | None = None, last: int | str | None = None
) -> httpx.Response:
    headers = {"Last-Event-ID": str(last)} if last is not None else {}
    params = {"after": after} if after is not None else {}
    answer = browser.client.get("/dashboard/events", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


def payments_in(events: list[Event]) -> list[int]:
    return [e.data["payment"] for e in events if e.name == "payment"]


def test_only_members_get_a_stream(members: Members) -> None:
    stranger = members.web.browser()
    answer = stranger.get("/dashboard/events")
    assert answer.status_code == 401
    assert answer.headers["cache-control"] == "no-store"
    assert "text/event-stream" not in answer.headers.get("content-type", "")


def test_a_payment_received_is_told_with_its_row_balance_and_sentence(members: Members) -> None:
    mark = page_mark(members.bob)
    pizza = members.pay("@payez envoie 10€ à @bob merci pizza")

    answer = stream(members.bob, after=mark)
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-accel-buffering"] == "no"
    assert answer.text.startswith("retry: ")
    events, comments = parse(answer.text)
    assert comments, "no heartbeat in two seconds of silence"

    opening, told = events[0], events[1:]
    assert opening.name == "balance" and opening.id is None and opening.data["says"] == ""
    assert [e.name for e in told] == ["payment"]
    (event,) = told
    assert event.id is not None and event.id > mark
    assert event.data["payment"] == pizza
    assert event.data["balance"].replace("\u00a0", " ") == "20,00 €"
    assert event.data["says"].replace("\u00a0", " ") == "Paiement reçu de @alice : 10,00 €"
    row = event.data["row"]
    assert row.startswith(f'<li data-payment="{pizza}">'), row
    assert "« merci pizza »" in row and f'href="/dashboard/payments/{pizza}"' in row

    # The same row as the list on the page.
    page = members.bob.get("/dashboard").text
    assert row in page


def test_the_sentence_is_in_the_members_language(members: Members) -> None:
    mark = page_mark(members.bob)
    members.pay("@payez envoie 2€ à @bob")
    members.bob.get("/dashboard?lang=en")
    events, _ = parse(stream(members.bob, after=mark).text)
    (event,) = [e for e in events if e.name == "payment"]
    assert event.data["says"].replace("\u00a0", " ") == "Payment received from @alice: €2.00"
    assert "Received" in event.data["row"] or "received" in event.data["row"]


def test_last_event_id_resumes_after_what_the_browser_got(members: Members) -> None:
    mark = page_mark(members.bob)
    first = members.pay("@payez envoie 1€ à @bob un")
    second = members.pay("@payez envoie 2€ à @bob deux")

    events, _ = parse(stream(members.bob, after=mark).text)
    assert payments_in(events) == [first, second]
    ids = [e.id for e in events if e.name == "payment"]
    assert ids == sorted(ids) and len(set(ids)) == 2

    # A browser reconnecting sends the last id it got: what follows, and only that.
    resumed, _ = parse(stream(members.bob, after=mark, last=ids[0]).text)
    assert payments_in(resumed) == [second]
    caught_up, _ = parse(stream(members.bob, after=mark, last=ids[1]).text)
    assert payments_in(caught_up) == []
    # A Last-Event-ID that is not ours is ignored: the page's starting point holds.
    garbled, _ = parse(stream(members.bob, after=mark, last="1, 2").text)
    assert payments_in(garbled) == [first, second]


def test_each_member_hears_only_of_their_own_account(members: Members) -> None:
    mark = page_mark(members.eve)
    pizza = members.pay("@payez envoie 10€ à @bob pizza")

    sender, _ = parse(stream(members.alice, after=mark).text)
    (sent,) = [e for e in sender if e.name == "payment"]
    assert sent.data["payment"] == pizza
    assert sent.data["says"].replace("\u00a0", " ") == "Paiement à @bob : 10,00 €, payé"
    assert sent.data["balance"].replace("\u00a0", " ") == "90,00 €"

    # Eve, even asking from the very start of the ledger, hears of nobody else's money.
    for start in ({"after": 0}, {"last": 0}):
        events, _ = parse(stream(members.eve, **start).text)
        assert [e.name for e in events] == ["balance"]
        assert events[0].data["balance"].replace("\u00a0", " ") == "0,00 €"


def test_a_bad_starting_point_is_refused(members: Members) -> None:
    assert members.bob.get("/dashboard/events?after=-1").status_code == 400
    assert members.bob.get("/dashboard/events?after=abc").status_code == 400


def test_a_database_outage_ends_the_stream_quietly(
    members: Members, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The browser is told to come back later (``retry``), as after any drop."""

    def unreachable(*_args: object) -> None:
        raise sa_exc.OperationalError("SELECT 1", {}, ConnectionRefusedError())

    monkeypatch.setattr(dashboard_events, "wallet_balance", unreachable)
    answer = stream(members.bob)
    assert answer.text == "retry: 3000\n\n"
    assert members.web.app.state.live_streams.open == 0


# -- on a real server ----------------------------------------------------------------------------


def _open_streams(streams: LiveStreams, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while streams.open != count:
        assert time.monotonic() < deadline, f"{streams.open} stream(s) open, not {count}"
        time.sleep(0.02)


def test_a_stream_ends_when_its_client_goes_its_session_ends_or_the_server_stops(
    sqlite_url: str,
) -> None:
    with web_world(
        sqlite_url, live_poll_ms=50, live_stream_seconds=60, live_heartbeat_seconds=1
    ) as web:
        bob = _member(web, "bob@example.org", "bob", 1_000)
        streams: LiveStreams = web.app.state.live_streams
        server = ServedApp(web.app, before_stop=streams.stop)
        server.start()
        try:
            cookies = dict(bob.client.cookies)
            with httpx.Client(base_url=server.url, cookies=cookies, timeout=10) as client:
                with client.stream("GET", "/dashboard/events") as answer:
                    assert answer.status_code == 200
                    # Held in a name: httpx closes the connection when an unread iterator is
                    # collected, and the server would see the client gone before the count.
                    chunks = answer.iter_text()
                    next(chunks)
                    _open_streams(streams, 1)
                # The client hung up: its stream's loop ends, nothing left running.
                _open_streams(streams, 0)

                # Logged out elsewhere: the stream ends at its next heartbeat.
                with client.stream("GET", "/dashboard/events") as answer:
                    chunks = answer.iter_text()
                    next(chunks)
                    close_session(web.world.ctx, cookies[SESSION_COOKIE])
                    started = time.monotonic()
                    assert ": still here" not in "".join(chunks)
                    assert time.monotonic() - started < 3
                _open_streams(streams, 0)
                assert client.get("/dashboard/events").status_code == 401
                bob.log_in("bob@example.org")
                cookies = dict(bob.client.cookies)
                client.cookies.clear()
                client.cookies.update(cookies)

                with client.stream("GET", "/dashboard/events") as answer:
                    chunks = answer.iter_text()
                    next(chunks)
                    _open_streams(streams, 1)
                    started = time.monotonic()
                    streams.stop()
                    "".join(chunks)  # returns once the server has ended the response
                    assert time.monotonic() - started < 2, "the stream outlived the stop"
                _open_streams(streams, 0)
                # While stopping, a browser that comes back is only told to retry later.
                late = client.get("/dashboard/events")
                assert late.status_code == 200 and late.text == "retry: 3000\n\n"
        finally:
            server.stop()
