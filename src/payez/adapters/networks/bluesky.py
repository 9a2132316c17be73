"""The Bluesky adapter, on the ``atproto`` package, over the AT Protocol.

- Identity is the DID; handles are domain names that people may change, so the handle shown
  is the one the server gives with each answer (cached a minute for posts off the stream).
- Mentions are read from ``app.bsky.notification.listNotifications``; the cursor is the newest
  notification seen (its ``indexedAt`` and URI), and pages are walked back until it is reached.
- In real time they come from the repository event stream (``com.atproto.sync.subscribeRepos``),
  filtered on posts whose mention facets name the service's DID; every (re)connection starts
  with a backfill from the cursor, and the notifications are read again every ``poll_seconds``
  to move the cursor past what the stream delivered (and catch what it missed).
- A repost, a quote and a post that embeds another record never pay; Bluesky has no edits (a
  post is one record, one URI); a deleted post is gone from ``fetch_post``.
- Replies carry root and parent references. Bluesky has no idempotency key, but a record's key
  can be chosen: a reply's key is drawn from its idempotency key (:func:`tid_for`), so the same
  reply sent twice, even from two processes or after a crash, is one record.
- Private messages go through Bluesky's chat service, reached through the PDS's service proxy
  (``chat_service``); an empty ``chat_service`` means there are none.
- Errors: 429 → :class:`RateLimited` (``ratelimit-reset``), transport failures and 5xx →
  :class:`NetworkUnavailable`, 401/403 → :class:`AuthenticationFailed`.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
from atproto import CAR, Client, parse_subscribe_repos_message
from atproto_client import exceptions as atp
from atproto_client.request import Request
from atproto_subscription.frames import Frame
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from payez.adapters.networks.bluesky_wire import (
    DEFAULT_FIREHOSE,
    DEFAULT_SERVICE,
    POST,
    REPOST,
    AtUri,
    Cursor,
    bluesky_errors,
    error_name,
    field,
    is_handle,
    mention_facets,
    names,
    post_of,
    repost_of,
    tid_for,
    timestamp,
)
from payez.adapters.networks.reconnect import Backoff, wait_out
from payez.ports.network import (
    AuthenticationFailed,
    Author,
    MentionPage,
    NetworkAccount,
    NetworkError,
    NetworkUnavailable,
    Post,
    PostNotFound,
    RateLimited,
    normalise_handle,
)

log = logging.getLogger("payez.networks.bluesky")

NAME = "bluesky"
DEFAULT_CHAT_SERVICE = "did:web:api.bsky.chat#bsky_chat"
# Notifications that may carry a command: the service named in a post, a reply or a quote.
_COMMAND_REASONS = frozenset({"mention", "reply", "quote"})
_PAGE_MAX = 100
# How far back a reader without a cursor goes ("everything the network still has"), in pages.
_MAX_PAGES = 50
_HANDLE_TTL = 60.0
_REMEMBERED = 10_000


class PrivateMessagesUnavailable(NetworkError):
    code = "network_private_messages_unavailable"
    message_fr = "Ce réseau social ne permet pas de messages privés ici."
    message_en = "Private messages are not available on this social network here."


class _Remembered:
    """A bounded set of the URIs one listener already delivered, and of sent private messages."""

    def __init__(self, size: int = _REMEMBERED) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def add(self, item: str) -> bool:
        """True when ``item`` is new."""
        with self._lock:
            if item in self._items:
                return False
            self._items[item] = None
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return True

    def __contains__(self, item: object) -> bool:
        with self._lock:
            return item in self._items


class BlueskyNetwork:
    """:class:`payez.ports.network.SocialNetwork` over the AT Protocol."""

    def __init__(
        self,
        *,
        handle: str,
        app_password: str,
        service_url: str = DEFAULT_SERVICE,
        firehose_url: str = DEFAULT_FIREHOSE,
        chat_service: str = DEFAULT_CHAT_SERVICE,
        name: str = NAME,
        request_timeout: float = 30.0,
        poll_seconds: float = 30.0,
        backoff_initial: float = 1.0,
        backoff_maximum: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self._login = (handle, app_password)
        self._xrpc = service_url.rstrip("/") + "/xrpc"
        self._firehose = firehose_url.rstrip("/")
        self._chat_service = chat_service
        self._timeout = request_timeout
        self._poll_seconds = poll_seconds
        self._backoff = (backoff_initial, backoff_maximum)
        self._transport = transport
        self._client = self._new_client()
        self._login_lock = threading.Lock()
        self._me: NetworkAccount | None = None
        self._handles: dict[str, tuple[str, float]] = {}
        self._notified = _Remembered()

    def _new_client(self) -> Client:
        options: dict[str, Any] = {"timeout": self._timeout}
        if self._transport is not None:
            options["transport"] = self._transport
        return Client(base_url=self._xrpc, request=Request(**options))

    # -- accounts ----------------------------------------------------------------------------------

    @property
    def service_account(self) -> NetworkAccount:
        with self._login_lock:
            if self._me is None:
                handle, password = self._login
                with bluesky_errors():
                    self._client.login(handle, password, fetch_bsky_profile=False)
                    session = self._client.com.atproto.server.get_session()
                self._me = NetworkAccount(id=session.did, handle=normalise_handle(session.handle))
            return self._me

    def resolve_handle(self, handle: str) -> NetworkAccount | None:
        wanted = normalise_handle(handle)
        if not is_handle(wanted):
            return None
        self.service_account  # noqa: B018 - signs in first
        try:
            with bluesky_errors():
                did = self._client.com.atproto.identity.resolve_handle({"handle": wanted}).did
        except NetworkError as exc:
            if isinstance(exc.__cause__, atp.BadRequestError):
                return None  # HandleNotFound, or a name that is no handle
            raise
        self._remember_handle(did, wanted)
        return NetworkAccount(id=did, handle=wanted)

    def _remember_handle(self, did: str, handle: str) -> None:
        if len(self._handles) > _REMEMBERED:
            self._handles.clear()
        self._handles[did] = (normalise_handle(handle), time.monotonic())

    def _account(self, did: str) -> NetworkAccount:
        """``did`` with its current handle (the DID itself when no server will say)."""
        known = self._handles.get(did)
        if known is not None and time.monotonic() - known[1] < _HANDLE_TTL:
            return NetworkAccount(id=did, handle=known[0])
        handle = did
        try:
            with bluesky_errors():
                handle = self._client.app.bsky.actor.get_profile({"actor": did}).handle
        except (NetworkUnavailable, RateLimited):
            raise
        except NetworkError:
            # Not indexed by the AppView yet: the account's own repository says.
            try:
                with bluesky_errors():
                    handle = self._client.com.atproto.repo.describe_repo({"repo": did}).handle
            except NetworkError:
                log.warning("%s: no handle known for %s", self.name, did)
        self._remember_handle(did, handle)
        return NetworkAccount(id=did, handle=normalise_handle(handle))

    @staticmethod
    def _author_of(view: Any) -> NetworkAccount:
        return NetworkAccount(id=str(view.did), handle=normalise_handle(str(view.handle)))

    # -- posts -------------------------------------------------------------------------------------

    def _post_view(self, uri: str) -> Any | None:
        with bluesky_errors():
            posts = self._client.app.bsky.feed.get_posts({"uris": [uri]}).posts
        return posts[0] if posts else None

    def fetch_post(self, post_id: str) -> Post | None:
        uri = AtUri.parse(post_id)
        if uri is None:
            return None
        self.service_account  # noqa: B018 - signs in first
        if uri.collection == POST:
            view = self._post_view(post_id)
            if view is None:
                return None  # deleted, or never was
            author = self._author_of(view.author)
            self._remember_handle(author.id, author.handle)
            seen = timestamp(view.indexed_at) or datetime.now(UTC)
            return post_of(self.name, str(view.uri), view.record, author, seen_at=seen)
        if uri.collection == REPOST:
            record = self._record(uri)
            if record is None:
                return None
            return repost_of(self.name, post_id, record, self._account(uri.did))
        return None

    def _record(self, uri: AtUri, headers: dict[str, str] | None = None) -> Any | None:
        try:
            with bluesky_errors():
                answer = self._client.com.atproto.repo.get_record(
                    {"repo": uri.did, "collection": uri.collection, "rkey": uri.rkey},
                    headers=headers or {},
                )
        except NetworkError as exc:
            cause = exc.__cause__
            if isinstance(cause, atp.BadRequestError) and error_name(cause) in (
                "RecordNotFound",
                "NotFound",
                "InvalidRequest",
            ):
                return None
            raise
        return answer.value

    def _create_once(
        self,
        repo: str,
        rkey: str,
        record: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> str:
        """Write ``record`` under ``rkey`` unless it is there already; returns its URI."""
        uri = AtUri(repo, POST, rkey)
        try:
            with bluesky_errors():
                created = self._client.com.atproto.repo.create_record(
                    {"repo": repo, "collection": POST, "rkey": rkey, "record": record},
                    headers=headers or {},
                )
        except NetworkError:
            # Refused or lost: when the record is there, an earlier attempt made it.
            if self._record(uri, headers) is not None:
                return str(uri)
            raise
        return str(created.uri)

    def reply(self, to_post_id: str, text: str, idempotency_key: str) -> str:
        me = self.service_account
        target = self._post_view(to_post_id) if AtUri.parse(to_post_id) else None
        if target is None:
            raise PostNotFound(f"{to_post_id} is deleted or not visible")
        parent = {"uri": str(target.uri), "cid": str(target.cid)}
        thread = field(target.record, "reply")
        root_ref = field(thread, "root") if thread is not None else None
        root = (
            {"uri": str(field(root_ref, "uri")), "cid": str(field(root_ref, "cid"))}
            if root_ref is not None
            else parent
        )
        people = [self._author_of(target.author), *self._known_accounts_in(text)]
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": _now_iso(),
            "reply": {"root": root, "parent": parent},
        }
        facets = mention_facets(text, people)
        if facets:
            record["facets"] = facets
        return self._create_once(me.id, tid_for(f"reply:{idempotency_key}"), record)

    def _known_accounts_in(self, text: str) -> Iterable[NetworkAccount]:
        for did, (handle, _) in list(self._handles.items()):
            if f"@{handle}" in text:
                yield NetworkAccount(id=did, handle=handle)

    def notify_privately(self, account: NetworkAccount, text: str, idempotency_key: str) -> None:
        if not self._chat_service:
            raise PrivateMessagesUnavailable("no Bluesky chat service is configured")
        if idempotency_key in self._notified:
            return
        self.service_account  # noqa: B018 - signs in first
        proxy = {"atproto-proxy": self._chat_service}
        with bluesky_errors():
            convo = self._client.chat.bsky.convo.get_convo_for_members(
                {"members": [account.id]}, headers=proxy
            ).convo
            self._client.chat.bsky.convo.send_message(
                {"convo_id": convo.id, "message": {"text": text}}, headers=proxy
            )
        self._notified.add(idempotency_key)

    def publish(self, text: str, idempotency_key: str, author: Author) -> str:
        if not author.access_token:
            raise AuthenticationFailed(f"no access token for {author.account.handle}")
        headers = {"Authorization": f"Bearer {author.access_token}"}
        client = self._new_client()
        with bluesky_errors():
            session = client.com.atproto.server.get_session(headers=headers)
        if session.did != author.account.id:
            # Asked before posting: a post made with another account's token would be theirs.
            raise AuthenticationFailed(f"the token is not {author.account.handle}'s")
        record = {"$type": POST, "text": text, "createdAt": _now_iso()}
        rkey = tid_for(f"publish:{idempotency_key}")
        uri = AtUri(author.account.id, POST, rkey)
        try:
            with bluesky_errors():
                created = client.com.atproto.repo.create_record(
                    {"repo": uri.did, "collection": POST, "rkey": rkey, "record": record},
                    headers=headers,
                )
        except NetworkError:
            if self._record(uri) is not None:
                return str(uri)
            raise
        return str(created.uri)

    # -- mentions ----------------------------------------------------------------------------------

    def fetch_mentions(self, cursor: str | None, limit: int = 40) -> MentionPage:
        service = self.service_account
        since = Cursor.parse(cursor)
        per_page = max(1, min(_PAGE_MAX, limit))
        newest = since
        found: dict[str, tuple[Cursor, Post]] = {}
        token: str | None = None
        for _ in range(_MAX_PAGES):
            with bluesky_errors():
                answer = self._client.app.bsky.notification.list_notifications(
                    {"limit": per_page, "cursor": token}
                )
            fresh = 0
            for note in answer.notifications:
                key = Cursor(str(note.indexed_at), str(note.uri))
                if since is not None and key <= since:
                    continue
                fresh += 1
                newest = key if newest is None or key > newest else newest
                post = self._command_post(note, service)
                if post is not None:
                    found.setdefault(post.id, (key, post))
            token = answer.cursor
            if not token or not answer.notifications or (since is not None and fresh == 0):
                break
        posts = tuple(post for _, post in sorted(found.values(), key=lambda kp: kp[0]))
        return MentionPage(posts=posts, cursor=str(newest) if newest else cursor)

    def _command_post(self, note: Any, service: NetworkAccount) -> Post | None:
        uri = AtUri.parse(str(note.uri))
        if note.reason not in _COMMAND_REASONS or uri is None or uri.collection != POST:
            return None
        if not names(note.record, service.id):
            return None
        author = self._author_of(note.author)
        self._remember_handle(author.id, author.handle)
        seen = timestamp(note.indexed_at) or datetime.now(UTC)
        return post_of(self.name, str(note.uri), note.record, author, seen_at=seen)

    def stream_mentions(
        self,
        on_post: Callable[[Post], None],
        stop: threading.Event,
        *,
        cursor: str | None = None,
        on_cursor: Callable[[str], None] | None = None,
    ) -> None:
        """Listen to the repository event stream; backfill from the cursor on every
        (re)connection, and read the notifications again every ``poll_seconds`` (jittered) to
        move the cursor. Without a stream address, only the polling runs."""
        delivered = _Remembered()
        backoff = Backoff(*self._backoff)
        rng = random.Random()
        position = cursor

        def deliver(posts: Iterable[Post], new_cursor: str | None) -> None:
            nonlocal position
            fresh = [post for post in posts if post.id not in delivered]
            for post in fresh:
                on_post(post)
                delivered.add(post.id)
            if new_cursor is not None:
                position = new_cursor
            if on_cursor is not None and position is not None and (fresh or new_cursor):
                on_cursor(position)

        def backfill() -> None:
            page = self.fetch_mentions(position)
            moved = page.cursor if page.cursor != position else None
            deliver(page.posts, moved)

        while not stop.is_set():
            try:
                with self._stream() as socket:
                    backfill()
                    backoff.reset()
                    self._listen(socket, stop, deliver, backfill, rng)
            except RateLimited as exc:
                log.warning("%s: rate limited until %s", self.name, exc.reset_at)
                if wait_out(stop, backoff, exc.reset_at):
                    return
            except (NetworkError, OSError, WebSocketException) as exc:
                log.warning("%s: the stream of mentions failed: %s", self.name, exc)
                if backoff.wait(stop):
                    return

    def _stream(self) -> contextlib.AbstractContextManager[ClientConnection | None]:
        if not self._firehose:
            return contextlib.nullcontext(None)
        url = f"{self._firehose}/xrpc/com.atproto.sync.subscribeRepos"
        return connect(url, open_timeout=self._timeout, close_timeout=1, max_size=None)

    def _listen(
        self,
        socket: ClientConnection | None,
        stop: threading.Event,
        deliver: Callable[[Iterable[Post], str | None], None],
        backfill: Callable[[], None],
        rng: random.Random,
    ) -> None:
        """Read the stream until it drops or ``stop`` is set, polling between frames."""
        service = self.service_account
        needle = service.id.encode()
        next_poll = time.monotonic() + self._poll_seconds * rng.uniform(0.8, 1.2)
        while not stop.is_set():
            if time.monotonic() >= next_poll:
                backfill()
                next_poll = time.monotonic() + self._poll_seconds * rng.uniform(0.8, 1.2)
            if socket is None:
                stop.wait(max(0.0, next_poll - time.monotonic()))
                continue
            try:
                raw = socket.recv(timeout=min(0.5, max(0.01, next_poll - time.monotonic())))
            except TimeoutError:
                continue
            if isinstance(raw, str):
                continue
            if needle in raw:
                # Cheap first: only a frame that holds the service's DID can mention it.
                deliver(self._mentions_in(raw, service), None)
            elif b"#identity" in raw[:32]:
                self._follow_handle(raw)

    def _mentions_in(self, raw: bytes, service: NetworkAccount) -> list[Post]:
        frame = Frame.from_bytes(raw)
        if not frame.is_message or getattr(frame, "type", None) != "#commit":
            return []
        commit = parse_subscribe_repos_message(frame)
        creates = [
            op
            for op in getattr(commit, "ops", ())
            if op.action == "create" and op.path.startswith(f"{POST}/") and op.cid is not None
        ]
        if not creates:
            return []
        blocks = CAR.from_bytes(commit.blocks).blocks
        posts: list[Post] = []
        now = datetime.now(UTC)
        for op in creates:
            record = blocks.get(op.cid)
            if record is None or not names(record, service.id):
                continue
            author = self._account(str(commit.repo))
            uri = f"at://{commit.repo}/{op.path}"
            posts.append(post_of(self.name, uri, record, author, seen_at=now))
        return posts

    def _follow_handle(self, raw: bytes) -> None:
        frame = Frame.from_bytes(raw)
        if not frame.is_message or getattr(frame, "type", None) != "#identity":
            return
        event = parse_subscribe_repos_message(frame)
        handle = getattr(event, "handle", None)
        if handle and event.did in self._handles:
            self._remember_handle(str(event.did), str(handle))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
