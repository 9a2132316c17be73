"""The Mastodon adapter, on Mastodon.py: for real Mastodon servers and the sandbox network.

- Mentions come from notifications of type ``mention``; the cursor is the newest notification
  id seen, pages are walked forward with ``min_id``.
- The live stream is the user's notification stream (server-sent events): the whole user
  stream would also carry the home timeline, the service's own replies among it, for the
  server to render and send and this side to skip. It reconnects with jittered exponential
  backoff and backfills from its cursor after every (re)connection.
- Identities: Mastodon account ids are per server, so ``NetworkAccount.id`` is the account URI;
  handles are ``acct`` lower-cased (``alice`` locally, ``alice@example.org`` remote).
- Errors: 429 → :class:`RateLimited` (reset time from ``X-RateLimit-Reset``), connection
  errors and 5xx → :class:`NetworkUnavailable`, 401 → :class:`AuthenticationFailed`,
  404 → :class:`PostNotFound` (None from :meth:`fetch_post`).
- Replies carry Mastodon's ``Idempotency-Key``. Mastodon remembers keys for about an hour
  (the sandbox forever), so the outbox keeps its own record of what it has sent.
- Publishing as a person (a merchant's listing) uses that person's own access token (a grant
  with ``write:statuses``), never the service's; the status must come back as theirs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from mastodon import Mastodon, StreamListener
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonMalformedEventError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonReadTimeout,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from requests.exceptions import ChunkedEncodingError, ReadTimeout

from payez.adapters.networks.html_text import html_to_text
from payez.adapters.networks.http_session import (
    Answer,
    DirectClient,
    RequestFailed,
    ServiceSession,
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

log = logging.getLogger("payez.networks.mastodon")

# Live posts handed over before the cursor is, at most, during a burst.
_CURSOR_EVERY = 200

FORM = "application/x-www-form-urlencoded"


def _id_key(value: str) -> tuple[int, str]:
    """Mastodon ids are decimal strings of growing length: compare them as numbers."""
    return (len(value), value)


def _newer(candidate: str, cursor: str | None) -> bool:
    return cursor is None or _id_key(candidate) > _id_key(cursor)


# Pages of notifications one fetch reads at most (40 each) before handing them over.
PAGES_PER_FETCH = 10


def _reaches(page: list[Mapping[str, Any]], boundary: str | None) -> bool:
    """The page holds the notification ``boundary`` or a newer one."""
    return boundary is not None and any(not _newer(boundary, str(n["id"])) for n in page)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _StreamSession(ServiceSession):
    """A session that keeps hold of its open streaming response, so it can be cut from another
    thread (a blocked read only wakes up when its socket is shut down)."""

    def __init__(self) -> None:
        super().__init__()
        self.current: requests.Response | None = None

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(*args, **kwargs)
        if kwargs.get("stream"):
            self.current = response
        return response

    def cut(self) -> None:
        response = self.current
        if response is None:
            return
        raw = response.raw
        for path in (("_connection", "sock"), ("_fp", "fp", "raw", "_sock")):
            target: Any = raw
            for attribute in path:
                target = getattr(target, attribute, None)
            if isinstance(target, socket.socket):
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_RDWR)
                break
        with contextlib.suppress(Exception):
            response.close()


class _Listener(StreamListener):
    """Hands stream events to the consuming thread through a queue."""

    def __init__(self, events: queue.Queue[tuple[str, Any]]) -> None:
        self.events = events
        self.connected = False
        self.closed = threading.Event()
        # The id of the first notification this connection streamed: everything from it on
        # comes through the stream, so a backfill need not read past it.
        self.first_notification_id: str | None = None

    def _mark_connected(self) -> None:
        if not self.connected:
            self.connected = True
            self.events.put(("connected", None))

    def handle_heartbeat(self) -> None:
        if self.closed.is_set():
            raise MastodonNetworkError("stream closed by the client")
        self._mark_connected()

    def on_notification(self, notification: Any) -> None:
        self._mark_connected()
        if self.first_notification_id is None:
            self.first_notification_id = str(notification["id"])
        if not self.closed.is_set():
            self.events.put(("notification", notification))

    def on_unknown_event(self, name: str, unknown_event: Any = None) -> None:
        pass

    def handle_stream(self, response: requests.Response) -> None:
        """Read the server-sent events as they come, a network chunk at a time.

        Mastodon.py's own reader takes the body one byte per call and casts every field of
        every event (each string tried as a date): most of a busy listener's time. Only
        notifications matter here, decoded as plain JSON; every other event is skipped unread.
        """
        buffer = b""
        try:
            for chunk in response.iter_content(chunk_size=None):
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self._event(block)
        except ChunkedEncodingError as err:
            raise MastodonNetworkError("Server ceased communication.") from err
        except ReadTimeout as err:
            raise MastodonReadTimeout("Timed out while reading from server.") from err
        except requests.ConnectionError as err:
            raise MastodonNetworkError("Requests reports connection error.") from err

    def _event(self, block: bytes) -> None:
        name = ""
        data: list[str] = []
        for raw in block.split(b"\n"):
            try:
                line = raw.decode()
            except UnicodeDecodeError as err:
                raise MastodonMalformedEventError("Malformed UTF-8") from err
            if line.startswith(":"):
                self.handle_heartbeat()
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if name != "notification":
            if name:
                self._mark_connected()
            return
        try:
            payload = json.loads("\n".join(data))
        except ValueError as err:
            raise MastodonMalformedEventError("Bad JSON") from err
        self.on_notification(payload)


class MastodonNetwork:
    """:class:`payez.ports.network.SocialNetwork` over the Mastodon client API."""

    def __init__(
        self,
        api_base_url: str,
        access_token: str,
        *,
        name: str = "mastodon",
        request_timeout: float = 30.0,
        stream_read_timeout: float = 60.0,
        backoff_initial: float = 1.0,
        backoff_maximum: float = 120.0,
        reply_visibility: str = "public",
        session: requests.Session | None = None,
    ) -> None:
        self.name = name
        self._base = api_base_url.rstrip("/")
        self._token = access_token
        self._request_timeout = request_timeout
        self._stream_read_timeout = stream_read_timeout
        self._backoff = (backoff_initial, backoff_maximum)
        self._reply_visibility = reply_visibility
        self._session = session or ServiceSession()
        # Replies, sent at the rate posts come, skip requests' own work on each request
        # (``http_session``). A session given (tests mount adapters on one) carries them too.
        self._direct = DirectClient() if session is None else None
        self._api = self._client(self._session)
        self._lock = threading.Lock()
        self._service_account: NetworkAccount | None = None
        self._accounts: dict[str, NetworkAccount] = {}  # per-server account id → account

    def _client(self, session: requests.Session, access_token: str | None = None) -> Any:
        return Mastodon(
            access_token=access_token or self._token,
            api_base_url=self._base,
            ratelimit_method="throw",
            request_timeout=self._request_timeout,
            version_check_mode="none",
            session=session,
        )

    # -- errors ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, api: Any = None) -> Iterator[None]:
        try:
            yield
        except MastodonRatelimitError as exc:
            reset = (api or self._api).ratelimit_reset
            reset_at = datetime.fromtimestamp(reset, UTC) if reset else None
            raise RateLimited(str(exc), reset_at=reset_at) from exc
        except MastodonNotFoundError as exc:
            raise PostNotFound(_describe(exc)) from exc
        except MastodonUnauthorizedError as exc:
            raise AuthenticationFailed(_describe(exc)) from exc
        except (MastodonNetworkError, MastodonServerError, requests.RequestException) as exc:
            raise NetworkUnavailable(_describe(exc)) from exc
        except MastodonAPIError as exc:
            if _status(exc) == 403:
                raise AuthenticationFailed(_describe(exc)) from exc
            if isinstance(exc.__context__, ValueError):
                # An answer that is not JSON was cut off on its way (or came from a proxy in
                # trouble): the network is not there for now, and it is worth trying again.
                raise NetworkUnavailable(_describe(exc)) from exc
            raise NetworkError(_describe(exc)) from exc
        except MastodonError as exc:
            raise NetworkError(_describe(exc)) from exc

    # -- accounts ----------------------------------------------------------------------------------

    @property
    def service_account(self) -> NetworkAccount:
        if self._service_account is None:
            with self._errors():
                me = self._api.account_verify_credentials()
            self._service_account = self._remember(me)
        return self._service_account

    def _remember(self, account: Mapping[str, Any]) -> NetworkAccount:
        found = NetworkAccount(id=str(account["uri"]), handle=normalise_handle(account["acct"]))
        with self._lock:
            self._accounts[str(account["id"])] = found
        return found

    def _account_by_local_id(self, account_id: str) -> NetworkAccount:
        with self._lock:
            known = self._accounts.get(account_id)
        if known is not None:
            return known
        with self._errors():
            return self._remember(self._api.account(account_id))

    def resolve_handle(self, handle: str) -> NetworkAccount | None:
        wanted = normalise_handle(handle)
        if not wanted:
            return None
        try:
            with self._errors():
                return self._remember(self._api.account_lookup(wanted))
        except PostNotFound:
            return None

    # -- posts -------------------------------------------------------------------------------------

    def _post(self, status: Mapping[str, Any]) -> Post:
        reblog = status.get("reblog")
        shown: Mapping[str, Any] = reblog if reblog else status
        mentions: list[NetworkAccount] = []
        by_url: dict[str, str] = {}
        for mention in shown.get("mentions") or []:
            account = self._account_by_local_id(str(mention["id"]))
            mentions.append(account)
            by_url[str(mention["url"])] = account.handle
        in_reply_to_account = status.get("in_reply_to_account_id")
        return Post(
            network=self.name,
            id=str(status["id"]),
            original_id=str(status["id"]),
            author=self._remember(status["account"]),
            text=html_to_text(str(shown.get("content") or ""), by_url),
            created_at=_aware(status["created_at"]) or datetime.now(UTC),
            url=status.get("url") or status.get("uri"),
            in_reply_to_id=_str_or_none(status.get("in_reply_to_id")),
            in_reply_to_account_id=(
                self._account_by_local_id(str(in_reply_to_account)).id
                if in_reply_to_account is not None
                else None
            ),
            mentions=tuple(mentions),
            is_repost=reblog is not None,
            is_quote=shown.get("quote") is not None or shown.get("quote_id") is not None,
            visibility=str(status.get("visibility") or "public"),
            edited_at=_aware(status.get("edited_at")),
        )

    def fetch_post(self, post_id: str) -> Post | None:
        try:
            with self._errors():
                status = self._api.status(post_id)
        except PostNotFound:
            return None
        return self._post(status)

    def reply(self, to_post_id: str, text: str, idempotency_key: str) -> str:
        # Posted directly, not through Mastodon.py: only the new id is needed, and casting the
        # whole status it answers with (every string tried as a date) cost more than the call.
        status = self._post_status(
            {"status": text, "in_reply_to_id": to_post_id, "visibility": self._reply_visibility},
            idempotency_key,
        )
        return str(status["id"])

    def _post_status(self, form: Mapping[str, str], idempotency_key: str) -> Mapping[str, Any]:
        # An answer cut off on its way raises NetworkUnavailable: the status may exist; sent
        # again, its key finds it.
        # Encoded here: given a dict, requests checks each value against its runtime protocols,
        # which cost more than the encoding itself.
        url = f"{self._base}/api/v1/statuses"
        body = urlencode(form).encode()
        headers = {"Content-Type": FORM, "Idempotency-Key": idempotency_key}
        if self._direct is None:
            response: requests.Response | Answer = self._call(
                "POST", url, data=body, headers=headers
            )
        else:
            response = self._post_directly(self._direct, url, body, headers)
        status: Mapping[str, Any] = _json(response)
        return status

    def _post_directly(
        self, client: DirectClient, url: str, body: bytes, headers: Mapping[str, str]
    ) -> Answer:
        """:meth:`_call` for a POST, through the direct client."""
        try:
            answer = client.request(
                "POST",
                url,
                headers={"Authorization": f"Bearer {self._token}", **headers},
                body=body,
                timeout=self._request_timeout,
            )
        except RequestFailed as exc:
            raise NetworkUnavailable(str(exc)) from exc
        return _checked(answer)

    def _call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One request with the service's token, its failures told as Mastodon.py's are (see
        :meth:`_errors`)."""
        try:
            response = self._session.request(
                method,
                url,
                headers={"Authorization": f"Bearer {self._token}", **(headers or {})},
                timeout=self._request_timeout,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise NetworkUnavailable(_describe(exc)) from exc
        return _checked(response)

    def notify_privately(self, account: NetworkAccount, text: str, idempotency_key: str) -> None:
        # A Mastodon direct message is a status visible only to the accounts it mentions.
        prefix = f"@{account.handle} "
        body = text if text.startswith(prefix.strip()) else prefix + text
        with self._errors():
            self._api.status_post(body, visibility="direct", idempotency_key=idempotency_key)

    def publish(self, text: str, idempotency_key: str, author: Author) -> str:
        if not author.access_token:
            raise AuthenticationFailed(f"no access token for {author.account.handle}")
        api = self._client(self._session, author.access_token)
        with self._errors(api):
            status = api.status_post(text, visibility="public", idempotency_key=idempotency_key)
        if str(status["account"]["uri"]) != author.account.id:
            # A token granted by another account: its post must not stand for this one's.
            raise AuthenticationFailed(f"the token is not {author.account.handle}'s")
        return str(status["id"])

    # -- mentions ----------------------------------------------------------------------------------

    def fetch_mentions(
        self,
        cursor: str | None,
        limit: int = 40,
        *,
        streamed_from: Callable[[], str | None] = lambda: None,
        pages: int = PAGES_PER_FETCH,
    ) -> MentionPage:
        """As the port says: at most ``pages`` pages, then ``more`` is set. For a stream's
        backfill, stops at the page that reaches ``streamed_from()``, the first notification the
        stream delivered (None: none yet), as the stream has every one from there on.

        Under traffic that outpaces the pages, a read to the end never ends, and delivers
        nothing meanwhile; after a long outage it would hold the whole backlog in memory before
        recording any of it. Bounded chunks are recorded as they come."""
        # Read as plain JSON, not through Mastodon.py: it casts every field of every notification
        # (each string tried as a date), so a backfill after a burst of posts took seconds of CPU
        # (a listener reconnecting, or the poll, held up the process meanwhile).
        notifications: list[Mapping[str, Any]] = []
        # min_id pages forward from the cursor: each page is the next `limit` notifications
        # after it (served newest first), and the "prev" link moves on to newer ones.
        url = f"{self._base}/api/v1/notifications"
        params: dict[str, str | int] | None = {
            "types[]": "mention",
            "min_id": cursor or "0",
            "limit": limit,
        }
        more = False
        for _ in range(pages):
            response = self._call("GET", url, params=params)
            page = _json(response)
            if not isinstance(page, list):
                raise NetworkError(f"not a list of notifications: {str(page)[:200]!r}")
            if not page:
                break
            notifications.extend(page)
            if _reaches(page, streamed_from()):
                break
            newer = response.links.get("prev", {}).get("url")
            if newer is None:
                break
            url, params = newer, None  # the link carries the parameters
        else:
            more = True
        newest = cursor
        posts: list[Post] = []
        for notification in sorted(notifications, key=lambda n: _id_key(str(n["id"]))):
            notification_id = str(notification["id"])
            if not _newer(notification_id, newest):
                continue
            newest = notification_id
            if notification.get("type") == "mention" and notification.get("status"):
                posts.append(self._post(notification["status"]))
        return MentionPage(posts=tuple(posts), cursor=newest, more=more)

    def stream_mentions(
        self,
        on_post: Callable[[Post], None],
        stop: threading.Event,
        *,
        cursor: str | None = None,
        on_cursor: Callable[[str], None] | None = None,
    ) -> None:
        backoff = Backoff(*self._backoff)
        while not stop.is_set():
            events: queue.Queue[tuple[str, Any]] = queue.Queue()
            listener = _Listener(events)
            session = _StreamSession()
            worker = threading.Thread(
                target=self._run_stream,
                args=(session, listener, events),
                name=f"{self.name}-stream",
                daemon=True,
            )
            worker.start()
            try:
                cursor, limited_until = self._consume(
                    events, on_post, stop, cursor, on_cursor, backoff, listener
                )
            finally:
                listener.closed.set()
                session.cut()
            if stop.is_set():
                return
            if limited_until is not None:
                # The backfill met a rate limit: reconnecting sooner would only meet it again.
                log.warning("%s: rate limited; reconnecting after %s", self.name, limited_until)
                if wait_out(stop, backoff, limited_until):
                    return
                continue
            log.info("%s: stream ended; reconnecting", self.name)
            if backoff.wait(stop):
                return

    def _run_stream(
        self, session: _StreamSession, listener: _Listener, events: queue.Queue[tuple[str, Any]]
    ) -> None:
        error: BaseException | None = None
        try:
            self._client(session).stream_user_notifications(
                listener, timeout=self._stream_read_timeout
            )
        except BaseException as exc:  # the consumer decides; this thread only reports
            error = exc
        finally:
            events.put(("closed", error))

    def _consume(
        self,
        events: queue.Queue[tuple[str, Any]],
        on_post: Callable[[Post], None],
        stop: threading.Event,
        cursor: str | None,
        on_cursor: Callable[[str], None] | None,
        backoff: Backoff,
        listener: _Listener,
    ) -> tuple[str | None, datetime | None]:
        """Run one connection: wait for it, backfill, then deliver live events until it ends.
        Returns the cursor reached, and when a rate limit met by the backfill resets."""
        connected = False
        unsaved = 0  # posts delivered since the cursor was last handed to ``on_cursor``
        while not stop.is_set():
            if unsaved and (events.empty() or unsaved >= _CURSOR_EVERY):
                # Handed over once the burst is read, not after every post: the listener records
                # the run of posts and the cursor in one transaction.
                unsaved = 0
                if on_cursor is not None and cursor is not None:
                    on_cursor(cursor)
            try:
                kind, payload = events.get(timeout=0.05)
            except queue.Empty:
                continue
            if kind == "closed":
                break
            if kind == "connected" and not connected:
                connected = True
                log.info("%s: stream connected", self.name)
                more = True
                while more and not stop.is_set():
                    try:
                        page = self.fetch_mentions(
                            cursor, streamed_from=lambda: listener.first_notification_id
                        )
                    except RateLimited as exc:
                        return cursor, exc.reset_at or datetime.now(UTC)
                    except NetworkError:
                        return cursor, None
                    backoff.reset()
                    for post in page.posts:
                        on_post(post)
                    more = page.more and page.cursor != cursor
                    if page.cursor is not None and page.cursor != cursor:
                        cursor = page.cursor
                        if on_cursor is not None:
                            on_cursor(cursor)  # each chunk is recorded before the next is read
            elif kind == "notification" and connected:
                notification_id = str(payload["id"])
                if not _newer(notification_id, cursor):
                    continue
                if payload.get("type") == "mention" and payload.get("status"):
                    on_post(self._post(payload["status"]))
                cursor = notification_id
                unsaved += 1
        if unsaved and on_cursor is not None and cursor is not None:
            on_cursor(cursor)
        return cursor, None


def _reset_at(headers: Mapping[str, str]) -> datetime | None:
    """When a rate limit ends, on our clock: ``X-RateLimit-Reset`` (a time on the server's
    clock, or seconds since the epoch) shifted by how far the server's ``Date`` is from ours."""
    raw = headers.get("X-RateLimit-Reset")
    if not raw:
        return None
    try:
        reset = datetime.fromtimestamp(int(raw), UTC) if raw.isdigit() else _aware(raw.strip())
    except ValueError:
        return None
    served = headers.get("Date")
    if reset is not None and served:
        with contextlib.suppress(TypeError, ValueError):
            reset += datetime.now(UTC) - parsedate_to_datetime(served)
    return reset


_Answer = TypeVar("_Answer", requests.Response, Answer)


def _checked(response: _Answer) -> _Answer:
    """``response`` if it is not an error, else the error it stands for, as Mastodon.py's are
    told (see :meth:`MastodonNetwork._errors`)."""
    code = response.status_code
    if code < 400:
        return response
    message = f"Mastodon API returned error {code} {response.text[:200]}"
    if code == 429:
        raise RateLimited(message, reset_at=_reset_at(response.headers))
    if code >= 500:
        raise NetworkUnavailable(message)
    if code in (401, 403):
        raise AuthenticationFailed(message)
    if code == 404:
        raise PostNotFound(message)
    raise NetworkError(message)


def _json(response: requests.Response | Answer) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        # Cut off on its way (or from a proxy in trouble): worth trying again.
        raise NetworkUnavailable(f"not JSON: {response.text[:200]!r}") from exc


def _status(exc: MastodonError) -> int | None:
    for arg in exc.args:
        if isinstance(arg, int):
            return arg
    return None


def _describe(exc: BaseException) -> str:
    return " ".join(str(a) for a in exc.args if a is not None) or type(exc).__name__


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
