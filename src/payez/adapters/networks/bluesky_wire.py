"""Bluesky's AT Protocol on the wire: record shapes, mention facets, AT URIs, record keys and
what the XRPC errors mean, read into the port's types.

The ``atproto`` package gives typed models for what the AppView answers, but the repository
event stream hands records over as plain dictionaries; both are read here through
:func:`field`, so the adapter sees one shape.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from atproto_client import exceptions as atp

from payez.ports.network import (
    AuthenticationFailed,
    NetworkAccount,
    NetworkError,
    NetworkUnavailable,
    Post,
    RateLimited,
    normalise_handle,
)

DEFAULT_SERVICE = "https://bsky.social"
# The relay's repository event stream carries every public repository; a PDS's own carries only
# the accounts it hosts (enough for a self-hosted community, and for the tests).
DEFAULT_FIREHOSE = "wss://bsky.network"

POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
MENTION = "app.bsky.richtext.facet#mention"
# A post that embeds another record (a quote, with or without media) never pays.
_QUOTE_EMBEDS = ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia")

# A PDS answers 400, not 401, to a token it cannot read.
_REFUSED_CREDENTIALS = frozenset({"InvalidToken", "ExpiredToken", "AuthenticationRequired"})
# Handles are domain names (https://atproto.com/specs/handle): labels of letters, digits and
# hyphens, at least two of them, the last starting with a letter.
HANDLE = re.compile(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?"
)
_AT_URI = re.compile(
    r"at://(?P<did>did:[a-z]+:[A-Za-z0-9._:%-]+)/(?P<collection>[^/]+)/(?P<rkey>[^/]+)"
)
# A record key in TID form: 13 characters of base32-sortable.
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# The microsecond span the TIDs of idempotent records are drawn in (the year 2023): far enough
# from now that they never meet the TIDs the server mints.
_TID_EPOCH_US = 1_672_531_200_000_000
_TID_SPAN_US = 365 * 24 * 3600 * 1_000_000


def field(obj: Any, name: str, wire_name: str | None = None) -> Any:
    """``obj.name`` for the package's models, ``obj[wire_name]`` for the stream's dictionaries."""
    if isinstance(obj, Mapping):
        return obj.get(wire_name or name)
    return getattr(obj, name, None)


@dataclass(frozen=True, slots=True)
class AtUri:
    did: str
    collection: str
    rkey: str

    @classmethod
    def parse(cls, uri: str) -> AtUri | None:
        match = _AT_URI.fullmatch(uri)
        if match is None:
            return None
        return cls(match["did"], match["collection"], match["rkey"])

    def __str__(self) -> str:
        return f"at://{self.did}/{self.collection}/{self.rkey}"


def is_handle(handle: str) -> bool:
    return HANDLE.fullmatch(normalise_handle(handle)) is not None


def tid_for(key: str) -> str:
    """A record key in TID form drawn from ``key``: the same key always names the same record,
    so a record written twice under it is refused the second time instead of doubled."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    micros = _TID_EPOCH_US + digest % _TID_SPAN_US
    clock_id = (digest >> 54) & 0x3FF
    value = (micros << 10) | clock_id
    return "".join(_TID_ALPHABET[(value >> (5 * (12 - i))) & 0x1F] for i in range(13))


def mentioned_accounts(record: Any) -> tuple[NetworkAccount, ...]:
    """The accounts a post's mention facets name, with the handles as written in its text.

    Facet offsets count UTF-8 bytes, not characters: "5 € à @bob" puts @bob at byte 10."""
    text = str(field(record, "text") or "").encode()
    accounts: list[NetworkAccount] = []
    for facet in field(record, "facets") or ():
        index = field(facet, "index")
        start = field(index, "byte_start", "byteStart")
        end = field(index, "byte_end", "byteEnd")
        for feature in field(facet, "features") or ():
            did = field(feature, "did")
            if not isinstance(did, str) or not did.startswith("did:"):
                continue
            written = ""
            if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
                written = text[start:end].decode(errors="replace")
            handle = normalise_handle(written) if is_handle(written) else did
            account = NetworkAccount(id=did, handle=handle)
            if account not in accounts:
                accounts.append(account)
    return tuple(accounts)


def names(record: Any, did: str) -> bool:
    """Whether the post's mention facets name ``did``."""
    return any(account.id == did for account in mentioned_accounts(record))


def is_quote(record: Any) -> bool:
    embed = field(record, "embed")
    if embed is None:
        return False
    kind = field(embed, "py_type", "$type")
    return kind in _QUOTE_EMBEDS


def reply_parent(record: Any) -> str | None:
    reply = field(record, "reply")
    parent = field(reply, "parent") if reply is not None else None
    uri = field(parent, "uri") if parent is not None else None
    return str(uri) if uri else None


def timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def post_url(author: NetworkAccount, uri: AtUri) -> str:
    return f"https://bsky.app/profile/{author.handle}/post/{uri.rkey}"


