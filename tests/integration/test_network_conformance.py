"""One set of rules for every SocialNetwork: the in-memory fake, the Mastodon adapter against
the sandbox network (real HTTP, real Mastodon.py, real uvicorn), the X adapter against the
fake X API v2 (real HTTP, real tweepy, real uvicorn), and the Bluesky adapter against the AT
Protocol reference network (real PLC, PDS and AppView, real atproto package).

Where networks differ by design the driver says so: an X edit is a new post with a new id (the
same first id in its edit history), and X has no post visibilities."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
import requests
import requests.adapters

from payez.adapters.networks.bluesky import BlueskyNetwork
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.adapters.networks.memory import InMemoryNetwork
from payez.adapters.networks.x import XNetwork
from payez.adapters.networks.x_wire import tweepy_client
from payez.ports.network import (
    AuthenticationFailed,
    Author,
    MentionPage,
    NetworkAccount,
    NetworkUnavailable,
    Post,
    PostNotFound,
    RateLimited,
    SocialNetwork,
)
from payez.sandbox.network.statuses import post_status
from tests.integration.atproto_server import PASSWORD, BlueskyWorld
from tests.integration.bluesky_transport import BlueskyTransport
from tests.integration.sandbox_server import Sandbox, running_sandbox
from tests.integration.x_server import RunningX, running_x


class Driver(Protocol):
    """What a test does on the network itself, as its users would."""

    network: SocialNetwork
    edits_keep_the_id: bool
    """False where an edit is a new post with a new id (X)."""
    visibilities: tuple[str, ...]
    """The visibilities a post can have on this network."""
    sees_edits: bool
    """False where the network has no edits (Bluesky): a rewritten record is the same post."""

    def handle(self, name: str) -> str:
        """The handle ``name``'s account has on this network (Bluesky's are domain names)."""
        ...

    def written(self, text: str) -> str:
        """``text`` as it reads once posted, its ``@name`` mentions spelt as this network
        spells them."""
        ...

    def post(
        self,
        handle: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        visibility: str = "public",
        quote_of: str | None = None,
    ) -> str: ...

    def edit(self, handle: str, post_id: str, text: str) -> str:
        """Edit the post; returns the id the edited post has now."""
        ...

    def delete(self, handle: str, post_id: str) -> None: ...

    def repost(self, handle: str, post_id: str) -> str: ...

    def outage(self) -> contextlib.AbstractContextManager[None]: ...

    def streams_open(self) -> int: ...

    def author(self, handle: str) -> Author:
        """``handle``'s account with a token it granted to publish as it."""
        ...

    def rename(self, name: str, new_name: str) -> str:
        """Give ``name``'s account a new handle (its id stays); returns the new handle. The
        driver still knows the account as ``name``."""
        ...

    def rate_limit(self, seconds: float) -> datetime:
        """The network's next answer to a read of the mentions is 429, its limit resetting in
        ``seconds``; returns that reset time as the network states it."""
        ...


class _Throttle(requests.adapters.HTTPAdapter):
    """The Mastodon adapter's HTTP session in the sandbox tests: the next request to a path can
    be answered 429 with the ``X-RateLimit-*`` headers Mastodon sends (an ISO 8601 reset)."""

    def __init__(self) -> None:
        super().__init__()
        self._limits: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount("http://", self)
        return session

    def limit_next(self, path: str, seconds: float) -> datetime:
        reset_at = datetime.now(UTC) + timedelta(seconds=seconds)
        with self._lock:
            self._limits[path] = reset_at
        return reset_at

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        path = urlsplit(request.url or "").path
        with self._lock:
            limited = next((p for p in self._limits if path.endswith(p)), None)
            reset_at = self._limits.pop(limited) if limited is not None else None
        if reset_at is None:
            return super().send(request, *args, **kwargs)
        response = requests.Response()
        response.status_code = 429
        response.headers["X-RateLimit-Limit"] = "300"
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["X-RateLimit-Reset"] = reset_at.isoformat()
        response.headers["Content-Type"] = "application/json"
        response._content = b'{"error": "Too many requests"}'
        response.url = request.url or ""
        response.request = request
        return response


