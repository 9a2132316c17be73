"""Bluesky's wire formats read into the port's types: mention facets in UTF-8 byte offsets,
quotes, thread references, record keys drawn from idempotency keys, cursors and errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from atproto_client import exceptions as atp
from atproto_client.models.common import XrpcError
from atproto_client.request import Response
from hypothesis import given
from hypothesis import strategies as st

from payez.adapters.networks.bluesky_wire import (
    AtUri,
    Cursor,
    bluesky_errors,
    is_handle,
    mention_facets,
    mentioned_accounts,
    names,
    post_of,
    tid_for,
)
from payez.ports.network import (
    AuthenticationFailed,
    NetworkAccount,
    NetworkError,
    NetworkUnavailable,
    RateLimited,
)

ALICE = NetworkAccount("did:plc:alice", "alice.bsky.social")
BOB = NetworkAccount("did:plc:bob", "bob.example.org")
PAYEZ = NetworkAccount("did:plc:payez", "payez.bsky.social")
URI = "at://did:plc:alice/app.bsky.feed.post/3kabcdefghij2"


def _facet(text: str, part: str, did: str) -> dict[str, Any]:
    start = text.encode().index(part.encode())
    return {
        "index": {"byteStart": start, "byteEnd": start + len(part.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
    }


def test_mentions_are_read_at_byte_offsets_not_characters() -> None:
    text = "@payez.bsky.social 5 € à @bob.example.org ☕ merci"
    record = {
        "text": text,
        "facets": [
            _facet(text, "@payez.bsky.social", PAYEZ.id),
            _facet(text, "@bob.example.org", BOB.id),
        ],
    }
    # "€" is 3 bytes and "à" 2: character offsets would cut the handle.
    assert text.index("@bob") != text.encode().index(b"@bob")
    assert mentioned_accounts(record) == (PAYEZ, BOB)
    assert names(record, PAYEZ.id) and not names(record, ALICE.id)


def test_a_mention_whose_offsets_are_wrong_keeps_its_did() -> None:
    record = {
        "text": "hi",
        "facets": [
            {
                "index": {"byteStart": 5, "byteEnd": 90},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": BOB.id}],
            },
            {
                "index": {"byteStart": 0, "byteEnd": 2},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x"}],
            },
        ],
    }
    assert mentioned_accounts(record) == (NetworkAccount(BOB.id, BOB.id),)


@given(st.text(max_size=40), st.text(max_size=40))
def test_facets_written_for_a_reply_point_at_the_handle(before: str, after: str) -> None:
    text = f"{before} @{BOB.handle} {after}"
    for facet in mention_facets(text, [BOB]):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert text.encode()[start:end] == f"@{BOB.handle}".encode()
        assert facet["features"][0]["did"] == BOB.id
    assert mention_facets(text, [BOB])


def test_a_longer_handle_is_not_mistaken_for_a_shorter_one() -> None:
    text = "@bob.example.org.evil.com sent you 5 €"
    assert mention_facets(text, [BOB]) == []


@pytest.mark.parametrize(
    ("embed", "quote"),
    [
        ({"$type": "app.bsky.embed.record", "record": {"uri": URI, "cid": "c"}}, True),
        ({"$type": "app.bsky.embed.recordWithMedia", "record": {}, "media": {}}, True),
        ({"$type": "app.bsky.embed.images", "images": []}, False),
        (None, False),
    ],
)
def test_a_post_that_embeds_a_record_is_a_quote(embed: Any, quote: bool) -> None:
    record = {"text": "@payez.bsky.social 5 € à @bob", "embed": embed}
    now = datetime.now(UTC)
    assert post_of("bluesky", URI, record, ALICE, seen_at=now).is_quote is quote


def test_a_reply_names_its_parent_and_the_parents_author() -> None:
    parent = "at://did:plc:bob/app.bsky.feed.post/3kparentparen"
    record = {
        "text": "@payez.bsky.social j'achète",
        "reply": {"root": {"uri": parent, "cid": "a"}, "parent": {"uri": parent, "cid": "a"}},
        "createdAt": "2026-01-01T10:00:00Z",
    }
    post = post_of("bluesky", URI, record, ALICE, seen_at=datetime.now(UTC))
    assert post.in_reply_to_id == parent and post.in_reply_to_account_id == "did:plc:bob"
    assert post.original_id == post.id == URI
    assert post.url == "https://bsky.app/profile/alice.bsky.social/post/3kabcdefghij2"
    assert post.visibility == "public" and not post.is_repost and post.edited_at is None


def test_a_post_dated_in_the_future_counts_from_when_it_was_seen() -> None:
    seen = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    future = {"text": "x", "createdAt": "2031-01-01T00:00:00Z"}
    past = {"text": "x", "createdAt": "2026-06-01T11:59:00.000Z"}
    assert post_of("bluesky", URI, future, ALICE, seen_at=seen).created_at == seen
    assert post_of("bluesky", URI, past, ALICE, seen_at=seen).created_at == seen - timedelta(
        minutes=1
    )
    garbled = {"text": "x", "createdAt": "yesterday"}
    assert post_of("bluesky", URI, garbled, ALICE, seen_at=seen).created_at == seen


@given(st.text(min_size=1, max_size=60))
def test_record_keys_are_valid_tids_and_the_same_for_the_same_key(key: str) -> None:
    tid = tid_for(key)
    assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", tid)
    assert tid_for(key) == tid
    assert tid_for(key + "!") != tid


def test_at_uris_and_handles() -> None:
    assert AtUri.parse(URI) == AtUri("did:plc:alice", "app.bsky.feed.post", "3kabcdefghij2")
    assert str(AtUri.parse(URI)) == URI
    assert AtUri.parse("12345") is None and AtUri.parse("at://nobody") is None
    assert is_handle("@Alice.bsky.social") and is_handle("bob.example.org")
    assert not is_handle("alice") and not is_handle("alice@mastodon.social")


def test_cursors_order_by_time_then_uri() -> None:
    a = Cursor("2026-12-05T10:00:00.000Z", "at://did:plc:a/app.bsky.feed.post/1")
    b = Cursor("2026-12-05T10:00:00.000Z", "at://did:plc:b/app.bsky.feed.post/1")
    c = Cursor("2026-12-05T10:00:00.001Z", "at://did:plc:a/app.bsky.feed.post/0")
    assert a < b < c
    assert Cursor.parse(str(b)) == b
    assert Cursor.parse(None) is None and Cursor.parse("garbage") is None


def _response(status: int, error: str = "", headers: dict[str, str] | None = None) -> Response:
    content = XrpcError(error=error, message="m") if error else None
    return Response(success=False, status_code=status, content=content, headers=headers or {})


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (atp.RateLimitExceededError(_response(429, "RateLimitExceeded")), RateLimited),
        (atp.UnauthorizedError(_response(401, "AuthMissing")), AuthenticationFailed),
        (atp.BadRequestError(_response(400, "InvalidToken")), AuthenticationFailed),
        (atp.BadRequestError(_response(400, "ExpiredToken")), AuthenticationFailed),
        (atp.InvokeTimeoutError(), NetworkUnavailable),
        (httpx.RemoteProtocolError("Server disconnected"), NetworkUnavailable),
        (atp.NetworkError(_response(502)), NetworkUnavailable),
        (atp.RequestException(_response(503)), NetworkUnavailable),
        (atp.BadRequestError(_response(400, "InvalidRequest")), NetworkError),
    ],
)
def test_errors_map_to_the_ports(raised: Exception, expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught, bluesky_errors():
        raise raised
    if expected is NetworkError:
        assert type(caught.value) is NetworkError


def test_a_rate_limit_carries_its_reset_time() -> None:
    reset = int(datetime(2026, 12, 5, 12, 0, tzinfo=UTC).timestamp())
    limited = atp.RateLimitExceededError(_response(429, "X", {"ratelimit-reset": str(reset)}))
    with pytest.raises(RateLimited) as caught, bluesky_errors():
        raise limited
    assert caught.value.reset_at == datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _transport_failure() -> None:
    try:
        raise httpx.ConnectError("[Errno 111] Connection refused")
    except httpx.ConnectError as exc:
        raise atp.NetworkError() from exc  # as the atproto package raises it: no words


def test_an_outage_says_what_failed_underneath() -> None:
    with pytest.raises(NetworkUnavailable) as caught, bluesky_errors():
        _transport_failure()
    assert "ConnectError: [Errno 111] Connection refused" in str(caught.value)
