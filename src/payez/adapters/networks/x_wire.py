"""The X API v2 on the wire: where requests go, what their errors mean, and what its JSON
bodies say, read into the port's types.

tweepy builds every URL on ``https://api.twitter.com`` and has no type hints: :class:`ApiSession`
sends its requests to the configured API address instead (``https://api.x.com`` by default, a
local fake in tests) with a timeout, and :func:`x_errors` and :class:`Body` keep tweepy's untyped
answers at this edge.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from payez.adapters.networks.http_session import ServiceSession
from payez.domain.replies import X_MAX_WEIGHT, x_weighted_length
from payez.ports.network import (
    AuthenticationFailed,
    NetworkAccount,
    NetworkError,
    NetworkUnavailable,
    Post,
    PostNotFound,
    RateLimited,
    normalise_handle,
)

DEFAULT_API_URL = "https://api.x.com"
TWEEPY_HOST = "https://api.twitter.com"

TWEET_FIELDS = [
    "author_id",
    "created_at",
    "entities",
    "referenced_tweets",
    "edit_history_tweet_ids",
    "note_tweet",
    "in_reply_to_user_id",
]
USER_FIELDS = ["username", "protected"]
EXPANSIONS = ["author_id"]

# X user names: 1 to 15 letters, digits and underscores. Anything else cannot be an X account
# (X answers 400 to a lookup of it).
USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")

# What X says when a reply's target was deleted (or hidden from us): the post is gone, our
# credentials are fine.
_REPLY_TARGET_GONE = "deleted or not visible"
# What X says to a post whose text repeats one of the account's recent posts: a refusal of the
# text, not of our credentials.
_DUPLICATE_TEXT = "duplicate content"


class DuplicateText(NetworkError):
    """X refused the text because the account posted the same words recently."""

    code = "network_duplicate_text"
    message_fr = "Le réseau social refuse un message identique à un message récent."
    message_en = "The social network refuses a post identical to a recent one."


def with_reference(text: str, idempotency_key: str) -> str:
    """``text`` followed by a short reference of its key, within X's 280 weighted characters:
    the same words sent again for another payment become a post of their own."""
    suffix = f" ({hashlib.sha256(idempotency_key.encode()).hexdigest()[:6]})"
    while text and x_weighted_length(text + suffix) > X_MAX_WEIGHT:
        text = text[:-1]
    return text + suffix


class ApiSession(ServiceSession):
    """tweepy's HTTP session, pointed at ``api_url`` and given a timeout (tweepy sets none).

    The OAuth 1.0a signature is computed when the request is prepared, after this rewrite, so
    it covers the address the request really goes to."""

    def __init__(self, api_url: str, timeout: float) -> None:
        super().__init__()
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(TWEEPY_HOST):
            url = self.api_url + url[len(TWEEPY_HOST) :]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def tweepy_client(
    api_url: str,
    timeout: float,
    *,
    bearer_token: str | None = None,
    consumer_key: str | None = None,
    consumer_secret: str | None = None,
    access_token: str | None = None,
    access_token_secret: str | None = None,
) -> Any:
    """A tweepy client answering plain JSON dicts, on :class:`ApiSession`."""
    client = tweepy.Client(
        bearer_token=bearer_token or None,
        consumer_key=consumer_key or None,
        consumer_secret=consumer_secret or None,
        access_token=access_token or None,
        access_token_secret=access_token_secret or None,
        return_type=dict,
        wait_on_rate_limit=False,
    )
    client.session = ApiSession(api_url, timeout)
    return client


def _detail(exc: BaseException) -> str:
    if isinstance(exc, tweepy.HTTPException):
        messages = [str(m) for m in exc.api_messages if m]
        response = exc.response
        status = getattr(response, "status_code", "?")
        if not messages:
            with contextlib.suppress(Exception):
                body = response.json()
                messages = [str(body.get("detail") or body.get("title") or "")]
        return f"{status} {' '.join(messages)}".strip()
    return str(exc) or type(exc).__name__


def _reset_at(exc: tweepy.TooManyRequests) -> datetime | None:
    raw = exc.response.headers.get("x-rate-limit-reset")
    try:
        return datetime.fromtimestamp(int(raw), UTC) if raw else None
    except (TypeError, ValueError, OverflowError):
        return None


@contextlib.contextmanager
def x_errors() -> Iterator[None]:
    """Map tweepy's and requests' errors onto the port's error tree."""
    try:
        yield
    except tweepy.TooManyRequests as exc:
        raise RateLimited(_detail(exc), reset_at=_reset_at(exc)) from exc
    except tweepy.TwitterServerError as exc:
        raise NetworkUnavailable(_detail(exc)) from exc
    except tweepy.Unauthorized as exc:
        raise AuthenticationFailed(_detail(exc)) from exc
    except tweepy.Forbidden as exc:
        detail = _detail(exc)
        if _REPLY_TARGET_GONE in detail:
            raise PostNotFound(detail) from exc
        if _DUPLICATE_TEXT in detail:
            raise DuplicateText(detail) from exc
        raise AuthenticationFailed(detail) from exc
    except tweepy.NotFound as exc:
        raise PostNotFound(_detail(exc)) from exc
    except tweepy.HTTPException as exc:
        raise NetworkError(_detail(exc)) from exc
    except requests.RequestException as exc:
        raise NetworkUnavailable(_detail(exc)) from exc
    except tweepy.TweepyException as exc:
        raise NetworkError(_detail(exc)) from exc