class HandlesAreFixed(Exception):
    """The network gives no way to change a handle (Mastodon: a username is part of the
    account's URI, its id; moving to a new name makes a new account)."""


class MemoryDriver:
    edits_keep_the_id = True
    visibilities = ("public", "unlisted", "private", "direct")
    sees_edits = True

    def handle(self, name: str) -> str:
        return name

    def written(self, text: str) -> str:
        return text

    def __init__(self) -> None:
        self.fake = InMemoryNetwork(name="memory")
        self.network: SocialNetwork = self.fake
        self.renamed: dict[str, str] = {}
        for handle in ("alice", "bob", "carol"):
            self.fake.add_account(handle)

    def post(
        self,
        handle: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        visibility: str = "public",
        quote_of: str | None = None,
    ) -> str:
        return self.fake.post(
            self.renamed.get(handle, handle),
            text,
            in_reply_to=in_reply_to,
            visibility=visibility,
            quote_of=quote_of,
        ).id

    def edit(self, handle: str, post_id: str, text: str) -> str:
        self.fake.edit(post_id, text)
        return post_id

    def delete(self, handle: str, post_id: str) -> None:
        self.fake.delete(post_id)

    def repost(self, handle: str, post_id: str) -> str:
        return self.fake.repost(handle, post_id).id

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.fake.set_down(True)
        try:
            yield
        finally:
            self.fake.set_down(False)

    def streams_open(self) -> int:
        return len(self.fake._subscribers)

    def author(self, handle: str) -> Author:
        account = self.fake.add_account(handle)
        return Author(account, self.fake.token_for(account))

    def rename(self, name: str, new_name: str) -> str:
        account = self.fake.resolve_handle(name)
        assert account is not None
        self.renamed[name] = new_name
        return self.fake.rename_account(account, new_name).handle

    def rate_limit(self, seconds: float) -> datetime:
        reset_at = datetime.now(UTC) + timedelta(seconds=seconds)
        self.fake.rate_limit_next(1, reset_at)
        return reset_at


class SandboxDriver:
    edits_keep_the_id = True
    visibilities = ("public", "unlisted", "private", "direct")
    sees_edits = True

    def handle(self, name: str) -> str:
        return name

    def written(self, text: str) -> str:
        return text

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.throttle = _Throttle()
        for handle in ("payez", "alice", "bob", "carol"):
            sandbox.client(handle)
        self.network: SocialNetwork = MastodonNetwork(
            sandbox.api_base_url,
            sandbox.token("payez"),
            name="sandbox",
            session=self.throttle.session(),
            request_timeout=5,
            stream_read_timeout=5,
            backoff_initial=0.05,
            backoff_maximum=0.5,
        )

    def post(
        self,
        handle: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        visibility: str = "public",
        quote_of: str | None = None,
    ) -> str:
        if not self.sandbox.server.running:
            # The server is down, the database is not: another process keeps writing.
            author = self.sandbox.user(handle)
            with self.sandbox.engine.begin() as conn:
                return str(
                    post_status(
                        conn,
                        author,
                        text,
                        datetime.now(UTC),
                        visibility=visibility,
                        in_reply_to_id=int(in_reply_to) if in_reply_to else None,
                    )
                )
        status = self.sandbox.client(handle).status_post(
            text, in_reply_to_id=in_reply_to, visibility=visibility, quoted_status_id=quote_of
        )
        return str(status.id)

    def edit(self, handle: str, post_id: str, text: str) -> str:
        self.sandbox.client(handle).status_update(post_id, text)
        return post_id

    def delete(self, handle: str, post_id: str) -> None:
        self.sandbox.client(handle).status_delete(post_id)

    def repost(self, handle: str, post_id: str) -> str:
        return str(self.sandbox.client(handle).status_reblog(post_id).id)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.sandbox.server.stop()
        try:
            yield
        finally:
            self.sandbox.server.start()

    def streams_open(self) -> int:
        if not self.sandbox.server.running:
            return 0
        registry = self.sandbox.sandbox_app.state.sandbox.streams
        return int(registry.open)

    def author(self, handle: str) -> Author:
        account = self.network.resolve_handle(handle)
        assert account is not None
        return Author(account, self.sandbox.token(handle))

    def rename(self, name: str, new_name: str) -> str:
        raise HandlesAreFixed("a Mastodon username never changes; moving makes a new account")

    def rate_limit(self, seconds: float) -> datetime:
        return self.throttle.limit_next("/api/v1/notifications", seconds)


