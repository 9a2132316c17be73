"""An in-memory social network for fast tests of the payment pipeline.

It implements :class:`payez.ports.network.SocialNetwork` and follows the same rules as the
Mastodon adapter against the sandbox (the shared conformance tests hold both to them): a reply
to a deleted post is refused, a deleted post leaves the mentions, an edit keeps the id and sets
``edited_at``, a repost or an edit notifies nobody, publishing as a person takes a token that
person granted (:meth:`token_for`). Tests drive it with :meth:`post`,
:meth:`edit`, :meth:`delete`, :meth:`repost`, can make the next calls fail with
:meth:`fail_next`, and drop live streams with :meth:`drop_streams`.
"""

from __future__ import annotations

import itertools
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from payez.adapters.networks.reconnect import Backoff, wait_out
from payez.ports.clock import Clock, SystemClock
from payez.ports.network import (
    VISIBILITIES,
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

_MENTION = re.compile(r"(?<![\w@/])@([a-z0-9_]+(?:@[a-z0-9.-]+[a-z0-9])?)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RecordedReply:
    id: str
    to_post_id: str
    text: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class RecordedPublication:
    id: str
    author: NetworkAccount
    text: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class RecordedNotice:
    account: NetworkAccount
    text: str
    idempotency_key: str


class _Dropped:
    """Put on a subscriber's queue to end its connection."""


class InMemoryNetwork:
    """A whole social network in a few dicts, safe to use from several threads."""

    def __init__(
        self,
        name: str = "memory",
        service_handle: str = "payez",
        clock: Clock | None = None,
        backoff_initial: float = 0.05,
        backoff_maximum: float = 1.0,
    ) -> None:
        self.name = name
        self._clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._accounts: dict[str, NetworkAccount] = {}  # by id
        self._posts: dict[str, Post] = {}
        self._deleted: set[str] = set()
        self._mentions: list[tuple[int, str]] = []  # (sequence, post id), in order
        self._mention_seq = itertools.count(1)
        self._reply_keys: dict[str, str] = {}
        self._notice_keys: set[str] = set()
        self._publish_keys: dict[tuple[str, str], str] = {}  # (author id, key) → post id
        self._tokens: dict[str, str] = {}  # access token → account id
        self._failures: list[NetworkError] = []
        self._down = False
        self._subscribers: list[queue.Queue[tuple[int, str] | _Dropped]] = []
        self._backoff_initial = backoff_initial
        self._backoff_maximum = backoff_maximum
        # Set, it hands mentions over in chunks of this many, as a network that pages forward
        # from the cursor does (Mastodon): ``more`` then says whether newer ones remain.
        self.mentions_per_fetch: int | None = None
        self.replies: list[RecordedReply] = []
        self.notices: list[RecordedNotice] = []
        self.publications: list[RecordedPublication] = []
        self.calls: list[str] = []
        self.stream_connections = 0
        self.service_account = self.add_account(service_handle)

    # -- driving the network from a test -------------------------------------------------------

    def add_account(self, handle: str) -> NetworkAccount:
        """Create (or return) the account with this handle."""
        handle = normalise_handle(handle)
        with self._lock:
            for account in self._accounts.values():
                if account.handle == handle:
                    return account
            account = NetworkAccount(id=f"{self.name}:user:{next(self._ids)}", handle=handle)
            self._accounts[account.id] = account
            return account

    def token_for(self, account: NetworkAccount) -> str:
        """An access token the account grants (as through OAuth) to publish as it."""
        with self._lock:
            token = f"memory-token-{next(self._ids)}"
            self._tokens[token] = account.id
            return token

    def revoke_tokens(self, account: NetworkAccount) -> None:
        with self._lock:
            for token in [t for t, owner in self._tokens.items() if owner == account.id]:
                del self._tokens[token]

    def rename_account(self, account: NetworkAccount, new_handle: str) -> NetworkAccount:
        """Give an account a new handle; its id stays (to test that claims follow the id)."""
        renamed = NetworkAccount(id=account.id, handle=normalise_handle(new_handle))
        with self._lock:
            self._accounts[account.id] = renamed
        return renamed

    def post(
        self,
        author: NetworkAccount | str,
        text: str,
        *,
        in_reply_to: str | None = None,
        visibility: str = "public",
        quote_of: str | None = None,
        created_at: datetime | None = None,
    ) -> Post:
        """Publish a post; known handles mentioned in ``text`` are resolved as a network does."""
        if visibility not in VISIBILITIES:
            raise ValueError(visibility)
        with self._lock:
            account = author if isinstance(author, NetworkAccount) else self.add_account(author)
            parent = self._posts.get(in_reply_to) if in_reply_to else None
            if in_reply_to is not None and (parent is None or in_reply_to in self._deleted):
                raise PostNotFound(in_reply_to)
            if quote_of is not None and quote_of not in self._posts:
                raise PostNotFound(quote_of)
            post_id = str(next(self._ids))
            return self.add_post(
                Post(
                    network=self.name,
                    id=post_id,
                    original_id=post_id,
                    author=account,
                    text=text,
                    created_at=created_at or self._clock.now(),
                    url=f"memory://{self.name}/{account.handle}/{post_id}",
                    in_reply_to_id=in_reply_to,
                    in_reply_to_account_id=parent.author.id if parent else None,
                    mentions=self._mentions_in(text),
                    is_repost=False,
                    is_quote=quote_of is not None,
                    visibility=visibility,
                    edited_at=None,
                )
            )

    def add_post(self, post: Post) -> Post:
        """Store a post built by hand (any field); it notifies the service when it mentions it."""
        with self._lock:
            self._posts[post.id] = post
            if self.service_account in post.mentions:
                entry = (next(self._mention_seq), post.id)
                self._mentions.append(entry)
                for subscriber in self._subscribers:
                    subscriber.put(entry)
            return post

    def edit(self, post_id: str, text: str) -> Post:
        """Edit a post: same id, new text, ``edited_at`` set; newly mentioned accounts are not
        notified (as on Mastodon)."""
        with self._lock:
            current = self._live_post(post_id)
            edited = replace(
                current, text=text, mentions=self._mentions_in(text), edited_at=self._clock.now()
            )
            self._posts[post_id] = edited
            return edited

    def delete(self, post_id: str) -> None:
        with self._lock:
            self._live_post(post_id)
            self._deleted.add(post_id)

    def repost(self, account: NetworkAccount | str, post_id: str) -> Post:
        """Boost a post: a new post flagged ``is_repost``; it notifies nobody."""
        with self._lock:
            original = self._live_post(post_id)
            booster = account if isinstance(account, NetworkAccount) else self.add_account(account)
            repost_id = str(next(self._ids))
            repost = replace(
                original,
                id=repost_id,
                original_id=repost_id,
                author=booster,
                created_at=self._clock.now(),
                url=None,
                in_reply_to_id=None,
                in_reply_to_account_id=None,
                is_repost=True,
                edited_at=None,
            )
            self._posts[repost_id] = repost
            return repost

    def fail_next(self, count: int, error: NetworkError | None = None) -> None:
        """Make the next ``count`` calls (of any port method, stream connections included) raise."""
        with self._lock:
            self._failures.extend([error or NetworkUnavailable("injected")] * count)

    def rate_limit_next(self, count: int, reset_at: datetime | None = None) -> None:
        self.fail_next(count, RateLimited("injected", reset_at=reset_at))

    def set_down(self, down: bool) -> None:
        """Take the whole network down (every call raises NetworkUnavailable, live streams are
        cut) or bring it back. Tests can still post while it is down."""
        with self._lock:
            self._down = down
        if down:
            self.drop_streams()

    def drop_streams(self) -> None:
        """Cut every live stream connection, as a network outage would."""
        with self._lock:
            for subscriber in self._subscribers:
                subscriber.put(_Dropped())
            self._subscribers.clear()

    # -- the port ------------------------------------------------------------------------------

    def fetch_mentions(self, cursor: str | None, limit: int = 40) -> MentionPage:
        with self._lock:
            self._enter("fetch_mentions")
            after = int(cursor) if cursor else 0
            newer = [(seq, pid) for seq, pid in self._mentions if seq > after]
            chunk = newer[: self.mentions_per_fetch]
            newest = max((seq for seq, _ in chunk), default=None)
            posts = tuple(
                self._current(self._posts[pid]) for _, pid in chunk if pid not in self._deleted
            )
            return MentionPage(
                posts=posts, cursor=str(newest) if newest else cursor, more=len(chunk) < len(newer)
            )

    def stream_mentions(
        self,
        on_post: Callable[[Post], None],
        stop: threading.Event,
        *,
        cursor: str | None = None,
        on_cursor: Callable[[str], None] | None = None,
    ) -> None:
        backoff = Backoff(self._backoff_initial, self._backoff_maximum)
        while not stop.is_set():
            inbox: queue.Queue[tuple[int, str] | _Dropped] = queue.Queue()
            try:
                with self._lock:
                    self._enter("stream_connect")
                    self._subscribers.append(inbox)
                    self.stream_connections += 1
                # Subscribe first, then backfill: a mention made in between arrives twice and
                # the cursor drops the second copy, instead of arriving never.
                page = self.fetch_mentions(cursor)
            except RateLimited as exc:
                self._unsubscribe(inbox)
                if wait_out(stop, backoff, exc.reset_at):
                    return
                continue
            except NetworkError:
                self._unsubscribe(inbox)
                if backoff.wait(stop):
                    return
                continue
            backoff.reset()
            try:
                for post in page.posts:
                    on_post(post)
                if page.cursor is not None and page.cursor != cursor:
                    cursor = page.cursor
                    if on_cursor is not None:
                        on_cursor(cursor)
                while not stop.is_set():
                    try:
                        item = inbox.get(timeout=0.02)
                    except queue.Empty:
                        continue
                    if isinstance(item, _Dropped):
                        break
                    seq, post_id = item
                    if cursor is not None and seq <= int(cursor):
                        continue
                    with self._lock:
                        deleted = post_id in self._deleted
                        post = self._current(self._posts[post_id])
                    if not deleted:
                        on_post(post)
                    cursor = str(seq)
                    if on_cursor is not None:
                        on_cursor(cursor)
            finally:
                self._unsubscribe(inbox)
            if not stop.is_set() and backoff.wait(stop):
                return

    def resolve_handle(self, handle: str) -> NetworkAccount | None:
        wanted = normalise_handle(handle)
        with self._lock:
            self._enter("resolve_handle")
            return next((a for a in self._accounts.values() if a.handle == wanted), None)

    def fetch_post(self, post_id: str) -> Post | None:
        with self._lock:
            self._enter("fetch_post")
            if post_id in self._deleted:
                return None
            post = self._posts.get(post_id)
            return None if post is None else self._current(post)

    def reply(self, to_post_id: str, text: str, idempotency_key: str) -> str:
        with self._lock:
            self._enter("reply")
            done = self._reply_keys.get(idempotency_key)
            if done is not None:
                return done
            reply = self.post(self.service_account, text, in_reply_to=to_post_id)
            self._reply_keys[idempotency_key] = reply.id
            self.replies.append(RecordedReply(reply.id, to_post_id, text, idempotency_key))
            return reply.id

    def notify_privately(self, account: NetworkAccount, text: str, idempotency_key: str) -> None:
        with self._lock:
            self._enter("notify_privately")
            if idempotency_key in self._notice_keys:
                return
            self._notice_keys.add(idempotency_key)
            self.notices.append(RecordedNotice(account, text, idempotency_key))

    def publish(self, text: str, idempotency_key: str, author: Author) -> str:
        with self._lock:
            self._enter("publish")
            owner = self._tokens.get(author.access_token or "")
            if owner is None or owner != author.account.id:
                raise AuthenticationFailed(f"no valid token for {author.account.handle}")
            done = self._publish_keys.get((owner, idempotency_key))
            if done is not None:
                return done
            post = self.post(self._accounts[owner], text)
            self._publish_keys[(owner, idempotency_key)] = post.id
            self.publications.append(
                RecordedPublication(post.id, post.author, text, idempotency_key)
            )
            return post.id

    # -- inside --------------------------------------------------------------------------------

    def _enter(self, call: str) -> None:
        self.calls.append(call)
        if self._down:
            raise NetworkUnavailable("the network is down")
        if self._failures:
            raise self._failures.pop(0)

    def _unsubscribe(self, inbox: queue.Queue[tuple[int, str] | _Dropped]) -> None:
        with self._lock:
            if inbox in self._subscribers:
                self._subscribers.remove(inbox)

    def _current(self, post: Post) -> Post:
        # The author may have been renamed since: show the account as it is now.
        return replace(post, author=self._accounts[post.author.id])

    def _live_post(self, post_id: str) -> Post:
        post = self._posts.get(post_id)
        if post is None or post_id in self._deleted:
            raise PostNotFound(post_id)
        return post

    def _mentions_in(self, text: str) -> tuple[NetworkAccount, ...]:
        found: list[NetworkAccount] = []
        for match in _MENTION.finditer(text):
            handle = normalise_handle(match.group(1))
            account = next((a for a in self._accounts.values() if a.handle == handle), None)
            if account is not None and account not in found:
                found.append(account)
        return tuple(found)
