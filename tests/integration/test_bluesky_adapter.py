"""The Bluesky adapter against the AT Protocol reference network, where Bluesky differs from
the other networks: threads, record keys that make a reply exactly-once across processes, the
repository event stream, and private messages only through a chat service."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from payez.adapters.networks.bluesky import BlueskyNetwork, PrivateMessagesUnavailable
from payez.ports.network import Post
from tests.integration.atproto_server import PASSWORD, BlueskyWorld


def _adapter(world: BlueskyWorld, **options: object) -> BlueskyNetwork:
    settings: dict[str, object] = {
        "handle": world.handle("payez"),
        "app_password": PASSWORD,
        "service_url": world.proxy.url,
        "firehose_url": world.proxy.ws_url,
        "chat_service": "",
        "request_timeout": 5,
        "poll_seconds": 0.3,
        "backoff_initial": 0.05,
        "backoff_maximum": 0.5,
    }
    settings.update(options)
    return BlueskyNetwork(**settings)  # type: ignore[arg-type]


def _accounts(world: BlueskyWorld) -> None:
    for name in ("payez", "alice", "bob"):
        world.account(name)


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_reply_deep_in_a_thread_keeps_the_threads_root(bluesky_world: BlueskyWorld) -> None:
    _accounts(bluesky_world)
    network = _adapter(bluesky_world)
    listing = bluesky_world.post("alice", "Mug — 8 €")
    buy = bluesky_world.post("bob", "@payez j'achète", in_reply_to=listing)
    bluesky_world.network.process()
    reply = network.reply(buy, "@bob c'est payé", idempotency_key="buy-1")
    record = bluesky_world.record(reply)
    assert record["reply"]["root"]["uri"] == listing
    assert record["reply"]["parent"]["uri"] == buy
    assert record["reply"]["parent"]["cid"] == bluesky_world.strong_ref(buy)["cid"]


def test_the_same_reply_from_two_processes_is_one_post(bluesky_world: BlueskyWorld) -> None:
    _accounts(bluesky_world)
    command = bluesky_world.post("alice", "@payez envoie 2€ à @bob")
    bluesky_world.network.process()
    # Two workers (two adapters, nothing shared but the network) send the same outbox message.
    first, second = _adapter(bluesky_world), _adapter(bluesky_world)
    answers: list[str] = []
    threads = [
        threading.Thread(
            target=lambda n=n: answers.append(n.reply(command, "@alice c'est fait", "reply-7"))
        )
        for n in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 2 and answers[0] == answers[1]
    payez = bluesky_world.account("payez")
    records = payez.client.com.atproto.repo.list_records(
        {"repo": payez.did, "collection": "app.bsky.feed.post"}
    ).records
    assert [str(r.uri) for r in records] == [answers[0]]
    # Another key is another reply.
    assert first.reply(command, "@alice c'est fait", "reply-8") != answers[0]


def test_without_a_chat_service_nothing_is_sent_privately(bluesky_world: BlueskyWorld) -> None:
    _accounts(bluesky_world)
    network = _adapter(bluesky_world)
    bob = network.resolve_handle(bluesky_world.handle("bob"))
    assert bob is not None
    with pytest.raises(PrivateMessagesUnavailable) as refused:
        network.notify_privately(bob, "Vous avez reçu 5 €", "notice-1")
    assert refused.value.code == "network_private_messages_unavailable"


def test_the_stream_delivers_a_post_whose_clock_ran_late(bluesky_world: BlueskyWorld) -> None:
    """The AppView sorts a notification by the time the author's app wrote when that is the
    earlier one: a post from a phone whose clock is late sorts below newer posts. The stream
    reads it as it is made, whatever its date."""
    _accounts(bluesky_world)
    network = _adapter(bluesky_world, poll_seconds=60)
    earlier = bluesky_world.post("alice", "@payez envoie 1€ à @bob")
    bluesky_world.network.process()
    cursor = network.fetch_mentions(None).cursor
    posts: list[Post] = []
    stop = threading.Event()
    listener = threading.Thread(
        target=network.stream_mentions, args=(posts.append, stop), kwargs={"cursor": cursor}
    )
    listener.start()
    try:
        _wait_for(lambda: bluesky_world.proxy.open_connections("subscribeRepos") == 1)
        time.sleep(0.5)  # the backfill is done: nothing newer than the cursor
        late = bluesky_world.post(
            "alice", "@payez envoie 3€ à @bob", created_at="2026-01-01T00:00:00.000Z"
        )
        _wait_for(lambda: [p.id for p in posts] == [late])
    finally:
        stop.set()
        listener.join(10)
    assert not listener.is_alive()
    assert earlier not in [p.id for p in posts]
    [post] = posts
    assert post.author.handle == bluesky_world.handle("alice")
    assert post.text == bluesky_world.written("@payez envoie 3€ à @bob")