class XDriver:
    """X's users act through tweepy with their own OAuth 2.0 tokens; edits go through the
    fake's control (X's API cannot edit), as do posts made while the server is down."""

    edits_keep_the_id = False
    visibilities = ("public",)
    sees_edits = True

    def handle(self, name: str) -> str:
        return name

    def written(self, text: str) -> str:
        return text

    def __init__(self, running: RunningX) -> None:
        self.running = running
        self.fake = running.fake
        for handle in ("alice", "bob", "carol"):
            self.fake.add_user(handle)
        self.network: SocialNetwork = XNetwork(
            **running.network_options(),
            request_timeout=5,
            poll_seconds=0.05,
            backoff_initial=0.05,
            backoff_maximum=0.5,
        )

    def client(self, handle: str) -> Any:
        token = self.fake.credentials[handle].oauth2_token
        return tweepy_client(self.running.url, 5, bearer_token=token)

    def post(
        self,
        handle: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        visibility: str = "public",
        quote_of: str | None = None,
    ) -> str:
        assert visibility == "public", "X posts have no visibility"
        if not self.running.server.running:
            return self.fake.post(handle, text, in_reply_to=in_reply_to, quote_of=quote_of)
        created = self.client(handle).create_tweet(
            text=text, in_reply_to_tweet_id=in_reply_to, quote_tweet_id=quote_of, user_auth=False
        )
        return str(created["data"]["id"])

    def edit(self, handle: str, post_id: str, text: str) -> str:
        return self.fake.edit(post_id, text)

    def delete(self, handle: str, post_id: str) -> None:
        self.client(handle).delete_tweet(post_id, user_auth=False)

    def repost(self, handle: str, post_id: str) -> str:
        self.client(handle).retweet(post_id, user_auth=False)
        user = self.fake.user(handle)
        return max(
            (t.id for t in self.fake.tweets.values() if t.author_id == user.id),
            key=int,
        )

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.running.server.stop()
        try:
            yield
        finally:
            self.running.server.start()

    def streams_open(self) -> int:
        """X has no stream: a listener is attached while it keeps polling."""
        if not self.running.server.running:
            return 0
        return int(time.monotonic() - self.fake.last_mentions_request < 0.5)

    def author(self, handle: str) -> Author:
        account = self.network.resolve_handle(handle)
        assert account is not None
        return Author(account, self.fake.credentials[handle].oauth2_token)

    def rename(self, name: str, new_name: str) -> str:
        self.fake.rename(name, new_name)
        return new_name

    def rate_limit(self, seconds: float) -> datetime:
        reset = self.fake.rate_limit("mentions", times=1, reset_in=round(seconds))
        return datetime.fromtimestamp(reset, UTC)


class _Indexed:
    """The adapter, with each read waiting first until the AppView has indexed what the test
    wrote (Bluesky's AppView indexes a moment after the PDS stores)."""

    def __init__(self, network: BlueskyNetwork, world: BlueskyWorld) -> None:
        self.adapter = network
        self.world = world
        self.name = network.name

    @property
    def service_account(self) -> NetworkAccount:
        return self.adapter.service_account

    def fetch_mentions(self, cursor: str | None, limit: int = 40) -> MentionPage:
        self.world.network.process()
        return self.adapter.fetch_mentions(cursor, limit)

    def fetch_post(self, post_id: str) -> Post | None:
        self.world.network.process()
        return self.adapter.fetch_post(post_id)

    def stream_mentions(
        self,
        on_post: Callable[[Post], None],
        stop: threading.Event,
        *,
        cursor: str | None = None,
        on_cursor: Callable[[str], None] | None = None,
    ) -> None:
        self.adapter.stream_mentions(on_post, stop, cursor=cursor, on_cursor=on_cursor)

    def resolve_handle(self, handle: str) -> NetworkAccount | None:
        return self.adapter.resolve_handle(handle)

    def reply(self, to_post_id: str, text: str, idempotency_key: str) -> str:
        self.world.network.process()
        return self.adapter.reply(to_post_id, text, idempotency_key)

    def notify_privately(self, account: NetworkAccount, text: str, idempotency_key: str) -> None:
        self.adapter.notify_privately(account, text, idempotency_key)

    def publish(self, text: str, idempotency_key: str, author: Author) -> str:
        return self.adapter.publish(text, idempotency_key, author)


