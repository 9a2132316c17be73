"""A fake of the X API v2 endpoints Payez uses, served over real HTTP for tests.

Built from X's documented formats (the OpenAPI types published with X's TypeScript SDK, and the
API reference for what those types predate: long posts' ``note_tweet``, direct messages, the
OAuth 2.0 endpoints). What matters to payments behaves as X does:

- Ids are numeric snowflakes that grow with time; users are known by numeric ids, usernames
  can change (``rename``).
- Fields: a post has ``id``, ``text`` and ``edit_history_tweet_ids`` by default, the rest only
  when ``tweet.fields`` asks; users have ``id``, ``name``, ``username`` (``protected`` when
  asked); ``expansions=author_id`` puts the authors in ``includes.users``.
- Mentions (``GET /2/users/:id/mentions``): newest first, ``since_id``, ``max_results`` (5 to
  100, else 400), ``pagination_token`` / ``meta.next_token`` going back in time.
- An edit (``edit``: X's API cannot edit) makes a new post with a new id; every version's
  ``edit_history_tweet_ids`` lists the chain, oldest first. A retweet is a post ``RT @a: ...``
  with ``referenced_tweets`` ``retweeted``; a quote has ``quoted``; a reply ``replied_to`` and
  ``in_reply_to_user_id``. A post over 280 characters is a long post: ``text`` holds its start,
  ``note_tweet`` (when asked) the whole text and its entities.
- A deleted post (or unknown id, or unknown user) is a 200 with only ``errors`` (a
  resource-not-found problem); replying to it is a 403. So is a post whose text repeats one
  of its author's posts. A suspended user's posts still come
  with the mentions, but X leaves the author out of ``includes`` and says why in ``errors``
  beside ``data`` (a partial error).
- Authentication: OAuth 1.0a user context (HMAC-SHA1 signatures are verified against the URL
  the request really reached), the app's bearer token (reads), or a user's OAuth 2.0 token
  (a bearer token too); anything else is 401. ``rate_limit`` makes the next requests of an
  endpoint answer 429 with ``x-rate-limit-reset`` (epoch seconds).
- OAuth 2.0 with PKCE (S256): ``GET /i/oauth2/authorize`` (signs in as ``?as_user=`` without a
  form: it is a fake), ``POST /2/oauth2/token``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from oauthlib.oauth1.rfc5849 import signature as oauth1
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.integration.network_server import ServedApp

PROBLEM_NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
LONG_POST = 280
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,15})")


@dataclass
class User:
    id: str
    username: str
    name: str
    protected: bool = False
    suspended: bool = False


@dataclass
class Tweet:
    id: str
    author_id: str
    text: str
    created_at: datetime
    chain: list[str]
    """Ids of every version, oldest first (shared by all versions of one post)."""
    references: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to_user_id: str | None = None
    deleted: bool = False


@dataclass
class Credentials:
    """What each user can authenticate with."""

    user_id: str
    access_token: str
    access_token_secret: str
    oauth2_token: str


class XFake:
    """The state of the fake X, and the controls tests use to act as X's users would."""

    consumer_key = "consumer-key"
    consumer_secret = "consumer-secret"
    app_bearer = "app-bearer-token"
    client_id = "x-client-id"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1_860_000_000_000_000_000, 7919)
        self._user_ids = itertools.count(1_436_000_001, 7)
        self.users: dict[str, User] = {}
        self.tweets: dict[str, Tweet] = {}
        self.credentials: dict[str, Credentials] = {}  # by username at creation
        self.dms: list[tuple[str, str, str]] = []  # (sender id, recipient id, text)
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.last_mentions_request = 0.0
        self._limits: dict[str, tuple[int, int]] = {}  # endpoint → (times left, reset epoch)
        self._failures: dict[str, tuple[int, int]] = {}  # endpoint → (times left, status)
        self.delays: dict[str, float] = {}  # endpoint → seconds before answering
        self._left_out_once: set[str] = set()
        self._codes: dict[str, tuple[str, str, str]] = {}  # code → (user id, challenge, redirect)

    # -- controls ------------------------------------------------------------------------------

    def _next_id(self) -> str:
        return str(next(self._ids))

    def add_user(self, username: str, *, protected: bool = False) -> User:
        with self.lock:
            for user in self.users.values():
                if user.username.lower() == username.lower():
                    return user
            user = User(str(next(self._user_ids)), username, username.title(), protected)
            self.users[user.id] = user
            self.credentials[username.lower()] = Credentials(
                user.id,
                f"{user.id}-{secrets.token_hex(6)}",
                secrets.token_hex(12),
                f"oauth2-{username}-{secrets.token_hex(6)}",
            )
            return user

    def user(self, username: str) -> User:
        with self.lock:
            return next(u for u in self.users.values() if u.username.lower() == username.lower())

    def rename(self, username: str, new_username: str) -> None:
        with self.lock:
            self.user(username).username = new_username

    def suspend(self, username: str) -> None:
        with self.lock:
            self.user(username).suspended = True

    def leave_out_of_includes_once(self, username: str) -> None:
        """The next answer that should include this user leaves them out, with an error."""
        with self.lock:
            self._left_out_once.add(self.user(username).id)

    def post(
        self,
        username: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        quote_of: str | None = None,
    ) -> str:
        with self.lock:
            author = self.user(username)
            references: list[tuple[str, str]] = []
            in_reply_to_user: str | None = None
            if in_reply_to is not None:
                target = self.tweets.get(in_reply_to)
                if target is None or target.deleted:
                    raise LookupError(in_reply_to)
                references.append(("replied_to", in_reply_to))
                in_reply_to_user = target.author_id
            if quote_of is not None:
                references.append(("quoted", quote_of))
            tweet_id = self._next_id()
            self.tweets[tweet_id] = Tweet(
                tweet_id,
                author.id,
                text,
                datetime.now(UTC),
                [tweet_id],
                references,
                in_reply_to_user,
            )
            return tweet_id

    def edit(self, post_id: str, text: str) -> str:
        """Edit a post as X does: a new post, with a new id, in the same edit chain."""
        with self.lock:
            old = self.tweets[post_id]
            new_id = self._next_id()
            old.chain.append(new_id)
            self.tweets[new_id] = Tweet(
                new_id,
                old.author_id,
                text,
                datetime.now(UTC),
                old.chain,
                list(old.references),
                old.in_reply_to_user_id,
            )
            return new_id

    def retweet(self, username: str, post_id: str) -> str:
        with self.lock:
            original = self.tweets[post_id]
            original_author = self.users[original.author_id]
            return self._store_retweet(self.user(username), original, original_author)

    def _store_retweet(self, user: User, original: Tweet, original_author: User) -> str:
        tweet_id = self._next_id()
        self.tweets[tweet_id] = Tweet(
            tweet_id,
            user.id,
            f"RT @{original_author.username}: {original.text}",
            datetime.now(UTC),
            [tweet_id],
            [("retweeted", original.id)],
        )
        return tweet_id

    def delete(self, post_id: str) -> None:
        with self.lock:
            for version in self.tweets[post_id].chain:
                self.tweets[version].deleted = True

    def activity_event(self, post_id: str) -> dict[str, Any]:
        """The post as an Account Activity delivery carries it: X's v1.1 format (``id_str``,
        ``user``, ``entities.user_mentions``, ``extended_tweet`` for a long post,
        ``edit_history``, ``retweeted_status`` / ``is_quote_status``)."""
        with self.lock:
            tweet = self.tweets[post_id]
            author = self.users[tweet.author_id]

            def mentions(text: str) -> list[dict[str, Any]]:
                return [
                    {
                        "screen_name": m["username"],
                        "name": self.users[m["id"]].name,
                        "id": int(m["id"]),
                        "id_str": m["id"],
                        "indices": [m["start"], m["end"]],
                    }
                    for m in self._mentions_of(text)
                ]

            long_post = len(tweet.text) > LONG_POST
            shown = tweet.text[:LONG_POST] if long_post else tweet.text
            references = dict(tweet.references)
            event: dict[str, Any] = {
                "created_at": tweet.created_at.strftime("%a %b %d %H:%M:%S +0000 %Y"),
                "id": int(tweet.id),
                "id_str": tweet.id,
                "text": self._escape(shown),
                "truncated": long_post,
                "in_reply_to_status_id_str": references.get("replied_to"),
                "in_reply_to_user_id_str": tweet.in_reply_to_user_id,
                "user": {
                    "id": int(author.id),
                    "id_str": author.id,
                    "name": author.name,
                    "screen_name": author.username,
                    "protected": author.protected,
                },
                "is_quote_status": "quoted" in references,
                "entities": {"hashtags": [], "urls": [], "user_mentions": mentions(shown)},
                "edit_history": {"initial_tweet_id": tweet.chain[0], "edit_tweet_ids": tweet.chain},
            }
            if long_post:
                event["extended_tweet"] = {
                    "full_text": self._escape(tweet.text),
                    "entities": {"user_mentions": mentions(tweet.text)},
                }
            if "quoted" in references:
                event["quoted_status_id_str"] = references["quoted"]
            if "retweeted" in references:
                event["retweeted_status"] = self.activity_event(references["retweeted"])
            return event

    def rate_limit(self, endpoint: str, *, times: int = 1, reset_in: int = 60) -> int:
        """The next ``times`` requests to ``endpoint`` ("mentions", "tweets", "users",
        "create_tweet", "dm") answer 429; returns the reset time (epoch seconds)."""
        reset = int(time.time()) + reset_in
        with self.lock:
            self._limits[endpoint] = (times, reset)
        return reset

    def fail(self, endpoint: str, status: int, *, times: int = 1) -> None:
        """The next ``times`` requests to ``endpoint`` answer ``status`` (a problem body)."""
        with self.lock:
            self._failures[endpoint] = (times, status)

    def replies_to(self, post_id: str) -> list[Tweet]:
        with self.lock:
            return [
                t
                for t in self.tweets.values()
                if ("replied_to", post_id) in t.references and not t.deleted
            ]

    # -- rendering -----------------------------------------------------------------------------

    def _mentions_of(self, text: str) -> list[dict[str, Any]]:
        found = []
        by_name = {u.username.lower(): u for u in self.users.values()}
        for match in _MENTION.finditer(text):
            user = by_name.get(match.group(1).lower())
            if user is None:
                continue
            found.append(
                {
                    "start": match.start(),
                    "end": match.end(),
                    "username": match.group(1),
                    "id": user.id,
                }
            )
        return found

    def _escape(self, text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def render_tweet(self, tweet: Tweet, fields: set[str]) -> dict[str, Any]:
        long_post = len(tweet.text) > LONG_POST
        shown = tweet.text[:LONG_POST] if long_post else tweet.text
        body: dict[str, Any] = {
            "id": tweet.id,
            "text": self._escape(shown),
            "edit_history_tweet_ids": list(tweet.chain),
        }
        if "author_id" in fields:
            body["author_id"] = tweet.author_id
        if "created_at" in fields:
            body["created_at"] = tweet.created_at.strftime("%Y-%m-%dT%H:%M:%S.") + (
                f"{tweet.created_at.microsecond // 1000:03d}Z"
            )
        mentions = self._mentions_of(shown)
        if "entities" in fields and mentions:
            body["entities"] = {"mentions": mentions}
        if "referenced_tweets" in fields and tweet.references:
            body["referenced_tweets"] = [{"type": k, "id": i} for k, i in tweet.references]
        if "in_reply_to_user_id" in fields and tweet.in_reply_to_user_id:
            body["in_reply_to_user_id"] = tweet.in_reply_to_user_id
        if "note_tweet" in fields and long_post:
            note: dict[str, Any] = {"text": self._escape(tweet.text)}
            full_mentions = self._mentions_of(tweet.text)
            if full_mentions:
                note["entities"] = {"mentions": full_mentions}
            body["note_tweet"] = note
        return body

    def render_user(self, user: User, fields: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        if "protected" in fields:
            body["protected"] = user.protected
        return body

    def user_problem(self, user_id: str, parameter: str = "id") -> dict[str, Any]:
        user = self.users.get(user_id)
        detail = (
            f"User has been suspended: [{user_id}]."
            if user is not None and user.suspended
            else f"Could not find user with {parameter}: [{user_id}]."
        )
        return {
            "value": user_id,
            "detail": detail,
            "title": "Forbidden" if user is not None and user.suspended else "Not Found Error",
            "resource_type": "user",
            "parameter": parameter,
            "resource_id": user_id,
            "type": PROBLEM_NOT_FOUND,
        }

    def expand(
        self, tweets: list[Tweet], request: Request
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """``includes`` and ``errors`` for ``expansions=author_id``."""
        if "author_id" not in _list(request, "expansions"):
            return {}, []
        user_fields = _list(request, "user.fields")
        users: dict[str, dict[str, Any]] = {}
        errors: list[dict[str, Any]] = []
        for tweet in tweets:
            author = self.users[tweet.author_id]
            if author.suspended or author.id in self._left_out_once:
                problem = self.user_problem(author.id, "author_id")
                if problem not in errors:
                    errors.append(problem)
                continue
            users[author.id] = self.render_user(author, user_fields)
        self._left_out_once.difference_update(t.author_id for t in tweets)
        return ({"users": list(users.values())} if users else {}), errors

    # -- authentication ------------------------------------------------------------------------

    def caller(self, request: Request, body: bytes) -> str | None:
        """The user id the request is made as, "" for the app's bearer token, None if refused."""
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            token = header[len("Bearer ") :]
            if token == self.app_bearer:
                return ""
            for credentials in self.credentials.values():
                if secrets.compare_digest(token, credentials.oauth2_token):
                    return credentials.user_id
            return None
        if header.startswith("OAuth "):
            params = dict(
                oauth1.collect_parameters(
                    headers={"Authorization": header}, exclude_oauth_signature=False
                )
            )
            token = params.get("oauth_token", "")
            found = next(
                (c for c in self.credentials.values() if c.access_token == token),
                None,
            )
            if found is None or params.get("oauth_consumer_key") != self.consumer_key:
                return None
            signed = SimpleNamespace(
                params=oauth1.collect_parameters(
                    uri_query=request.url.query,
                    headers={"Authorization": header},
                    exclude_oauth_signature=True,
                ),
                uri=str(request.url),
                http_method=request.method,
                signature=params.get("oauth_signature", ""),
            )
            if not oauth1.verify_hmac_sha1(signed, self.consumer_secret, found.access_token_secret):
                return None
            return found.user_id
        return None

    def limited(self, endpoint: str) -> JSONResponse | None:
        failures, status = self._failures.get(endpoint, (0, 0))
        if failures > 0:
            self._failures[endpoint] = (failures - 1, status)
            return _problem(status, "Service Unavailable" if status >= 500 else "Error", "fault")
        times, reset = self._limits.get(endpoint, (0, 0))
        if times <= 0:
            return None
        self._limits[endpoint] = (times - 1, reset)
        return JSONResponse(
            {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            },
            status_code=429,
            headers={
                "x-rate-limit-limit": "180",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )


def _list(request: Request, name: str) -> set[str]:
    raw = request.query_params.get(name, "")
    return {part for part in raw.split(",") if part}


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"title": title, "detail": detail, "type": "about:blank", "status": status},
        status_code=status,
    )


def _unauthorized() -> JSONResponse:
    return _problem(401, "Unauthorized", "Unauthorized")


def create_x_app(fake: XFake) -> Starlette:
    async def authenticated(
        request: Request, endpoint: str, *, user: bool = False
    ) -> tuple[str | None, Response | None]:
        body = await request.body()
        delay = fake.delays.get(endpoint, 0.0)
        if delay:
            await asyncio.sleep(delay)
        with fake.lock:
            fake.requests.append((request.method, request.url.path))
            limited = fake.limited(endpoint)
            if limited is not None:
                return None, limited
            caller = fake.caller(request, body)
        if caller is None or (user and caller == ""):
            return None, _unauthorized()
        return caller, None

    def not_found(value: str, parameter: str, kind: str = "tweet") -> JSONResponse:
        noun = "tweet" if kind == "tweet" else "user"
        return JSONResponse(
            {
                "errors": [
                    {
                        "value": value,
                        "detail": f"Could not find {noun} with {parameter}: [{value}].",
                        "title": "Not Found Error",
                        "resource_type": kind,
                        "parameter": parameter,
                        "resource_id": value,
                        "type": PROBLEM_NOT_FOUND,
                    }
                ]
            }
        )

    async def me(request: Request) -> Response:
        caller, refused = await authenticated(request, "users", user=True)
        if refused is not None:
            return refused
        assert caller
        with fake.lock:
            return JSONResponse(
                {"data": fake.render_user(fake.users[caller], _list(request, "user.fields"))}
            )

    async def user_by_username(request: Request) -> Response:
        _, refused = await authenticated(request, "users")
        if refused is not None:
            return refused
        wanted = request.path_params["username"]
        if not re.fullmatch(r"[A-Za-z0-9_]{1,15}", wanted):
            return _problem(400, "Invalid Request", "One or more parameters are invalid.")
        with fake.lock:
            for user in fake.users.values():
                if user.username.lower() == wanted.lower() and not user.suspended:
                    return JSONResponse(
                        {"data": fake.render_user(user, _list(request, "user.fields"))}
                    )
        return not_found(wanted, "username", "user")

    async def user_by_id(request: Request) -> Response:
        _, refused = await authenticated(request, "users")
        if refused is not None:
            return refused
        user_id = request.path_params["id"]
        with fake.lock:
            user = fake.users.get(user_id)
            if user is None or user.suspended:
                return JSONResponse({"errors": [fake.user_problem(user_id)]})
            return JSONResponse({"data": fake.render_user(user, _list(request, "user.fields"))})

    async def mentions(request: Request) -> Response:
        _, refused = await authenticated(request, "mentions")
        if refused is not None:
            return refused
        params = request.query_params
        try:
            per_page = int(params.get("max_results", "10"))
        except ValueError:
            per_page = 0
        if not 5 <= per_page <= 100:
            return _problem(400, "Invalid Request", "max_results must be between 5 and 100")
        since = int(params["since_id"]) if params.get("since_id") else 0
        before = int(params["pagination_token"][1:]) if params.get("pagination_token") else None
        user_id = request.path_params["id"]
        fields = _list(request, "tweet.fields")
        with fake.lock:
            fake.last_mentions_request = time.monotonic()
            matching = sorted(
                (
                    t
                    for t in fake.tweets.values()
                    if not t.deleted
                    and int(t.id) > since
                    and (before is None or int(t.id) < before)
                    # A long post notifies the users it mentions past its first 280 characters.
                    and any(m["id"] == user_id for m in fake._mentions_of(t.text))
                ),
                key=lambda t: int(t.id),
                reverse=True,
            )
            page, rest = matching[:per_page], matching[per_page:]
            if not page:
                return JSONResponse({"meta": {"result_count": 0}})
            includes, errors = fake.expand(page, request)
            meta: dict[str, Any] = {
                "result_count": len(page),
                "newest_id": page[0].id,
                "oldest_id": page[-1].id,
            }
            if rest:
                meta["next_token"] = f"p{page[-1].id}"
            answer: dict[str, Any] = {
                "data": [fake.render_tweet(t, fields) for t in page],
                "meta": meta,
            }
            if includes:
                answer["includes"] = includes
            if errors:
                answer["errors"] = errors
            return JSONResponse(answer)

    async def user_tweets(request: Request) -> Response:
        """``GET /2/users/:id/tweets``: the user's own posts, newest first (max_results 5-100)."""
        _, refused = await authenticated(request, "user_tweets")
        if refused is not None:
            return refused
        try:
            per_page = int(request.query_params.get("max_results", "10"))
        except ValueError:
            per_page = 0
        if not 5 <= per_page <= 100:
            return _problem(400, "Invalid Request", "max_results must be between 5 and 100")
        user_id = request.path_params["id"]
        fields = _list(request, "tweet.fields")
        with fake.lock:
            own = sorted(
                (t for t in fake.tweets.values() if t.author_id == user_id and not t.deleted),
                key=lambda t: int(t.id),
                reverse=True,
            )[:per_page]
            if not own:
                return JSONResponse({"meta": {"result_count": 0}})
            return JSONResponse(
                {
                    "data": [fake.render_tweet(t, fields) for t in own],
                    "meta": {
                        "result_count": len(own),
                        "newest_id": own[0].id,
                        "oldest_id": own[-1].id,
                    },
                }
            )

    async def tweet(request: Request) -> Response:
        tweet_id = request.path_params["id"]
        if request.method == "DELETE":
            caller, refused = await authenticated(request, "create_tweet", user=True)
            if refused is not None:
                return refused
            with fake.lock:
                found = fake.tweets.get(tweet_id)
                if found is None or found.deleted or found.author_id != caller:
                    return _problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
                fake.delete(tweet_id)
            return JSONResponse({"data": {"deleted": True}})
        _, refused = await authenticated(request, "tweets")
        if refused is not None:
            return refused
        with fake.lock:
            found = fake.tweets.get(tweet_id)
            if found is None or found.deleted:
                return not_found(tweet_id, "id")
            includes, errors = fake.expand([found], request)
            answer: dict[str, Any] = {
                "data": fake.render_tweet(found, _list(request, "tweet.fields"))
            }
            if includes:
                answer["includes"] = includes
            if errors:
                answer["errors"] = errors
            return JSONResponse(answer)

    async def create_tweet(request: Request) -> Response:
        caller, refused = await authenticated(request, "create_tweet", user=True)
        if refused is not None:
            return refused
        assert caller
        payload = await request.json()
        text = str(payload.get("text") or "")
        if not text:
            return _problem(400, "Invalid Request", "text is required")
        reply = payload.get("reply") or {}
        with fake.lock:
            author = fake.users[caller]
            if any(
                t.author_id == caller and t.text == text and not t.deleted
                for t in fake.tweets.values()
            ):
                return _problem(
                    403,
                    "Forbidden",
                    "You are not allowed to create a Tweet with duplicate content.",
                )
            target = reply.get("in_reply_to_tweet_id")
            if target is not None:
                found = fake.tweets.get(str(target))
                if found is None or found.deleted:
                    return _problem(
                        403,
                        "Forbidden",
                        "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    )
            tweet_id = fake.post(
                author.username,
                text,
                in_reply_to=str(target) if target is not None else None,
                quote_of=payload.get("quote_tweet_id"),
            )
            return JSONResponse(
                {"data": {"id": tweet_id, "text": fake._escape(text)}}, status_code=201
            )

    async def retweet(request: Request) -> Response:
        caller, refused = await authenticated(request, "create_tweet", user=True)
        if refused is not None:
            return refused
        if caller != request.path_params["id"]:
            return _problem(403, "Forbidden", "You can only Retweet as yourself.")
        payload = await request.json()
        with fake.lock:
            original = fake.tweets.get(str(payload.get("tweet_id")))
            if original is None or original.deleted:
                return not_found(str(payload.get("tweet_id")), "tweet_id")
            fake._store_retweet(fake.users[caller], original, fake.users[original.author_id])
        return JSONResponse({"data": {"retweeted": True}})

    async def direct_message(request: Request) -> Response:
        caller, refused = await authenticated(request, "dm", user=True)
        if refused is not None:
            return refused
        assert caller
        participant = request.path_params["participant_id"]
        payload = await request.json()
        with fake.lock:
            if participant not in fake.users:
                return _problem(400, "Invalid Request", "participant_id is not a user")
            fake.dms.append((caller, participant, str(payload.get("text") or "")))
            pair = sorted([caller, participant], key=int)
            return JSONResponse(
                {
                    "data": {
                        "dm_conversation_id": f"{pair[0]}-{pair[1]}",
                        "dm_event_id": fake._next_id(),
                    }
                },
                status_code=201,
            )

    async def authorize(request: Request) -> Response:
        params = request.query_params
        if (
            params.get("response_type") != "code"
            or params.get("client_id") != fake.client_id
            or params.get("code_challenge_method") != "S256"
            or not params.get("code_challenge")
        ):
            return _problem(400, "Invalid Request", "invalid authorization request")
        with fake.lock:
            user = fake.user(params.get("as_user", ""))
            code = secrets.token_urlsafe(12)
            fake._codes[code] = (user.id, params["code_challenge"], params["redirect_uri"])
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def token(request: Request) -> Response:
        form = await request.form()
        with fake.lock:
            entry = fake._codes.pop(str(form.get("code", "")), None)
        if entry is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        user_id, challenge, redirect_uri = entry
        verifier = str(form.get("code_verifier", ""))
        computed = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if computed != challenge or form.get("redirect_uri") != redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        client_id = form.get("client_id")
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            client_id = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        if client_id != fake.client_id:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        with fake.lock:
            oauth2 = next(c for c in fake.credentials.values() if c.user_id == user_id).oauth2_token
        return JSONResponse(
            {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": oauth2,
                "scope": "tweet.read users.read tweet.write",
            }
        )

    return Starlette(
        routes=[
            Route("/2/users/me", me),
            Route("/2/users/by/username/{username}", user_by_username),
            Route("/2/users/{id}/mentions", mentions),
            Route("/2/users/{id}/retweets", retweet, methods=["POST"]),
            Route("/2/users/{id}/tweets", user_tweets),
            Route("/2/users/{id}", user_by_id),
            Route("/2/tweets", create_tweet, methods=["POST"]),
            Route("/2/tweets/{id}", tweet, methods=["GET", "DELETE"]),
            Route(
                "/2/dm_conversations/with/{participant_id}/messages",
                direct_message,
                methods=["POST"],
            ),
            Route("/i/oauth2/authorize", authorize),
            Route("/2/oauth2/token", token, methods=["POST"]),
        ]
    )


@dataclass
class RunningX:
    fake: XFake
    server: ServedApp

    @property
    def url(self) -> str:
        return self.server.url

    def network_options(self) -> dict[str, str]:
        """The service account's settings, as ``XNetwork`` takes them."""
        payez = self.fake.credentials["payez"]
        return {
            "consumer_key": self.fake.consumer_key,
            "consumer_secret": self.fake.consumer_secret,
            "access_token": payez.access_token,
            "access_token_secret": payez.access_token_secret,
            "bearer_token": self.fake.app_bearer,
            "api_url": self.url,
        }

    def settings(self) -> dict[str, str]:
        """The same, as the ``PAYEZ_X_*`` environment."""
        options = self.network_options()
        return {
            "PAYEZ_X_CONSUMER_KEY": options["consumer_key"],
            "PAYEZ_X_CONSUMER_SECRET": options["consumer_secret"],
            "PAYEZ_X_ACCESS_TOKEN": options["access_token"],
            "PAYEZ_X_ACCESS_TOKEN_SECRET": options["access_token_secret"],
            "PAYEZ_X_BEARER_TOKEN": options["bearer_token"],
            "PAYEZ_X_API_URL": options["api_url"],
        }


@contextlib.contextmanager
def running_x(*usernames: str) -> Iterator[RunningX]:
    """The fake X on a free loopback port, with ``payez`` and ``usernames`` as users."""
    fake = XFake()
    for username in ("payez", *usernames):
        fake.add_user(username)
    server = ServedApp(create_x_app(fake))
    server.start()
    try:
        yield RunningX(fake, server)
    finally:
        server.stop()