@dataclass(frozen=True, slots=True)
class Body:
    """One JSON answer of the API: ``data`` (one object or a list), ``includes``, ``errors``
    (a 200 may carry both data and errors: X's partial errors), ``meta``."""

    data: tuple[Mapping[str, Any], ...]
    users: Mapping[str, Mapping[str, Any]]
    errors: tuple[Mapping[str, Any], ...]
    meta: Mapping[str, Any]

    @classmethod
    def of(cls, raw: Any) -> Body:
        if not isinstance(raw, Mapping):
            raise NetworkError(f"X answered {type(raw).__name__}, not a JSON object")
        data = raw.get("data")
        items: Sequence[Any] = () if data is None else data if isinstance(data, list) else (data,)
        includes = raw.get("includes") or {}
        users = {str(u["id"]): u for u in includes.get("users") or () if isinstance(u, Mapping)}
        return cls(
            data=tuple(i for i in items if isinstance(i, Mapping)),
            users=users,
            errors=tuple(e for e in raw.get("errors") or () if isinstance(e, Mapping)),
            meta=raw.get("meta") or {},
        )

    @property
    def first(self) -> Mapping[str, Any] | None:
        return self.data[0] if self.data else None


def account_of(user: Mapping[str, Any]) -> NetworkAccount:
    """The numeric user id is the identity; the username only its current name."""
    return NetworkAccount(id=str(user["id"]), handle=normalise_handle(str(user["username"])))


def id_key(tweet_id: str) -> int:
    """X ids are 64-bit snowflakes: they sort by time as numbers."""
    return int(tweet_id)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def unescape(text: str) -> str:
    """X escapes ``&``, ``<`` and ``>`` in post text, and nothing else."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def post_of(network: str, tweet: Mapping[str, Any], author: Mapping[str, Any]) -> Post:
    """A v2 tweet (with the fields of :data:`TWEET_FIELDS`) and its author, as a :class:`Post`.

    An edit is a new post with a new id; the first id of its edit history names the post it
    edits, and is the ``original_id`` the inbox is keyed on, so an edited command pays once.
    A long post's ``text`` is cut short: the whole text, and its mentions, are in
    ``note_tweet``.
    """
    post_id = str(tweet["id"])
    history = [str(i) for i in tweet.get("edit_history_tweet_ids") or ()]
    original_id = history[0] if history else post_id
    note = tweet.get("note_tweet")
    source: Mapping[str, Any] = note if isinstance(note, Mapping) and note.get("text") else tweet
    entities = source.get("entities") or {}
    mentions = tuple(
        NetworkAccount(id=str(m["id"]), handle=normalise_handle(str(m["username"])))
        for m in entities.get("mentions") or ()
        if m.get("id") and m.get("username")
    )
    references = {
        str(r.get("type")): str(r.get("id")) for r in tweet.get("referenced_tweets") or ()
    }
    account = account_of(author)
    created_at = parse_time(tweet.get("created_at")) or datetime.now(UTC)
    in_reply_to_user = tweet.get("in_reply_to_user_id")
    return Post(
        network=network,
        id=post_id,
        original_id=original_id,
        author=account,
        text=unescape(str(source.get("text") or "")),
        created_at=created_at,
        url=f"https://x.com/{account.handle}/status/{post_id}",
        in_reply_to_id=references.get("replied_to"),
        in_reply_to_account_id=str(in_reply_to_user) if in_reply_to_user else None,
        mentions=mentions,
        is_repost="retweeted" in references,
        is_quote="quoted" in references,
        # Posts on X are public, except those of protected accounts (seen by followers only).
        visibility="private" if author.get("protected") else "public",
        edited_at=created_at if original_id != post_id else None,
    )