class BlueskyDriver:
    """Bluesky's users act on the reference PDS with their own sessions, as its app does; the
    adapter reaches the PDS through a proxy that an outage cuts off. Handles are domain names
    (``alice-3f2a.test``); Bluesky has no edits (a rewritten record is the same post)."""

    edits_keep_the_id = True
    sees_edits = False
    visibilities = ("public",)

    def __init__(self, world: BlueskyWorld) -> None:
        self.world = world
        for name in ("payez", "alice", "bob", "carol"):
            world.account(name)
        self.chat = BlueskyTransport()
        self.adapter = BlueskyNetwork(
            handle=world.handle("payez"),
            app_password=PASSWORD,
            service_url=world.proxy.url,
            firehose_url=world.proxy.ws_url,
            request_timeout=5,
            poll_seconds=0.2,
            backoff_initial=0.05,
            backoff_maximum=0.5,
            transport=self.chat,
        )
        self.network: SocialNetwork = _Indexed(self.adapter, world)

    def handle(self, name: str) -> str:
        return self.world.handle(name)

    def written(self, text: str) -> str:
        return self.world.written(text)

    def post(
        self,
        handle: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        visibility: str = "public",
        quote_of: str | None = None,
    ) -> str:
        assert visibility == "public", "Bluesky posts have no visibility"
        return self.world.post(handle, text, in_reply_to=in_reply_to, quote_of=quote_of)

    def edit(self, handle: str, post_id: str, text: str) -> str:
        self.world.rewrite(post_id, text)
        return post_id

    def delete(self, handle: str, post_id: str) -> None:
        self.world.delete(post_id)

    def repost(self, handle: str, post_id: str) -> str:
        return self.world.repost(handle, post_id)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.world.proxy.stop()
        try:
            yield
        finally:
            self.world.proxy.start()

    def streams_open(self) -> int:
        return self.world.proxy.open_connections("subscribeRepos")

    def author(self, handle: str) -> Author:
        account = self.world.account(handle)
        return Author(NetworkAccount(account.did, account.handle), account.access_jwt)

    def rename(self, name: str, new_name: str) -> str:
        return self.world.rename(name, new_name)

    def rate_limit(self, seconds: float) -> datetime:
        return self.chat.rate_limit("app.bsky.notification.listNotifications", reset_in=seconds)


@pytest.fixture(params=["memory", "sandbox", "x", "bluesky"])
def driver(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Driver]:
    if request.param == "memory":
        yield MemoryDriver()
        return
    if request.param == "x":
        with running_x() as running:
            yield XDriver(running)
        return
    if request.param == "bluesky":
        yield BlueskyDriver(request.getfixturevalue("bluesky_world"))
        return
    url = request.getfixturevalue("sqlite_url")
    with running_sandbox(url, heartbeat_interval=1.0) as sandbox:
        yield SandboxDriver(sandbox)


def _wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_service_account(driver: Driver) -> None:
    service = driver.network.service_account
    assert service.handle == driver.handle("payez")
    assert driver.network.resolve_handle(driver.handle("payez")) == service


