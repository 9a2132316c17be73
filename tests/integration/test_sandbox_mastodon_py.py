"""The real Mastodon.py client against the sandbox network served by uvicorn."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import pytest
from mastodon import Mastodon, StreamListener
from mastodon.errors import MastodonIllegalArgumentError, MastodonNotFoundError

from tests.integration.sandbox_server import Sandbox, running_sandbox


@pytest.fixture
def sandbox(sqlite_url: str) -> Any:
    with running_sandbox(sqlite_url) as running:
        yield running


def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_main_flow(database_url: str) -> None:
    """App registration, password login, posting, idempotency, replies, edits, boosts, deletes,
    account statuses and lookup, notifications: once on SQLite, once on PostgreSQL."""
    with running_sandbox(database_url) as sandbox:
        client_id, client_secret = Mastodon.create_app(
            "payez-main-flow", api_base_url=sandbox.api_base_url
        )
        sandbox.user("alice", "alice-secret", "Alice A.")
        sandbox.user("payez", "payez-secret")
        sandbox.user("bob", "bob-secret")
        alice = Mastodon(
            client_id=client_id, client_secret=client_secret, api_base_url=sandbox.api_base_url
        )
        token = alice.log_in("alice", "alice-secret")
        assert token
        me = alice.me()
        assert (me.username, me.acct, me.display_name) == ("alice", "alice", "Alice A.")
        assert me.uri == sandbox.account_uri("alice")

        first = alice.status_post("@payez envoie 10€ à @bob merci !", idempotency_key="cmd-1")
        again = alice.status_post("@payez envoie 10€ à @bob merci !", idempotency_key="cmd-1")
        assert str(first.id) == str(again.id)
        assert len(alice.account_statuses(me.id)) == 1
        assert 'class="u-url mention">@<span>payez</span></a>' in first.content
        assert {m.acct for m in first.mentions} == {"payez", "bob"}
        assert first.visibility == "public" and first.edited_at is None

        payez = sandbox.client("payez")
        reply = payez.status_post("@alice c'est fait", in_reply_to_id=first.id)
        assert str(reply.in_reply_to_id) == str(first.id)
        assert str(reply.in_reply_to_account_id) == str(me.id)

        edited = alice.status_update(first.id, "@payez envoie 99€ à @bob")
        assert str(edited.id) == str(first.id)
        assert edited.edited_at is not None
        assert "99€" in alice.status(first.id).content

        boost = sandbox.client("bob").status_reblog(first.id)
        assert boost.reblog is not None and str(boost.reblog.id) == str(first.id)
        assert str(boost.id) != str(first.id)

        mentions = payez.notifications(types=["mention"])
        assert [str(n.status.id) for n in mentions] == [str(first.id)]
        assert mentions[0].account.acct == "alice"

        assert alice.account_lookup("bob").username == "bob"
        assert alice.account_lookup("@Bob").username == "bob"
        with pytest.raises(MastodonNotFoundError):
            alice.account_lookup("nobody")
        assert alice.account(me.id).statuses_count == 1

        deleted = alice.status_delete(first.id)
        assert deleted.text == "@payez envoie 99€ à @bob"
        with pytest.raises(MastodonNotFoundError):
            alice.status(first.id)
        with pytest.raises(MastodonNotFoundError):
            alice.status(boost.id)  # a boost goes with its original
        assert payez.notifications(types=["mention"]) == []
        assert alice.account_statuses(me.id) == []


def test_wrong_password_is_refused(sandbox: Sandbox) -> None:
    sandbox.user("alice", "right")
    client_id, secret = sandbox.app_credentials()
    api = Mastodon(client_id=client_id, client_secret=secret, api_base_url=sandbox.api_base_url)
    with pytest.raises(MastodonIllegalArgumentError):
        api.log_in("alice", "wrong")


def test_idempotency_key_is_per_account(sandbox: Sandbox) -> None:
    alice, bob = sandbox.client("alice"), sandbox.client("bob")
    a = alice.status_post("hello", idempotency_key="same")
    b = bob.status_post("hello", idempotency_key="same")
    assert str(a.id) != str(b.id)


def test_notifications_paginate_with_link_headers(sandbox: Sandbox) -> None:
    payez = sandbox.client("payez")
    alice = sandbox.client("alice")
    posted = [str(alice.status_post(f"@payez envoie {n}€ à @bob").id) for n in range(1, 8)]
    sandbox.client("bob").status_reblog(payez.status_post("a post of payez").id)

    first = payez.notifications(types=["mention"], limit=3)
    assert [str(n.status.id) for n in first] == posted[::-1][:3]
    pages = [first]
    while (page := payez.fetch_next(pages[-1])) is not None and len(page) > 0:
        pages.append(page)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [str(n.status.id) for p in pages for n in p] == posted[::-1]

    everything = payez.notifications(limit=40)
    assert {n.type for n in everything} == {"mention", "reblog"}
    assert {n.type for n in payez.notifications(exclude_types=["mention"])} == {"reblog"}

    # Forward from a cursor: min_id gives the oldest newer ones, fetch_previous moves on.
    cursor = pages[-1][0].id  # the oldest mention
    newer = payez.notifications(types=["mention"], min_id=cursor, limit=2)
    assert [str(n.status.id) for n in newer] == [posted[2], posted[1]]
    following = payez.fetch_previous(newer)
    assert following is not None
    assert [str(n.status.id) for n in following] == [posted[4], posted[3]]
    since = payez.notifications(types=["mention"], since_id=cursor, limit=2)
    assert [str(n.status.id) for n in since] == [posted[6], posted[5]]


class _Collector(StreamListener):
    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def on_notification(self, notification: Any) -> None:
        self.events.put(("notification", notification))

    def on_update(self, status: Any) -> None:
        self.events.put(("update", status))


def test_stream_user_receives_a_mention_live(sandbox: Sandbox) -> None:
    payez, alice = sandbox.client("payez"), sandbox.client("alice")
    alice.status_post("@payez before the stream")  # not replayed by the stream
    listener = _Collector()
    handle = payez.stream_user(listener, run_async=True, timeout=5)
    try:
        _wait_for(lambda: sandbox.sandbox_app.state.sandbox.streams.open == 1)
        posted = alice.status_post("@payez envoie 5€ à @bob")
        own = payez.status_post("payez speaking")
        received: dict[str, Any] = {}
        while len(received) < 2:
            kind, payload = listener.events.get(timeout=10)
            received[kind] = payload
        assert received["notification"].type == "mention"
        assert str(received["notification"].status.id) == str(posted.id)
        assert str(received["update"].id) == str(own.id)
        assert listener.events.empty()
    finally:
        handle.close()


def test_streams_end_when_the_server_stops(sandbox: Sandbox) -> None:
    payez = sandbox.client("payez")
    ended = threading.Event()

    class Listener(StreamListener):
        pass

    def run() -> None:
        try:
            payez.stream_user(Listener(), timeout=30)
        finally:
            ended.set()

    threading.Thread(target=run, daemon=True).start()
    registry = sandbox.sandbox_app.state.sandbox.streams
    _wait_for(lambda: registry.open == 1)
    started = time.monotonic()
    sandbox.server.stop()
    assert ended.wait(10)
    assert registry.open == 0
    assert time.monotonic() - started < 5  # ended by the server, not by a read timeout


def test_direct_statuses_are_visible_only_to_mentioned_accounts(sandbox: Sandbox) -> None:
    alice, bob, carol = (sandbox.client(n) for n in ("alice", "bob", "carol"))
    secret = alice.status_post("@bob psst", visibility="direct")
    assert bob.status(secret.id).visibility == "direct"
    with pytest.raises(MastodonNotFoundError):
        carol.status(secret.id)
    assert [n.type for n in bob.notifications()] == ["mention"]


def test_quotes_are_marked(sandbox: Sandbox) -> None:
    alice, bob = sandbox.client("alice"), sandbox.client("bob")
    original = alice.status_post("@payez envoie 10€ à @bob")
    quote = bob.status_post("look at this", quoted_status_id=original.id)
    assert quote.quote is not None
    assert str(quote.quote.quoted_status.id) == str(original.id)
    assert 'class="quote-inline"' in quote.content


def test_reply_to_a_deleted_status_is_not_found(sandbox: Sandbox) -> None:
    alice = sandbox.client("alice")
    gone = alice.status_post("soon gone")
    alice.status_delete(gone.id)
    with pytest.raises(MastodonNotFoundError):
        alice.status_post("late", in_reply_to_id=gone.id)


def test_only_the_author_edits_or_deletes(sandbox: Sandbox) -> None:
    from mastodon.errors import MastodonAPIError

    alice, bob = sandbox.client("alice"), sandbox.client("bob")
    status = alice.status_post("mine")
    with pytest.raises(MastodonAPIError) as edit:
        bob.status_update(status.id, "yours now")
    assert edit.value.args[1] == 403
    with pytest.raises(MastodonAPIError) as delete:
        bob.status_delete(status.id)
    assert delete.value.args[1] == 403
    assert alice.status(status.id).content == "<p>mine</p>"
