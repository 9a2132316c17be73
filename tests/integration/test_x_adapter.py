"""The X adapter beyond the shared conformance rules, against the fake X API v2: pages, long
posts, retweets in the mentions, partial errors, renamed accounts, and what each HTTP failure
becomes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from hashlib import sha256

import pytest

from payez.adapters.networks.x import XNetwork
from payez.adapters.networks.x_wire import (
    DEFAULT_API_URL,
    ApiSession,
    tweepy_client,
    with_reference,
)
from payez.domain.replies import X_MAX_WEIGHT, x_weighted_length
from payez.ports.network import (
    AuthenticationFailed,
    NetworkError,
    NetworkUnavailable,
    Post,
    RateLimited,
)
from tests.integration.x_server import RunningX, running_x


@pytest.fixture
def x() -> Iterator[RunningX]:
    with running_x("alice", "bob", "carol") as running:
        yield running


def network_on(x: RunningX, **options: float) -> XNetwork:
    settings = {"request_timeout": 5.0, "poll_seconds": 0.05, "backoff_initial": 0.05}
    settings.update(options)
    return XNetwork(**x.network_options(), **settings)  # type: ignore[arg-type]


def test_the_real_api_address_is_the_default_and_tweepys_host_is_replaced(x: RunningX) -> None:
    assert DEFAULT_API_URL == "https://api.x.com"
    client = tweepy_client(DEFAULT_API_URL, 3, bearer_token="t")
    assert isinstance(client.session, ApiSession)
    assert client.session.api_url == "https://api.x.com"
    # tweepy asks for api.twitter.com; the request reaches the configured address.
    answer = ApiSession(x.url + "/", timeout=3).get(
        "https://api.twitter.com/2/users/by/username/bob",
        headers={"Authorization": f"Bearer {x.fake.app_bearer}"},
    )
    assert answer.json()["data"]["id"] == x.fake.user("bob").id


def test_mentions_walk_every_page_since_the_cursor(x: RunningX) -> None:
    network = network_on(x)
    ids = [x.fake.post("alice", f"@payez envoie {n}€ à @bob") for n in range(1, 13)]
    page = network.fetch_mentions(None, limit=5)  # X serves 5 to 100 a page: three pages here
    assert [p.id for p in page.posts] == ids
    assert page.cursor == ids[-1]
    pages = [q for q in x.fake.requests if q[1].endswith("/mentions")]
    assert len(pages) == 3
    later = [x.fake.post("carol", f"@payez envoie {n}€ à @alice") for n in range(7)]
    newer = network.fetch_mentions(page.cursor, limit=5)
    assert [p.id for p in newer.posts] == later
    assert network.fetch_mentions(newer.cursor, limit=5).posts == ()


def test_a_mention_carries_the_immutable_ids_of_everyone_in_it(x: RunningX) -> None:
    network = network_on(x)
    post_id = x.fake.post("alice", "@payez envoie 3 € à @Bob & merci <3")
    [post] = network.fetch_mentions(None).posts
    bob = x.fake.user("bob")
    assert post.id == post_id and post.original_id == post_id
    assert post.author.id == x.fake.user("alice").id and post.author.handle == "alice"
    assert post.text == "@payez envoie 3 € à @Bob & merci <3"  # X's &amp; and &lt; undone
    assert [(m.id, m.handle) for m in post.mentions] == [
        (x.fake.user("payez").id, "payez"),
        (bob.id, "bob"),
    ]
    assert post.url == f"https://x.com/alice/status/{post_id}"
    assert post.created_at.tzinfo is UTC


def test_a_long_post_is_read_whole_from_its_note(x: RunningX) -> None:
    network = network_on(x)
    preamble = "Un long message pour dire merci à tout le monde. " * 7
    assert len(preamble) > 300
    post_id = x.fake.post("alice", preamble + "@payez envoie 8€ à @carol")
    [post] = network.fetch_mentions(None).posts
    assert post.id == post_id
    assert post.text.endswith("@payez envoie 8€ à @carol")
    assert x.fake.user("carol").id in {m.id for m in post.mentions}
    fetched = network.fetch_post(post_id)
    assert fetched is not None and fetched.text == post.text


def test_retweets_of_a_command_reach_the_mentions_as_reposts(x: RunningX) -> None:
    network = network_on(x)
    command = x.fake.post("alice", "@payez envoie 6€ à @bob")
    retweet = x.fake.retweet("carol", command)
    quote = x.fake.post("carol", "@payez envoie 6€ à @bob, comme elle", quote_of=command)
    posts = {p.id: p for p in network.fetch_mentions(None).posts}
    assert set(posts) == {command, retweet, quote}
    assert posts[retweet].is_repost and posts[retweet].author.handle == "carol"
    assert posts[quote].is_quote and not posts[quote].is_repost
    assert not posts[command].is_repost and not posts[command].is_quote


def test_an_edit_is_a_new_post_with_the_same_original_id(x: RunningX) -> None:
    network = network_on(x)
    command = x.fake.post("alice", "@payez envoie 5€ à @bob")
    first = network.fetch_mentions(None)
    edit = x.fake.edit(command, "@payez envoie 500€ à @bob")
    [edited] = network.fetch_mentions(first.cursor).posts
    assert edited.id == edit != command
    assert edited.original_id == command
    assert edited.edited_at is not None
    # The first version, asked for by its own id, still names the same original.
    old = network.fetch_post(command)
    assert old is not None and old.original_id == command and old.text.endswith("5€ à @bob")


def test_a_protected_account_posts_privately(x: RunningX) -> None:
    network = network_on(x)
    x.fake.add_user("dave", protected=True)
    x.fake.post("dave", "@payez envoie 1€ à @bob")
    [post] = network.fetch_mentions(None).posts
    assert post.visibility == "private"


def test_an_author_left_out_of_includes_is_asked_for_alone(x: RunningX) -> None:
    network = network_on(x)
    x.fake.leave_out_of_includes_once("alice")
    post_id = x.fake.post("alice", "@payez envoie 2€ à @bob")
    [post] = network.fetch_mentions(None).posts
    assert post.id == post_id and post.author.handle == "alice"
    assert ("GET", f"/2/users/{x.fake.user('alice').id}") in x.fake.requests


def test_a_suspended_authors_post_is_left_out_and_the_cursor_moves_past(x: RunningX) -> None:
    network = network_on(x)
    x.fake.add_user("mallory")
    hidden = x.fake.post("mallory", "@payez envoie 2€ à @bob")
    kept = x.fake.post("alice", "@payez envoie 3€ à @bob")
    x.fake.suspend("mallory")
    page = network.fetch_mentions(None)
    assert [p.id for p in page.posts] == [kept]
    assert page.cursor == kept and int(kept) > int(hidden)
    assert network.fetch_post(hidden) is None


def test_a_renamed_account_keeps_its_id_and_shows_its_new_name(x: RunningX) -> None:
    network = network_on(x)
    bob = network.resolve_handle("bob")
    assert bob is not None
    x.fake.rename("bob", "robert")
    assert network.resolve_handle("bob") is None
    robert = network.resolve_handle("@Robert")
    assert robert is not None and robert.id == bob.id and robert.handle == "robert"
    x.fake.rename("alice", "alicia")
    x.fake.post("alicia", "@payez envoie 4€ à @robert")
    [post] = network.fetch_mentions(None).posts
    assert post.author.handle == "alicia" and post.author.id == x.fake.user("alicia").id
    assert [m.id for m in post.mentions if m.handle == "robert"] == [bob.id]
    assert network.resolve_handle("not a name") is None
    assert network.resolve_handle("alice@mastodon.social") is None


def test_a_reply_x_refuses_as_repeated_goes_out_with_its_reference(x: RunningX) -> None:
    network = network_on(x)
    first = x.fake.post("alice", "@payez envoie 1€ à @bob")
    second = x.fake.post("alice", "@payez envoie 1€ à @bob")
    one = network.reply(first, "@alice c'est fait", idempotency_key="r-1")
    # X refuses the same words twice: the second payer still hears back, told apart by a
    # reference of the reply's key, and the retry is not mistaken for bad credentials.
    two = network.reply(second, "@alice c'est fait", idempotency_key="r-2")
    assert one != two
    assert x.fake.tweets[one].text == "@alice c'est fait"
    assert x.fake.tweets[two].text == "@alice c'est fait (" + sha256(b"r-2").hexdigest()[:6] + ")"


def test_a_referenced_reply_stays_within_x_limit() -> None:
    text = "é" * 300
    referenced = with_reference(text, "key")
    assert x_weighted_length(referenced) <= X_MAX_WEIGHT
    assert referenced.endswith(" (" + sha256(b"key").hexdigest()[:6] + ")")
    assert with_reference("short", "key") == "short (" + sha256(b"key").hexdigest()[:6] + ")"


def test_rate_limit_carries_the_reset_time(x: RunningX) -> None:
    network = network_on(x)
    _ = network.service_account
    reset = x.fake.rate_limit("mentions", reset_in=120)
    with pytest.raises(RateLimited) as caught:
        network.fetch_mentions(None)
    assert caught.value.reset_at == datetime.fromtimestamp(reset, UTC)
    x.fake.rate_limit("create_tweet", reset_in=30)
    with pytest.raises(RateLimited):
        network.reply(x.fake.post("alice", "@payez hi"), "bonjour", idempotency_key="k")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, NetworkUnavailable),
        (503, NetworkUnavailable),
        (401, AuthenticationFailed),
        (403, AuthenticationFailed),
        (400, NetworkError),
    ],
)
def test_http_failures_map_to_the_error_tree(
    x: RunningX, status: int, error: type[NetworkError]
) -> None:
    network = network_on(x)
    _ = network.service_account
    x.fake.fail("tweets", status)
    with pytest.raises(error):
        network.fetch_post(x.fake.post("alice", "@payez hi"))


def test_a_timeout_is_network_unavailable(x: RunningX) -> None:
    network = network_on(x, request_timeout=0.3)
    _ = network.service_account
    x.fake.delays["mentions"] = 1.0
    with pytest.raises(NetworkUnavailable):
        network.fetch_mentions(None)


def test_wrong_credentials_are_authentication_failed(x: RunningX) -> None:
    options = x.network_options() | {"access_token_secret": "guessed"}
    with pytest.raises(AuthenticationFailed):
        _ = XNetwork(**options, request_timeout=5).service_account
    bad_app = x.network_options() | {"bearer_token": "stolen"}
    network = XNetwork(**bad_app, request_timeout=5)
    _ = network.service_account  # the user token is fine; reads use the app's token
    with pytest.raises(AuthenticationFailed):
        network.fetch_mentions(None)


def test_without_an_app_token_reads_use_the_service_users_token(x: RunningX) -> None:
    options = x.network_options() | {"bearer_token": ""}
    network = XNetwork(**options, request_timeout=5)
    post_id = x.fake.post("alice", "@payez envoie 1€ à @bob")
    assert [p.id for p in network.fetch_mentions(None).posts] == [post_id]


def test_the_poller_waits_for_the_rate_limit_reset(x: RunningX) -> None:
    network = network_on(x)
    _ = network.service_account
    first = x.fake.post("alice", "@payez envoie 1€ à @bob")
    seen: list[Post] = []
    stop = threading.Event()
    reset = x.fake.rate_limit("mentions", times=1, reset_in=2)
    thread = threading.Thread(target=network.stream_mentions, args=(seen.append, stop), daemon=True)
    started = time.time()
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not seen:
            assert time.monotonic() < deadline, "the poller never came back"
            time.sleep(0.02)
        # Polling every 50 ms, it would have asked again at once; it waited for the reset.
        assert time.time() >= reset - 1 and time.time() - started >= 1.0
        assert [p.id for p in seen] == [first]
        asked = [q for q in x.fake.requests if q[1].endswith("/mentions")]
        assert len(asked) <= 3
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