def test_mentions_page_forward_from_a_cursor(driver: Driver) -> None:
    network = driver.network
    ids = [driver.post("alice", f"@payez envoie {n}€ à @bob") for n in range(1, 6)]
    driver.post("alice", "no mention of the service here, @bob")

    page = network.fetch_mentions(None, limit=2)
    assert [p.id for p in page.posts] == ids
    first = page.posts[0]
    assert first.network == network.name
    assert first.original_id == first.id
    assert first.author == network.resolve_handle(driver.handle("alice"))
    assert first.text == driver.written("@payez envoie 1€ à @bob")
    bob = network.resolve_handle(driver.handle("bob"))
    assert set(first.mentions) == {network.service_account, bob}
    assert first.visibility == "public"
    assert not first.is_repost and not first.is_quote and first.edited_at is None
    assert first.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - first.created_at).total_seconds()) < 60
    assert page.cursor is not None

    unchanged = network.fetch_mentions(page.cursor, limit=2)
    assert unchanged.posts == () and unchanged.cursor == page.cursor

    later = [driver.post("carol", f"@payez send €{n} to @alice") for n in (7, 8, 9)]
    newer = network.fetch_mentions(page.cursor, limit=2)
    assert [p.id for p in newer.posts] == later
    assert [p.author.handle for p in newer.posts] == [driver.handle("carol")] * 3
    assert network.fetch_mentions(newer.cursor).posts == ()


def test_reply_is_idempotent(driver: Driver) -> None:
    network = driver.network
    command = driver.post("alice", "@payez envoie 2€ à @bob")
    reply_id = network.reply(command, "@alice c'est fait", idempotency_key="reply-1")
    assert network.reply(command, "@alice c'est fait", idempotency_key="reply-1") == reply_id
    other = network.reply(command, "@alice encore", idempotency_key="reply-2")
    assert other != reply_id
    reply = network.fetch_post(reply_id)
    assert reply is not None
    assert reply.in_reply_to_id == command
    alice = network.resolve_handle(driver.handle("alice"))
    assert alice is not None and reply.in_reply_to_account_id == alice.id
    assert reply.author == network.service_account
    assert reply.text == "@alice c'est fait"


def test_deleted_posts_vanish(driver: Driver) -> None:
    network = driver.network
    command = driver.post("alice", "@payez envoie 4€ à @bob")
    kept = driver.post("alice", "@payez envoie 5€ à @bob")
    driver.delete("alice", command)
    assert network.fetch_post(command) is None
    assert [p.id for p in network.fetch_mentions(None).posts] == [kept]
    with pytest.raises(PostNotFound):
        network.reply(command, "too late", idempotency_key="late")
    assert network.fetch_post("999999") is None


def test_resolve_handle(driver: Driver) -> None:
    network = driver.network
    bob = network.resolve_handle("@" + driver.handle("Bob"))
    assert isinstance(bob, NetworkAccount)
    assert bob.handle == driver.handle("bob")
    assert network.resolve_handle(driver.handle("bob")) == bob
    assert bob.id not in ("bob", "@bob")  # an immutable id, not the handle
    assert network.resolve_handle("nobody_here") is None
    mention = network.fetch_mentions(None).posts
    assert mention == ()
    post = network.fetch_post(driver.post("alice", "@payez envoie 1€ à @bob"))
    assert post is not None and bob in post.mentions


def test_reposts_and_quotes_are_flagged(driver: Driver) -> None:
    network = driver.network
    command = driver.post("alice", "@payez envoie 6€ à @bob")
    boost = driver.repost("carol", command)
    reposted = network.fetch_post(boost)
    assert reposted is not None
    assert reposted.is_repost and reposted.id == boost
    assert reposted.author.handle == driver.handle("carol")
    quote = driver.post("carol", "@payez regardez ça", quote_of=command)
    quoted = network.fetch_post(quote)
    assert quoted is not None and quoted.is_quote and not quoted.is_repost
    assert quoted.text == driver.written("@payez regardez ça")  # not the quoted words
    original = network.fetch_post(command)
    assert original is not None and not original.is_repost and not original.is_quote


def test_edit_keeps_the_original_id_and_sets_edited_at(driver: Driver) -> None:
    network = driver.network
    command = driver.post("alice", "@payez envoie 10€ à @bob")
    now = driver.edit("alice", command, "@payez envoie 1000€ à @bob")
    if driver.edits_keep_the_id:
        assert now == command
    else:
        assert now != command
    edited = network.fetch_post(now)
    assert edited is not None
    assert edited.id == now and edited.original_id == command
    seen = network.fetch_mentions(None).posts
    if driver.edits_keep_the_id:
        assert len(seen) == 1
    # Every version of the post is keyed on its first id: the inbox records it once.
    assert [p.original_id for p in seen] == [command] * len(seen)
    if not driver.sees_edits:
        # A rewritten record is the same post, and nothing says it was rewritten.
        assert edited.edited_at is None and seen[-1].id == command
        return
    assert edited.edited_at is not None and edited.edited_at >= edited.created_at
    assert edited.text == "@payez envoie 1000€ à @bob"
    assert seen[-1].id == now and seen[-1].edited_at is not None


