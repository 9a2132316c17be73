"""The X adapter, on tweepy, over the X API v2.

- Identity is the immutable numeric user id; usernames are display only and may change, so
  they are read afresh with every answer and never cached.
- Mentions come from ``GET /2/users/:id/mentions``; the cursor is the newest post id seen
  (``since_id``), and every page of ``pagination_token`` is walked before the cursor moves.
- There is no stream on the v2 plan we rely on: :meth:`XNetwork.stream_mentions` polls, with the
  port's backfill semantics (each round is a ``fetch_mentions`` from the last cursor) and
  jittered back-off on failures; a rate limit waits for its reset time. Account Activity
  webhooks (``/webhooks/x``) deliver sooner when X is set up to send them; polling stays the
  safety net.
- An edit is a new post with a new id; ``Post.original_id`` is the first id of its edit history.
  Retweets are reposts and quotes are quotes: neither ever pays.
- Errors: 429 → :class:`RateLimited` (``x-rate-limit-reset``, epoch seconds), 5xx and timeouts →
  :class:`NetworkUnavailable`, 401/403 → :class:`AuthenticationFailed`; a 200 that carries
  ``errors`` beside ``data`` (a mention whose author X left out) is handled post by post.
- The service reads with the app's bearer token when one is configured (else its user token),
  and writes with its OAuth 1.0a user token; a person's listing is published with the OAuth 2.0
  user token they granted.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from payez.adapters.networks.reconnect import Backoff, wait_out
from payez.adapters.networks.x_wire import (
    DEFAULT_API_URL,
    EXPANSIONS,
    TWEET_FIELDS,
    USER_FIELDS,
    USERNAME,
    Body,
    DuplicateText,
    account_of,
    id_key,
    post_of,
    tweepy_client,
    unescape,
    with_reference,
    x_errors,
)
from payez.ports.network import (
    AuthenticationFailed,
    Author,
    MentionPage,
    NetworkAccount,
    NetworkError,
    Post,
    RateLimited,
    normalise_handle,
)

log = logging.getLogger("payez.networks.x")

NAME = "x"
# X serves 5 to 100 posts a page.
_PAGE_MIN, _PAGE_MAX = 5, 100
# How many sent keys each process remembers (see :class:`_SentKeys`).
_REMEMBERED_KEYS = 10_000


class _SentKeys:
    """What this process already posted, by idempotency key.

    X has no idempotency key. A reply is sent once because the outbox sends each message once:
    a sender claims a due message (compare-and-set) before sending it, and marks it sent in the
    transaction that follows X's answer. This memory only makes a repeated call in the same
    process answer the first post's id instead of posting again. A crash between X's answer and
    the outbox's commit can still post twice: nothing on X's side can tell a retry from a new
    post.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, scope: str, key: str) -> str | None:
        with self._lock:
            return self._ids.get((scope, key))

    def put(self, scope: str, key: str, post_id: str) -> None:
        with self._lock:
            self._ids[(scope, key)] = post_id
            while len(self._ids) > _REMEMBERED_KEYS:
                self._ids.popitem(last=False)