def post_of(
    network: str,
    uri: str,
    record: Any,
    author: NetworkAccount,
    *,
    seen_at: datetime,
) -> Post:
    """A post record as the port's :class:`Post`.

    ``created_at`` is when a Bluesky server first saw the post (``seen_at``: the AppView's
    ``indexedAt``, or the moment it came on the stream), never later than the ``createdAt`` its
    author wrote, which anyone may set to any time."""
    parsed = AtUri.parse(uri)
    written = timestamp(field(record, "created_at", "createdAt"))
    created_at = min(seen_at, written) if written is not None else seen_at
    parent = reply_parent(record)
    parent_uri = AtUri.parse(parent) if parent else None
    return Post(
        network=network,
        id=uri,
        original_id=uri,  # Bluesky has no edits: a post is one record, one URI.
        author=author,
        text=str(field(record, "text") or ""),
        created_at=created_at,
        url=post_url(author, parsed) if parsed else None,
        in_reply_to_id=parent,
        in_reply_to_account_id=parent_uri.did if parent_uri else None,
        mentions=mentioned_accounts(record),
        is_repost=False,
        is_quote=is_quote(record),
        visibility="public",  # Every Bluesky post is public.
        edited_at=None,
    )


def repost_of(network: str, uri: str, record: Any, author: NetworkAccount) -> Post:
    subject = field(record, "subject")
    created = timestamp(field(record, "created_at", "createdAt")) or datetime.now(UTC)
    return Post(
        network=network,
        id=uri,
        original_id=uri,
        author=author,
        text="",
        created_at=min(created, datetime.now(UTC)),
        url=None,
        in_reply_to_id=str(field(subject, "uri") or "") or None,
        in_reply_to_account_id=None,
        mentions=(),
        is_repost=True,
        is_quote=False,
        visibility="public",
        edited_at=None,
    )


def mention_facets(text: str, accounts: Sequence[NetworkAccount]) -> list[dict[str, Any]]:
    """Mention facets for each ``@handle`` of ``text`` that names one of ``accounts``, so the
    people a reply speaks to are notified; byte offsets, as the protocol counts."""
    encoded = text.encode()
    facets: list[dict[str, Any]] = []
    for account in accounts:
        needle = f"@{account.handle}".encode()
        start = encoded.find(needle)
        while start != -1:
            end = start + len(needle)
            boundary = end == len(encoded) or not (
                chr(encoded[end]).isalnum() or encoded[end] in b".-_"
            )
            if boundary:
                facets.append(
                    {
                        "$type": "app.bsky.richtext.facet",
                        "index": {"byteStart": start, "byteEnd": end},
                        "features": [{"$type": MENTION, "did": account.id}],
                    }
                )
            start = encoded.find(needle, end)
    return sorted(facets, key=lambda f: int(f["index"]["byteStart"]))


def error_name(exc: atp.RequestErrorBase) -> str:
    """The XRPC error name (``NotFound``, ``RecordNotFound``, ...) of a refused request."""
    content = exc.response.content if exc.response is not None else None
    return str(field(content, "error") or "")


def _described(exc: BaseException) -> str:
    """The error's own words, else its cause's: the atproto package's transport errors carry
    none, and an operator reading "NetworkError" alone cannot tell a refusal from a timeout."""
    if str(exc):
        return str(exc)
    cause = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__}: {type(cause).__name__}: {cause}" if cause else type(exc).__name__


@contextlib.contextmanager
def bluesky_errors() -> Iterator[None]:
    """Map the atproto package's errors to the port's.

    429 → :class:`RateLimited` (``ratelimit-reset``, epoch seconds); transport failures,
    timeouts, 502 and other 5xx → :class:`NetworkUnavailable`; 401 and 403 →
    :class:`AuthenticationFailed`; any other refusal → :class:`NetworkError`."""
    try:
        yield
    except atp.RateLimitExceededError as exc:
        raise RateLimited(str(exc), reset_at=exc.reset_at) from exc
    except atp.UnauthorizedError as exc:
        raise AuthenticationFailed(str(exc)) from exc
    except atp.NetworkError as exc:
        raise NetworkUnavailable(_described(exc)) from exc
    except atp.RequestException as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status >= 500:
            raise NetworkUnavailable(str(exc)) from exc
        raise NetworkError(str(exc)) from exc
    except httpx.TransportError as exc:
        # The atproto package maps timeouts and connection failures, not a server that hangs
        # up mid-answer (a restart, a dropped keep-alive connection): that is an outage too.
        raise NetworkUnavailable(_described(exc)) from exc
    except atp.RequestErrorBase as exc:
        if error_name(exc) in _REFUSED_CREDENTIALS:
            raise AuthenticationFailed(str(exc)) from exc
        raise NetworkError(str(exc)) from exc


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """Where a mentions reader stands: the newest notification seen, by the time the AppView
    indexed it, then its URI (two notifications may share a millisecond)."""

    indexed_at: str
    uri: str

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        if not text or "|" not in text:
            return None
        indexed_at, _, uri = text.partition("|")
        return cls(indexed_at, uri)

    def __str__(self) -> str:
        return f"{self.indexed_at}|{self.uri}"