def test_visibility_is_reported(driver: Driver) -> None:
    if "direct" in driver.visibilities:
        driver.post("alice", "@payez envoie 1€ à @bob", visibility="direct")
        driver.post("bob", "@payez envoie 1€ à @alice", visibility="unlisted")
        posts = driver.network.fetch_mentions(None).posts
        assert [p.visibility for p in posts] == ["direct", "unlisted"]
    else:
        assert driver.visibilities == ("public",)
        driver.post("alice", "@payez envoie 1€ à @bob")
        posts = driver.network.fetch_mentions(None).posts
        assert [p.visibility for p in posts] == ["public"]


def test_notify_privately(driver: Driver) -> None:
    network = driver.network
    bob = network.resolve_handle(driver.handle("bob"))
    assert bob is not None
    network.notify_privately(bob, "Vous avez reçu 5 €", idempotency_key="notice-1")
    network.notify_privately(bob, "Vous avez reçu 5 €", idempotency_key="notice-1")
    if isinstance(driver, MemoryDriver):
        assert [n.text for n in driver.fake.notices] == ["Vous avez reçu 5 €"]
    elif isinstance(driver, XDriver):
        payez = driver.fake.user("payez").id
        assert driver.fake.dms == [(payez, bob.id, "Vous avez reçu 5 €")]
    elif isinstance(driver, BlueskyDriver):
        payez = network.service_account.id
        assert driver.chat.messages == [(payez, bob.id, "Vous avez reçu 5 €")]
        assert driver.chat.proxied_to == {"did:web:api.bsky.chat#bsky_chat"}
    else:
        assert isinstance(driver, SandboxDriver)
        received = driver.sandbox.client("bob").notifications(types=["mention"])
        assert len(received) == 1
        assert received[0].status.visibility == "direct"
        assert "Vous avez reçu 5 €" in received[0].status.content


def test_publish_posts_once_as_the_author(driver: Driver) -> None:
    network = driver.network
    alice = driver.author("alice")
    text = "Mug — 8 €. Pour l'acheter, répondez « @payez j'achète » à ce message."
    post_id = network.publish(text, idempotency_key="listing-1", author=alice)
    assert network.publish(text, idempotency_key="listing-1", author=alice) == post_id
    post = network.fetch_post(post_id)
    assert post is not None
    assert post.author == alice.account
    assert post.text == text
    assert post.in_reply_to_id is None and post.visibility == "public"
    # The same key from another author is another post.
    bob = driver.author("bob")
    assert network.publish("Affiche — 5 €", idempotency_key="listing-1", author=bob) != post_id
    buy = driver.post("carol", "@payez j'achète", in_reply_to=post_id)
    assert network.fetch_mentions(None).posts[-1].in_reply_to_id == post_id
    assert network.fetch_post(buy) is not None


def test_publish_needs_the_authors_own_token(driver: Driver) -> None:
    network = driver.network
    alice, bob = driver.author("alice"), driver.author("bob")
    with pytest.raises(AuthenticationFailed):
        network.publish("Mug — 8 €", idempotency_key="k-1", author=Author(alice.account))
    with pytest.raises(AuthenticationFailed):
        network.publish("Mug — 8 €", idempotency_key="k-2", author=Author(alice.account, "nope"))
    with pytest.raises(AuthenticationFailed):
        network.publish(
            "Mug — 8 €", idempotency_key="k-3", author=Author(alice.account, bob.access_token)
        )


def test_outage_raises_network_unavailable(driver: Driver) -> None:
    with driver.outage(), pytest.raises(NetworkUnavailable):
        driver.network.fetch_mentions(None)
    assert driver.network.fetch_mentions(None).posts == ()


