"""The Mastodon adapter beyond the shared conformance rules: HTML to text, remote handles,
error mapping (against small hand-built Mastodon servers), and stopping a quiet stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from payez.adapters.networks.html_text import html_to_text
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.ports.network import (
    AuthenticationFailed,
    NetworkError,
    NetworkUnavailable,
    PostNotFound,
    RateLimited,
)
from tests.integration.network_server import serve
from tests.integration.sandbox_server import running_sandbox

MENTION = (
    '<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
    "@<span>{name}</span></a></span>"
)


@pytest.mark.parametrize(
    ("content", "mentions", "expected"),
    [
        (
            "<p>"
            + MENTION.format(url="https://s/@payez", name="payez")
            + " envoie 10&nbsp;€ à "
            + MENTION.format(url="https://other.example/@alice", name="alice")
            + " merci !</p>",
            {"https://s/@payez": "payez", "https://other.example/@alice": "alice@other.example"},
            "@payez envoie 10 € à @alice@other.example merci !",
        ),
        ("<p>ligne 1<br>ligne 2<br />ligne 3</p>", {}, "ligne 1\nligne 2\nligne 3"),
        ("<p>un</p><p>deux</p>", {}, "un\n\ndeux"),
        ("<p>&lt;b&gt; &amp; &quot;x&quot; &#39;y&#39; &eacute;</p>", {}, "<b> & \"x\" 'y' é"),
        (
            '<p><a href="https://s/tags/envoyer" class="mention hashtag" rel="tag">#<span>envoyer'
            "</span></a> 10EUR</p>",
            {},
            "#envoyer 10EUR",
        ),
        (
            '<p>see this</p><p class="quote-inline">RE: <a href="https://s/@a/1">https://s/@a/1</a>'
            "</p>",
            {},
            "see this",
        ),
        (
            '<p><a href="https://example.org/x" rel="nofollow"><span class="invisible">https://'
            '</span><span class="">example.org/x</span></a></p>',
            {},
            "https://example.org/x",
        ),
        ("<p>" + MENTION.format(url="https://s/@ghost", name="ghost") + " hi</p>", {}, "@ghost hi"),
        ("plain text, no markup", {}, "plain text, no markup"),
        ("<p>unclosed <b>bold<p>next", {}, "unclosed bold\n\nnext"),
    ],
)
def test_html_to_text(content: str, mentions: dict[str, str], expected: str) -> None:
    assert html_to_text(content, mentions) == expected


def _account(local_id: str, acct: str, uri: str) -> dict[str, Any]:
    username = acct.split("@")[0]
    return {
        "id": local_id,
        "username": username,
        "acct": acct,
        "display_name": username,
        "url": f"https://profiles.example/@{acct}",
        "uri": uri,
        "created_at": "2026-01-01T00:00:00.000Z",
    }


PAYEZ = _account("1", "payez", "https://social.example/users/payez")
ALICE = _account("2", "Alice@Other.Example", "https://other.example/users/alice")
BOB = _account("3", "bob", "https://social.example/users/bob")
ACCOUNTS = {a["id"]: a for a in (PAYEZ, ALICE, BOB)}


def _status(status_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": status_id,
        "uri": f"https://other.example/statuses/{status_id}",
        "url": f"https://other.example/@alice/{status_id}",
        "created_at": "2026-03-01T10:00:00.000Z",
        "edited_at": None,
        "account": ALICE,
        "content": "<p>"
        + MENTION.format(url=PAYEZ["url"], name="payez")
        + " send €3 to "
        + MENTION.format(url=BOB["url"], name="bob")
        + "</p>",
        "visibility": "unlisted",
        "in_reply_to_id": "40",
        "in_reply_to_account_id": "3",
        "reblog": None,
        "mentions": [
            {"id": "1", "username": "payez", "acct": "payez", "url": PAYEZ["url"]},
            {"id": "3", "username": "bob", "acct": "bob", "url": BOB["url"]},
        ],
        **extra,
    }


def _fake_mastodon(reset_at: datetime) -> Starlette:
    def instance(_: Request) -> JSONResponse:
        return JSONResponse({"uri": "social.example", "version": "4.3.0", "urls": {}})

    def verify(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != "Bearer good-token":
            return JSONResponse({"error": "The access token is invalid"}, status_code=401)
        return JSONResponse(PAYEZ)

    def account(request: Request) -> JSONResponse:
        found = ACCOUNTS.get(request.path_params["id"])
        if found is None:
            return JSONResponse({"error": "Record not found"}, status_code=404)
        return JSONResponse(found)

    def status(request: Request) -> JSONResponse:
        status_id = request.path_params["id"]
        if status_id == "500":
            return JSONResponse({"error": "boom"}, status_code=500)
        if status_id == "403":
            return JSONResponse({"error": "forbidden"}, status_code=403)
        if status_id == "422":
            return JSONResponse({"error": "Validation failed"}, status_code=422)
        if status_id == "41":
            return JSONResponse(_status("41"))
        return JSONResponse({"error": "Record not found"}, status_code=404)

    async def post_status(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != "Bearer good-token":
            return JSONResponse({"error": "The access token is invalid"}, status_code=401)
        form = await request.form()
        parent = str(form.get("in_reply_to_id"))
        if parent == "500":
            return JSONResponse({"error": "boom"}, status_code=500)
        if parent == "404":
            return JSONResponse({"error": "Record not found"}, status_code=404)
        if parent == "429":
            return notifications(request)
        posted = {**_status("77"), "in_reply_to_id": parent, "content": form.get("status")}
        return JSONResponse(posted)

    def notifications(_: Request) -> JSONResponse:
        return JSONResponse(
            {"error": "Too many requests"},
            status_code=429,
            headers={
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset_at.isoformat().replace("+00:00", "Z"),
                "Date": format_datetime(datetime.now(UTC), usegmt=True),
            },
        )

    return Starlette(
        routes=[
            Route("/api/v1/instance/", instance),
            Route("/api/v1/accounts/verify_credentials", verify),
            Route("/api/v1/accounts/{id}", account),
            Route("/api/v1/statuses", post_status, methods=["POST"]),
            Route("/api/v1/statuses/{id}", status),
            Route("/api/v1/notifications", notifications),
        ]
    )


@pytest.fixture(scope="module")
def fake_server() -> Any:
    reset_at = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    with serve(_fake_mastodon(reset_at)) as server:
        yield server, reset_at


def test_remote_accounts_are_ids_by_uri_and_full_handles(fake_server: Any) -> None:
    server, _ = fake_server
    network = MastodonNetwork(server.url, "good-token", request_timeout=5)
    assert network.service_account.id == "https://social.example/users/payez"
    post = network.fetch_post("41")
    assert post is not None
    assert post.author.id == "https://other.example/users/alice"
    assert post.author.handle == "alice@other.example"
    assert post.text == "@payez send €3 to @bob"
    assert [m.id for m in post.mentions] == [PAYEZ["uri"], BOB["uri"]]
    assert post.in_reply_to_id == "40"
    assert post.in_reply_to_account_id == BOB["uri"]  # the immutable id, not the local "3"
    assert post.visibility == "unlisted"
    assert post.created_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_rate_limit_carries_its_reset_time(fake_server: Any) -> None:
    server, reset_at = fake_server
    network = MastodonNetwork(server.url, "good-token", request_timeout=5)
    with pytest.raises(RateLimited) as caught:
        network.fetch_mentions(None)
    assert caught.value.code == "network_rate_limited"
    assert caught.value.reset_at is not None
    assert abs((caught.value.reset_at - reset_at).total_seconds()) < 5


@pytest.mark.parametrize(
    ("status_id", "error"),
    [("500", NetworkUnavailable), ("403", AuthenticationFailed), ("422", NetworkError)],
)
def test_http_errors_map_to_the_error_tree(
    fake_server: Any, status_id: str, error: type[NetworkError]
) -> None:
    server, _ = fake_server
    network = MastodonNetwork(server.url, "good-token", request_timeout=5)
    with pytest.raises(error):
        network.fetch_post(status_id)
    assert network.fetch_post("404") is None


def test_replies_map_http_errors_like_every_other_call(fake_server: Any) -> None:
    server, reset_at = fake_server
    network = MastodonNetwork(server.url, "good-token", request_timeout=5)
    assert network.reply("41", "Paid", "key-1") == "77"
    with pytest.raises(NetworkUnavailable):
        network.reply("500", "Paid", "key-2")
    with pytest.raises(PostNotFound):
        network.reply("404", "Paid", "key-3")
    with pytest.raises(RateLimited) as caught:
        network.reply("429", "Paid", "key-4")
    assert caught.value.reset_at is not None
    assert abs((caught.value.reset_at - reset_at).total_seconds()) < 5


@pytest.mark.usefixtures("netrc_for_localhost")
def test_a_netrc_entry_for_the_host_never_replaces_the_token(fake_server: Any) -> None:
    # requests would otherwise send these credentials instead of the adapter's bearer token.
    server, _ = fake_server
    network = MastodonNetwork(server.url, "good-token", request_timeout=5)
    assert network.service_account.id == PAYEZ["uri"]  # through Mastodon.py
    assert network.reply("41", "Paid", "key-netrc") == "77"  # through the adapter's own call


def test_bad_token_is_authentication_failed(fake_server: Any) -> None:
    server, _ = fake_server
    network = MastodonNetwork(server.url, "stolen", request_timeout=5)
    with pytest.raises(AuthenticationFailed):
        _ = network.service_account


def test_unreachable_server_is_network_unavailable() -> None:
    with serve(Starlette()) as server:
        url = server.url
    network = MastodonNetwork(url, "token", request_timeout=2)
    with pytest.raises(NetworkUnavailable):
        network.fetch_mentions(None)
    with pytest.raises(NetworkUnavailable):
        network.reply("1", "x", idempotency_key="k")
    with pytest.raises(NetworkUnavailable):
        network.resolve_handle("bob")


def test_stop_ends_a_quiet_stream_promptly(sqlite_url: str) -> None:
    # A long heartbeat: only cutting the connection can end the blocked read quickly.
    with running_sandbox(sqlite_url, heartbeat_interval=60.0) as sandbox:
        network = MastodonNetwork(sandbox.api_base_url, sandbox.token("payez"), request_timeout=5)
        registry = sandbox.sandbox_app.state.sandbox.streams
        stop = threading.Event()
        thread = threading.Thread(
            target=network.stream_mentions, args=(lambda _post: None, stop), daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while registry.open != 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        stop.set()
        thread.join(5)
        assert not thread.is_alive()
        assert time.monotonic() - started < 2
        deadline = time.monotonic() + 5
        while registry.open != 0:  # the server saw the client go
            assert time.monotonic() < deadline, "the server kept the stream open"
            time.sleep(0.05)


def test_stream_reconnects_when_the_server_ends_streams(sqlite_url: str) -> None:
    with running_sandbox(sqlite_url) as sandbox:
        network = MastodonNetwork(
            sandbox.api_base_url, sandbox.token("payez"), backoff_initial=0.05, request_timeout=5
        )
        alice = sandbox.client("alice")
        registry = sandbox.sandbox_app.state.sandbox.streams
        with _streaming(network) as seen:
            first = str(alice.status_post("@payez un").id)
            _until(lambda: seen == [first])
            registry.close_all()  # every open stream ends; the server stays up
            second = str(alice.status_post("@payez deux").id)
            _until(lambda: seen == [first, second])
            _until(lambda: registry.open == 1)
            third = str(alice.status_post("@payez trois").id)
            _until(lambda: seen == [first, second, third])


@contextlib.contextmanager
def _streaming(network: MastodonNetwork) -> Iterator[list[str]]:
    """The ids of the posts ``network`` streams, as they come, until the block ends."""
    seen: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=network.stream_mentions, args=(lambda p: seen.append(p.id), stop), daemon=True
    )
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(5)


def _until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


PAGE = 40  # the adapter's page of notifications


class _ChasedByNewPosts(MastodonNetwork):
    """Each page of notifications it asks for is answered after a page's worth of new
    mentions: traffic that outpaces the backfill, as on a busy network after a reconnection
    (a backfill reads until a page comes back empty)."""

    def __init__(self, post: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.post_a_mention = post
        self.pages_read = 0

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        if method == "GET" and "/api/v1/notifications" in url:
            self.pages_read += 1
            for _ in range(PAGE):
                self.post_a_mention()
        return super()._call(method, url, **kwargs)


def test_a_backfill_outpaced_by_new_posts_stops_where_the_stream_began(sqlite_url: str) -> None:
    with running_sandbox(sqlite_url) as sandbox:
        token = sandbox.token("payez")  # the service's account, before anyone mentions it
        alice = sandbox.client("alice")
        earlier = [str(alice.status_post(f"@payez avant {n}").id) for n in range(3)]
        during: list[str] = []
        network = _ChasedByNewPosts(
            lambda: during.append(str(alice.status_post("@payez pendant").id)),
            sandbox.api_base_url,
            token,
            request_timeout=5,
        )
        with _streaming(network) as seen:
            # The backfill ends, and hands over the posts from before the connection, then the
            # stream those from during the backfill, each once, in order.
            _until(lambda: len(seen) >= len(earlier) + len(during) and network.pages_read > 0)
            assert seen == earlier + during
            assert network.pages_read < 10


def test_mentions_come_in_bounded_chunks_each_going_on_from_the_last(sqlite_url: str) -> None:
    with running_sandbox(sqlite_url) as sandbox:
        network = MastodonNetwork(sandbox.api_base_url, sandbox.token("payez"), request_timeout=5)
        alice = sandbox.client("alice")
        posted = [str(alice.status_post(f"@payez envoie {n}€ à @bob").id) for n in range(7)]

        first = network.fetch_mentions(None, limit=2, pages=3)
        assert [p.id for p in first.posts] == posted[:6]
        assert first.more
        rest = network.fetch_mentions(first.cursor, limit=2, pages=3)
        assert [p.id for p in rest.posts] == posted[6:]
        assert not rest.more


class _SmallChunks(MastodonNetwork):
    """Reads its backlog two notifications at a time, and notes each cursor it hands over."""

    def fetch_mentions(self, cursor: str | None, limit: int = 40, **kwargs: Any) -> Any:
        return super().fetch_mentions(cursor, limit=1, pages=2, **kwargs)


def test_a_backfill_hands_over_its_backlog_chunk_by_chunk(sqlite_url: str) -> None:
    with running_sandbox(sqlite_url) as sandbox:
        network = _SmallChunks(sandbox.api_base_url, sandbox.token("payez"), request_timeout=5)
        alice = sandbox.client("alice")
        backlog = [str(alice.status_post(f"@payez avant {n}").id) for n in range(5)]
        seen: list[str] = []
        seen_at_cursor: list[int] = []
        stop = threading.Event()
        thread = threading.Thread(
            target=network.stream_mentions,
            args=(lambda p: seen.append(p.id), stop),
            kwargs={"on_cursor": lambda _cursor: seen_at_cursor.append(len(seen))},
            daemon=True,
        )
        thread.start()
        try:
            _until(lambda: len(seen) >= len(backlog))
        finally:
            stop.set()
            thread.join(5)
        assert seen == backlog
        # Each chunk of two was handed over, with its cursor, before the next was read.
        assert seen_at_cursor[:3] == [2, 4, 5]


def _streaming_mastodon(asked: list[str]) -> Starlette:
    """Streams one mention on the notification stream; the whole user stream (home timeline
    and notifications) is not served, so a client that asks for it never sees the mention."""

    def verify(_: Request) -> JSONResponse:
        return JSONResponse(PAYEZ)

    def no_notifications(_: Request) -> JSONResponse:
        return JSONResponse([])

    def account(request: Request) -> JSONResponse:
        return JSONResponse(ACCOUNTS[request.path_params["id"]])

    async def events() -> AsyncIterator[str]:
        notification = {
            "id": "901",
            "type": "mention",
            "created_at": "2026-03-01T10:00:00.000Z",
            "account": ALICE,
            "status": _status("41"),
        }
        yield f"event: notification\ndata: {json.dumps(notification)}\n\n"
        while True:
            await asyncio.sleep(0.2)
            yield ":thump\n\n"

    def stream(request: Request) -> Response:
        asked.append(request.url.path)
        if request.url.path != "/api/v1/streaming/user/notification":
            return JSONResponse({"error": "not served here"}, status_code=404)
        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/api/v1/accounts/verify_credentials", verify),
            Route("/api/v1/accounts/{id}", account),
            Route("/api/v1/notifications", no_notifications),
            Route("/api/v1/streaming/user", stream),
            Route("/api/v1/streaming/user/notification", stream),
        ]
    )


def test_the_stream_asks_for_notifications_only() -> None:
    asked: list[str] = []
    with serve(_streaming_mastodon(asked)) as server:
        network = MastodonNetwork(server.url, "good-token", request_timeout=5)
        with _streaming(network) as seen:
            _until(lambda: seen == ["41"])
    assert set(asked) == {"/api/v1/streaming/user/notification"}