class XNetwork:
    """:class:`payez.ports.network.SocialNetwork` over the X API v2."""

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        bearer_token: str = "",
        api_url: str = DEFAULT_API_URL,
        name: str = NAME,
        request_timeout: float = 30.0,
        poll_seconds: float = 15.0,
        backoff_initial: float = 1.0,
        backoff_maximum: float = 300.0,
    ) -> None:
        self.name = name
        self._api_url = api_url
        self._timeout = request_timeout
        self._poll_seconds = poll_seconds
        self._backoff = (backoff_initial, backoff_maximum)
        self._api = tweepy_client(
            api_url,
            request_timeout,
            bearer_token=bearer_token,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
        )
        # Reads with the app's token when there is one (its own, larger, rate limits).
        self._read_as_user = not bearer_token
        self._service_account: NetworkAccount | None = None
        self._sent = _SentKeys()

    def _call(self, request: Callable[[], Any]) -> Body:
        with x_errors():
            return Body.of(request())

    # -- accounts ----------------------------------------------------------------------------------

    @property
    def service_account(self) -> NetworkAccount:
        if self._service_account is None:
            body = self._call(lambda: self._api.get_me(user_fields=USER_FIELDS, user_auth=True))
            if body.first is None:
                raise AuthenticationFailed("X did not say who the service account is")
            self._service_account = account_of(body.first)
        return self._service_account

    def resolve_handle(self, handle: str) -> NetworkAccount | None:
        wanted = normalise_handle(handle)
        if not USERNAME.fullmatch(wanted):
            return None
        body = self._call(
            lambda: self._api.get_user(
                username=wanted, user_fields=USER_FIELDS, user_auth=self._read_as_user
            )
        )
        return account_of(body.first) if body.first is not None else None

    def _user(self, user_id: str) -> Mapping[str, Any] | None:
        body = self._call(
            lambda: self._api.get_user(
                id=user_id, user_fields=USER_FIELDS, user_auth=self._read_as_user
            )
        )
        return body.first

    def _posts(self, body: Body) -> list[Post]:
        """The posts of ``body`` with their authors. X may leave an author out of ``includes``
        (a partial error beside the data): that author is asked for alone, and a post whose
        author X will not show (suspended, withheld) is not visible to us: it is left out."""
        posts: list[Post] = []
        asked: dict[str, Mapping[str, Any] | None] = {}
        for tweet in body.data:
            author_id = str(tweet.get("author_id") or "")
            author = body.users.get(author_id)
            if author is None and author_id:
                if author_id not in asked:
                    asked[author_id] = self._user(author_id)
                author = asked[author_id]
            if author is None:
                log.warning("%s: post %s left out: X shows no author", self.name, tweet.get("id"))
                continue
            posts.append(post_of(self.name, tweet, author))
        return posts

    # -- posts -------------------------------------------------------------------------------------

    def fetch_post(self, post_id: str) -> Post | None:
        if not post_id.isdigit():
            return None
        body = self._call(
            lambda: self._api.get_tweet(
                post_id,
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
                user_auth=self._read_as_user,
            )
        )
        # A deleted post is a 200 with only a "resource-not-found" error.
        posts = self._posts(body)
        return posts[0] if posts else None

    def reply(self, to_post_id: str, text: str, idempotency_key: str) -> str:
        # No idempotency key on X: see _SentKeys. The outbox's exactly-once send is what keeps
        # a reply from going out twice.
        known = self._sent.get("reply", idempotency_key)
        if known is not None:
            return known
        try:
            reply_id = self._created_id(self._post_reply(to_post_id, text))
        except DuplicateText:
            # The same words went out recently. Either they already answer this very post (an
            # earlier try whose answer was lost on its way back): that reply is this one. Or
            # they answer another post (two payments of 5 € to @bob): this reply is told apart
            # by a reference of its key, else the second payer would never hear back.
            earlier = self._earlier_reply(to_post_id, text)
            if earlier is None:
                body = self._post_reply(to_post_id, with_reference(text, idempotency_key))
                earlier = self._created_id(body)
            reply_id = earlier
        self._sent.put("reply", idempotency_key, reply_id)
        return reply_id

    def _earlier_reply(self, to_post_id: str, text: str) -> str | None:
        """The service's recent post answering ``to_post_id`` with ``text``, if there is one."""
        service = self.service_account
        body = self._call(
            lambda: self._api.get_users_tweets(
                service.id, max_results=100, tweet_fields=["referenced_tweets"], user_auth=True
            )
        )
        for post in body.data:
            answers = {
                str(r.get("id"))
                for r in post.get("referenced_tweets") or ()
                if r.get("type") == "replied_to"
            }
            if to_post_id in answers and unescape(str(post.get("text") or "")) == text:
                return str(post["id"])
        return None

    def _post_reply(self, to_post_id: str, text: str) -> Body:
        return self._call(
            lambda: self._api.create_tweet(
                text=text, in_reply_to_tweet_id=to_post_id, user_auth=True
            )
        )

    def notify_privately(self, account: NetworkAccount, text: str, idempotency_key: str) -> None:
        if self._sent.get("dm", idempotency_key) is not None:
            return
        body = self._call(
            lambda: self._api.create_direct_message(
                participant_id=account.id, text=text, user_auth=True
            )
        )
        event = body.first
        self._sent.put("dm", idempotency_key, str(event.get("dm_event_id", "")) if event else "")

    def publish(self, text: str, idempotency_key: str, author: Author) -> str:
        if not author.access_token:
            raise AuthenticationFailed(f"no access token for {author.account.handle}")
        scope = f"publish:{author.account.id}"
        known = self._sent.get(scope, idempotency_key)
        if known is not None:
            return known
        # The author's OAuth 2.0 user token goes as a bearer token (tweepy: user_auth=False).
        api = tweepy_client(self._api_url, self._timeout, bearer_token=author.access_token)
        me = self._call(lambda: api.get_me(user_fields=USER_FIELDS, user_auth=False)).first
        if me is None or str(me.get("id")) != author.account.id:
            # Asked before posting: a post made with another account's token would be theirs.
            raise AuthenticationFailed(f"the token is not {author.account.handle}'s")
        post_id = self._created_id(self._call(lambda: api.create_tweet(text=text, user_auth=False)))
        self._sent.put(scope, idempotency_key, post_id)
        return post_id

    @staticmethod
    def _created_id(body: Body) -> str:
        created = body.first
        if created is None or not created.get("id"):
            detail = "; ".join(str(e.get("detail") or e.get("title")) for e in body.errors)
            raise NetworkError(f"X created no post: {detail or 'no id in the answer'}")
        return str(created["id"])

    # -- mentions ----------------------------------------------------------------------------------

    def fetch_mentions(self, cursor: str | None, limit: int = 40) -> MentionPage:
        service = self.service_account
        per_page = max(_PAGE_MIN, min(_PAGE_MAX, limit))
        tweets: list[Body] = []
        token: str | None = None
        while True:
            body = self._mentions_page(service.id, cursor, token, per_page)
            tweets.append(body)
            next_token = body.meta.get("next_token")
            if not next_token or not body.data:
                break
            token = str(next_token)
        newest = cursor
        posts: list[Post] = []
        for body in tweets:
            for tweet in body.data:
                tweet_id = str(tweet["id"])
                if newest is None or id_key(tweet_id) > id_key(newest):
                    newest = tweet_id
            posts.extend(self._posts(body))
        seen: set[str] = set()
        ordered: list[Post] = []
        for post in sorted(posts, key=lambda p: id_key(p.id)):
            if post.id in seen or (cursor is not None and id_key(post.id) <= id_key(cursor)):
                continue
            seen.add(post.id)
            ordered.append(post)
        return MentionPage(posts=tuple(ordered), cursor=newest)

    def _mentions_page(
        self, service_id: str, cursor: str | None, token: str | None, per_page: int
    ) -> Body:
        return self._call(
            lambda: self._api.get_users_mentions(
                service_id,
                since_id=cursor,
                pagination_token=token,
                max_results=per_page,
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
                user_auth=self._read_as_user,
            )
        )

    def stream_mentions(
        self,
        on_post: Callable[[Post], None],
        stop: threading.Event,
        *,
        cursor: str | None = None,
        on_cursor: Callable[[str], None] | None = None,
    ) -> None:
        """Poll the mentions every ``poll_seconds`` (jittered), each round a backfill from the
        last cursor; failures back off with jitter, a rate limit waits for its reset."""
        backoff = Backoff(*self._backoff)
        rng = random.Random()
        while not stop.is_set():
            try:
                page = self.fetch_mentions(cursor)
            except RateLimited as exc:
                log.warning("%s: rate limited until %s", self.name, exc.reset_at)
                if wait_out(stop, backoff, exc.reset_at):
                    return
                continue
            except NetworkError as exc:
                log.warning("%s: polling mentions failed: %s", self.name, exc)
                if backoff.wait(stop):
                    return
                continue
            backoff.reset()
            for post in page.posts:
                on_post(post)
                cursor = post.id
                if on_cursor is not None:
                    on_cursor(cursor)
            if page.cursor is not None and page.cursor != cursor:
                # Posts left out (no visible author) move the cursor past them too.
                cursor = page.cursor
                if on_cursor is not None:
                    on_cursor(cursor)
            if stop.wait(self._poll_seconds * rng.uniform(0.8, 1.2)):
                return