class _Stream:
    def __init__(self, network: SocialNetwork, cursor: str | None = None) -> None:
        self.posts: list[Post] = []
        self.cursors: list[str] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(network, cursor), daemon=True)

    def _run(self, network: SocialNetwork, cursor: str | None) -> None:
        try:
            network.stream_mentions(
                self.posts.append, self.stop, cursor=cursor, on_cursor=self.cursors.append
            )
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> _Stream:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "stream_mentions did not return after stop"
        assert self.error is None

    def ids(self) -> list[str]:
        return [p.id for p in self.posts]


def test_stream_delivers_live_and_backfills_after_a_drop(driver: Driver) -> None:
    network = driver.network
    before = driver.post("alice", "@payez envoie 1€ à @bob")
    start = network.fetch_mentions(None).cursor
    after_cursor = driver.post("alice", "@payez envoie 7€ à @carol")
    with _Stream(network, cursor=start) as stream:
        _wait_for(lambda: driver.streams_open() == 1)
        _wait_for(lambda: stream.ids() == [after_cursor])  # the first backfill, from the cursor
        live = driver.post("bob", "@payez envoie 2€ à @carol")
        _wait_for(lambda: stream.ids() == [after_cursor, live])

        with driver.outage():
            _wait_for(lambda: driver.streams_open() == 0)
            gap = [driver.post("carol", f"@payez envoie {n}€ à @alice") for n in (3, 4)]
            time.sleep(0.3)  # the listener is retrying meanwhile
        _wait_for(lambda: len(stream.ids()) >= 4)
        after = driver.post("alice", "@payez envoie 5€ à @bob")
        _wait_for(lambda: len(stream.ids()) >= 5)
        time.sleep(0.5)  # room for a duplicate to show up, if there were one
    assert stream.ids() == [after_cursor, live, *gap, after]
    assert before not in stream.ids()
    assert stream.cursors[-1] == network.fetch_mentions(start).cursor


def test_stream_starts_from_everything_without_a_cursor(driver: Driver) -> None:
    first = driver.post("alice", "@payez envoie 1€ à @bob")
    with _Stream(driver.network) as stream:
        _wait_for(lambda: stream.ids() == [first])


@pytest.mark.postgres
def test_stream_backfill_on_postgres(postgres_url: str) -> None:
    with running_sandbox(postgres_url, heartbeat_interval=1.0) as sandbox:
        test_stream_delivers_live_and_backfills_after_a_drop(SandboxDriver(sandbox))


def test_a_handle_change_is_followed(driver: Driver) -> None:
    network = driver.network
    before = network.resolve_handle(driver.handle("carol"))
    assert before is not None
    old_handle = before.handle
    try:
        new_handle = driver.rename("carol", "caroline")
    except HandlesAreFixed:
        # Nothing to follow: the id names the handle, and both stay as they are.
        assert before.handle in before.id
        assert network.resolve_handle(old_handle) == before
        return
    after = network.resolve_handle(new_handle)
    assert after == NetworkAccount(before.id, new_handle)
    assert network.resolve_handle(old_handle) is None
    # The renamed account's posts carry its new handle; its id never changed.
    post = driver.post("carol", "@payez envoie 3€ à @bob")
    seen = network.fetch_post(post)
    assert seen is not None and seen.author == after
    assert [p.author for p in network.fetch_mentions(None).posts] == [after]


def test_a_rate_limit_is_honoured(driver: Driver) -> None:
    network = driver.network
    first = driver.post("alice", "@payez envoie 1€ à @bob")
    reset_at = driver.rate_limit(2)
    with pytest.raises(RateLimited) as limited:
        network.fetch_mentions(None)
    assert limited.value.reset_at is not None
    assert abs((limited.value.reset_at - reset_at).total_seconds()) < 1.5
    assert [p.id for p in network.fetch_mentions(None).posts] == [first]

    # A listener that meets the limit waits for its reset, then reads what it missed: it
    # neither hammers the network nor loses the post.
    reset_at = driver.rate_limit(2)
    with _Stream(network) as stream:
        _wait_for(lambda: stream.ids() == [first])
        delivered_at = datetime.now(UTC)
    assert delivered_at >= reset_at - timedelta(seconds=0.5)
