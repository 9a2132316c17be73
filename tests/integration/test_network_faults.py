"""Each network adapter behind a proxy that misbehaves the way networks do: an answer that never
comes (a timeout) and an answer cut off midway (after the server may have acted). Each is an
outage to the adapter (``NetworkUnavailable``, which the worker backs off from), never a hang
nor another error; once the network answers again, a mention is read once, and a reply whose
answer was lost, sent again with its key, is posted once.

Mastodon and Bluesky know the reply by its key. X has no idempotency key: X refuses the same
words again, and the adapter then finds its earlier reply to that post among its own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from payez.adapters.networks.bluesky import BlueskyNetwork
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.adapters.networks.x import XNetwork
from payez.ports.network import NetworkUnavailable, SocialNetwork
from payez.sandbox.network import tables
from tests.integration.atproto_server import PASSWORD, BlueskyWorld
from tests.integration.sandbox_server import running_sandbox
from tests.integration.tcp_proxy import TcpProxy
from tests.integration.x_server import running_x

TIMEOUT = 2


@dataclass
class Faulty:
    network: SocialNetwork
    proxy: TcpProxy
    mention: Callable[[str], str]  # a post by alice naming the service; its id
    replies_to: Callable[[str], int]  # how many replies the network holds under a post


def _through(proxy: TcpProxy, url: str) -> str:
    port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
    return url.replace(f":{port}", f":{proxy.port}", 1)


@pytest.fixture(params=["sandbox", "x", "bluesky"])
def faulty(request: pytest.FixtureRequest) -> Iterator[Faulty]:
    if request.param == "sandbox":
        with running_sandbox(request.getfixturevalue("sqlite_url")) as sandbox:
            proxy = TcpProxy(sandbox.api_base_url)
            proxy.start()
            alice = sandbox.client("alice")
            network = MastodonNetwork(
                _through(proxy, sandbox.api_base_url),
                sandbox.token("payez"),
                name="sandbox",
                request_timeout=TIMEOUT,
            )

            def count(post_id: str) -> int:
                with sandbox.engine.connect() as conn:
                    replies = sa.select(sa.func.count()).where(
                        tables.statuses.c.in_reply_to_id == int(post_id)
                    )
                    return int(conn.execute(replies).scalar_one())

            yield Faulty(
                network,
                proxy,
                lambda text: str(alice.status_post(text).id),
                count,
            )
            proxy.close()
        return
    if request.param == "x":
        with running_x() as running:
            proxy = TcpProxy(running.url)
            proxy.start()
            running.fake.add_user("alice")
            options: dict[str, Any] = {**running.network_options()}
            options["api_url"] = _through(proxy, running.url)
            network = XNetwork(**options, request_timeout=TIMEOUT, poll_seconds=0.05)
            yield Faulty(
                network,
                proxy,
                lambda text: running.fake.post("alice", text),
                lambda post_id: len(running.fake.replies_to(post_id)),
            )
            proxy.close()
        return
    world: BlueskyWorld = request.getfixturevalue("bluesky_world")
    for name in ("payez", "alice"):
        world.account(name)
    network = BlueskyNetwork(
        handle=world.handle("payez"),
        app_password=PASSWORD,
        service_url=world.proxy.url,
        firehose_url="",
        request_timeout=TIMEOUT,
    )

    def posted(text: str) -> str:
        uri = world.post("alice", text)
        world.network.process()
        return uri

    def replies(post_id: str) -> int:
        return len(world.replies_by("payez", post_id))

    yield Faulty(network, world.proxy, posted, replies)
    world.proxy.fault = None


def _an_outage(call: Callable[[], object]) -> float:
    started = time.monotonic()
    with pytest.raises(NetworkUnavailable):
        call()
    return time.monotonic() - started


def test_a_lost_or_cut_answer_is_an_outage_and_nothing_is_lost_or_doubled(
    faulty: Faulty,
) -> None:
    network, proxy = faulty.network, faulty.proxy
    network.service_account  # noqa: B018 - signs in while the network answers
    post_id = faulty.mention(f"@{network.service_account.handle} envoie 5€ à @bob")

    proxy.fault = "hang"
    assert _an_outage(lambda: network.fetch_mentions(None)) < TIMEOUT * 4
    proxy.fault = "truncate"
    assert _an_outage(lambda: network.fetch_mentions(None)) < TIMEOUT * 4
    proxy.fault = None
    page = network.fetch_mentions(None)
    assert [p.id for p in page.posts] == [post_id]  # read, once

    proxy.fault = "truncate"
    proxy.truncate_after = 12  # the reply is created, its answer lost
    _an_outage(lambda: network.reply(post_id, "C'est fait : paiement envoyé.", "reply:faults:1"))
    proxy.fault = None
    network.reply(post_id, "C'est fait : paiement envoyé.", "reply:faults:1")
    assert faulty.replies_to(post_id) == 1
