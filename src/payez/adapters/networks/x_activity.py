"""X's Account Activity webhooks: the CRC challenge, delivery signatures, and the posts a
delivery carries.

X proves a webhook is ours by sending ``crc_token``; we answer with its HMAC-SHA256 under the
app's consumer secret. Each delivery is signed the same way over its raw body
(``x-twitter-webhooks-signature: sha256=<base64>``): an unsigned or wrongly signed body changes
nothing. Deliveries carry posts in X's v1.1 format (``tweet_create_events``), read here into
the same :class:`Post` as the v2 adapter's, keyed on the first id of the edit history.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from payez.adapters.networks.x_wire import unescape
from payez.ports.network import NetworkAccount, Post, normalise_handle

log = logging.getLogger("payez.networks.x")

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
_V1_TIME = "%a %b %d %H:%M:%S %z %Y"  # "Wed Oct 10 20:19:24 +0000 2018"


def _digest(secret: str, message: bytes) -> str:
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(mac).decode("ascii")


def crc_response(crc_token: str, consumer_secret: str) -> str:
    """The ``response_token`` that answers X's CRC challenge."""
    return _digest(consumer_secret, crc_token.encode())


def signature_valid(body: bytes, header: str | None, consumer_secret: str) -> bool:
    """Whether ``header`` signs ``body`` with our consumer secret (compared in constant time)."""
    if not header or not consumer_secret:
        return False
    return hmac.compare_digest(_digest(consumer_secret, body).encode(), header.strip().encode())


def _created_at(value: Any) -> datetime:
    try:
        return datetime.strptime(str(value), _V1_TIME).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


def _account(user: Mapping[str, Any]) -> NetworkAccount:
    return NetworkAccount(id=str(user["id_str"]), handle=normalise_handle(str(user["screen_name"])))


def post_of_event(network: str, tweet: Mapping[str, Any]) -> Post:
    """A v1.1 tweet of a ``tweet_create_events`` delivery as a :class:`Post`.

    A long post's whole text and mentions are in ``extended_tweet``; an edit names its first
    version in ``edit_history.initial_tweet_id``.
    """
    post_id = str(tweet["id_str"])
    extended = tweet.get("extended_tweet")
    source: Mapping[str, Any] = extended if isinstance(extended, Mapping) else tweet
    text = str(source.get("full_text") or source.get("text") or "")
    entities = source.get("entities") or {}
    mentions = tuple(
        NetworkAccount(id=str(m["id_str"]), handle=normalise_handle(str(m["screen_name"])))
        for m in entities.get("user_mentions") or ()
        if m.get("id_str") and m.get("screen_name")
    )
    history = tweet.get("edit_history") or {}
    original_id = str(history.get("initial_tweet_id") or post_id)
    author = _account(tweet["user"])
    created_at = _created_at(tweet.get("created_at"))
    reply_to_user = tweet.get("in_reply_to_user_id_str")
    return Post(
        network=network,
        id=post_id,
        original_id=original_id,
        author=author,
        text=unescape(text),
        created_at=created_at,
        url=f"https://x.com/{author.handle}/status/{post_id}",
        in_reply_to_id=tweet.get("in_reply_to_status_id_str") or None,
        in_reply_to_account_id=str(reply_to_user) if reply_to_user else None,
        mentions=mentions,
        is_repost=tweet.get("retweeted_status") is not None,
        is_quote=bool(tweet.get("is_quote_status")) or tweet.get("quoted_status") is not None,
        visibility="private" if tweet["user"].get("protected") else "public",
        edited_at=created_at if original_id != post_id else None,
    )


def mentions_in_delivery(
    network: str, payload: Mapping[str, Any], service: NetworkAccount
) -> list[Post]:
    """The posts of a delivery that mention the service account (its own posts left out).

    A delivery for another subscribed account (``for_user_id``) carries nothing for us."""
    if str(payload.get("for_user_id") or service.id) != service.id:
        return []
    posts: list[Post] = []
    for tweet in payload.get("tweet_create_events") or ():
        if not isinstance(tweet, Mapping):
            continue
        try:
            post = post_of_event(network, tweet)
        except (KeyError, TypeError, AttributeError):
            log.warning("%s: a webhook event without a readable post was left out", network)
            continue
        if post.author.id != service.id and any(m.id == service.id for m in post.mentions):
            posts.append(post)
    return posts
