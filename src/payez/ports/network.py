"""The social network port: what the payment pipeline needs from X, Mastodon, Bluesky, sandbox.

Every implementation (the Mastodon adapter, the in-memory fake, later X and Bluesky) passes the
same conformance tests. Identities are immutable ids (Mastodon account URI, X user id, Bluesky
DID); handles are only for display and for resolving a command's recipient once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from payez.domain.errors import PayezError

Visibility = Literal["public", "unlisted", "private", "direct"]
VISIBILITIES: tuple[Visibility, ...] = ("public", "unlisted", "private", "direct")


@dataclass(frozen=True, slots=True)
class NetworkAccount:
    id: str
    """Immutable: Mastodon account URI, X user id, Bluesky DID."""
    handle: str
    """Normalised: lower case, no leading @ ("alice" locally, "alice@mastodon.social" remote)."""


def normalise_handle(handle: str) -> str:
    """``@Alice@Example.org`` → ``alice@example.org``; ``@Bob`` → ``bob``."""
    return handle.strip().lstrip("@").lower()


@dataclass(frozen=True, slots=True)
class Post:
    network: str
    """"sandbox", "mastodon", "x", "bluesky"."""
    id: str
    original_id: str
    """First id of the post's edit history (X gives an edit a new id); equal to ``id`` elsewhere.
    The inbox is keyed on (network, original_id)."""
    author: NetworkAccount
    text: str
    """Plain text (HTML converted): what the command parser reads."""
    created_at: datetime
    url: str | None
    in_reply_to_id: str | None
    in_reply_to_account_id: str | None
    mentions: tuple[NetworkAccount, ...]
    is_repost: bool
    """A boost / reblog / retweet: never a command."""
    is_quote: bool
    """Quotes another post: never pays for the quoted text."""
    visibility: str
    edited_at: datetime | None


@dataclass(frozen=True, slots=True)
class Author:
    """Whom :meth:`SocialNetwork.publish` posts as: a person's own account, with the access
    token they granted Payez for it (Mastodon's ``write:statuses``; X's and Bluesky's user
    tokens likewise). Without a token the network refuses to post for them."""

    account: NetworkAccount
    access_token: str | None = None


@dataclass(frozen=True, slots=True)
class MentionPage:
    posts: tuple[Post, ...]
    """Oldest first."""
    cursor: str | None
    """Pass it to the next ``fetch_mentions`` call: the newest mention seen so far."""
    more: bool = False
    """True when the network holds newer mentions than this page reached: a network that pages
    forward from the cursor hands them over in bounded chunks, to be recorded one by one."""


class SocialNetwork(Protocol):
    @property
    def name(self) -> str:
        """The ``Post.network`` value of this network's posts ("sandbox", "mastodon", ...)."""
        ...

    @property
    def service_account(self) -> NetworkAccount:
        """The account people mention to give commands (``@payez``)."""
        ...

    def fetch_mentions(self, cursor: str | None, limit: int = 40) -> MentionPage:
        """Mentions of the service account newer than ``cursor``, oldest first.

        Follows the network's pagination until it has everything newer than the cursor (at most
        ``limit`` per request), or, where the network pages forward from the cursor, a bounded
        chunk of it with ``more`` set: nothing newer is skipped, the next call goes on from the
        page's cursor. With ``cursor=None``, starts from everything the network still has.
        """
        ...

    def stream_mentions(
        self,
        on_post: Callable[[Post], None],
        stop: threading.Event,
        *,
        cursor: str | None = None,
        on_cursor: Callable[[str], None] | None = None,
    ) -> None:
        """Deliver mentions to ``on_post``, oldest first, until ``stop`` is set; blocks the caller.

        Reconnects with jittered exponential backoff; after every (re)connection, the first
        included, it runs a backfill with ``fetch_mentions`` from the last cursor it saw
        (initially ``cursor``: pass the one saved last time, or None for everything the network
        still has), so nothing is lost in a gap and nothing is delivered twice by this call.
        ``on_cursor`` is called with the new cursor after each delivered post or run of posts
        (a backfill page, a burst read from the stream), to be saved; every post delivered
        is followed by a call to ``on_cursor`` before this returns, so a listener may hold
        the posts until then and record them with the cursor in one transaction.
        If ``on_post`` raises, the stream closes and the exception propagates; the post whose
        delivery failed is not counted as seen.
        """
        ...

    def resolve_handle(self, handle: str) -> NetworkAccount | None:
        """The account behind ``handle`` (with or without ``@``), or None when there is none."""
        ...

    def fetch_post(self, post_id: str) -> Post | None:
        """The post as it stands now, or None when it was deleted or is not visible."""
        ...

    def reply(self, to_post_id: str, text: str, idempotency_key: str) -> str:
        """Reply to a post; returns the reply's id. The same key never posts twice."""
        ...

    def notify_privately(self, account: NetworkAccount, text: str, idempotency_key: str) -> None:
        """Tell ``account`` something privately (a direct message where the network has them)."""
        ...

    def publish(self, text: str, idempotency_key: str, author: Author) -> str:
        """Publish a new public post (not a reply) as ``author``; returns its id.

        The same key from the same author never posts twice. Raises
        :class:`AuthenticationFailed` when the author's token is missing, refused, or is not
        the author's: the post was then not made for them.
        """
        ...


class NetworkError(PayezError):
    """A social network refused or failed a request."""

    code = "network_error"
    message_fr = "Le réseau social a renvoyé une erreur."
    message_en = "The social network returned an error."


class NetworkUnavailable(NetworkError):
    """The network could not be reached (connection refused, timeout, 5xx): try again later."""

    code = "network_unavailable"
    message_fr = "Le réseau social est injoignable pour le moment."
    message_en = "The social network cannot be reached right now."


class RateLimited(NetworkError):
    """The network asks us to slow down; retry after ``reset_at`` when it is known."""

    code = "network_rate_limited"
    message_fr = "Le réseau social limite nos envois : nouvel essai plus tard."
    message_en = "The social network is rate-limiting us: we will try again later."

    def __init__(self, detail: str | None = None, reset_at: datetime | None = None) -> None:
        super().__init__(detail)
        self.reset_at = reset_at


class PostNotFound(NetworkError):
    code = "network_post_not_found"
    message_fr = "Ce message n'existe pas ou plus."
    message_en = "This post does not exist (any more)."


class AuthenticationFailed(NetworkError):
    """Credentials were refused: ours (an operator must fix the configuration), or those a
    user granted us to publish as them (they must grant them again)."""

    code = "network_authentication_failed"
    message_fr = "Le réseau social a refusé nos identifiants."
    message_en = "The social network refused our credentials."
