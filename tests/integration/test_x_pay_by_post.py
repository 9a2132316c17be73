"""Pay by post on X, end to end: a person linked by their X user id posts a command on the fake
X, the worker (its poller, processor and outbox threads) pays once and replies once under the
post; an edit of the post, a second worker and a re-read of every mention pay nothing more."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from payez.adapters.db import cursors
from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, check_ledger
from payez.adapters.db.tables.payments import outbox, payments
from payez.adapters.networks.x import XNetwork
from payez.adapters.networks.x_wire import tweepy_client
from payez.config import load_settings
from payez.domain.money import Money
from payez.entrypoints.worker import Worker
from payez.ports.clock import ManualClock, SystemClock
from payez.service.context import ServiceContext
from payez.service.load_wallet import load_wallet
from payez.service.open_account import link_network_account, open_user
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.send_outbox import send_outbox
from tests.integration.pipeline_world import World
from tests.integration.x_server import RunningX, running_x


@dataclass
class XWorld:
    x: RunningX
    ctx: ServiceContext
    users: dict[str, int]

    def network(self) -> XNetwork:
        return XNetwork(
            **self.x.network_options(),
            request_timeout=5,
            poll_seconds=0.05,
            backoff_initial=0.05,
        )

    def worker(self) -> Worker:
        ctx = ServiceContext(
            engine=self.ctx.engine, settings=self.ctx.settings, networks={"x": self.network()}
        )
        worker = Worker(ctx, idle_seconds=0.05, poll_seconds=0.2, timer_seconds=3600)
        worker.start()
        return worker

    def post(self, username: str, text: str) -> str:
        token = self.x.fake.credentials[username].oauth2_token
        client = tweepy_client(self.x.url, 5, bearer_token=token)
        return str(client.create_tweet(text=text, user_auth=False)["data"]["id"])

    def balance(self, username: str) -> int:
        with self.ctx.engine.connect() as conn:
            wallet = conn.execute(
                sa.text("SELECT wallet_account_id FROM users WHERE id = :id"),
                {"id": self.users[username]},
            ).scalar_one()
            return SqlLedger(conn).balance(int(wallet)).posted.cents

    def payments(self) -> list[tuple[str, str, int]]:
        with self.ctx.engine.connect() as conn:
            rows = conn.execute(
                sa.select(payments.c.post_id, payments.c.state, payments.c.amount_cents)
            )
            return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def cursor(self) -> str | None:
        with self.ctx.engine.connect() as conn:
            return cursors.load(conn, "x")


@pytest.fixture
def world(database_url: str) -> Iterator[XWorld]:
    with running_x("alice", "bob") as x:
        settings = load_settings({}, database_url=database_url, confirm="never")
        engine = make_engine(database_url)
        network = XNetwork(**x.network_options(), request_timeout=5)
        ctx = ServiceContext(engine=engine, settings=settings, networks={"x": network})
        users: dict[str, int] = {}
        for username in ("alice", "bob"):
            account = network.resolve_handle(username)
            assert account is not None and account.id == x.fake.user(username).id
            with engine.begin() as conn:
                users[username] = open_user(
                    conn,
                    kind="person",
                    display_name=username,
                    now=SystemClock().now(),
                    identity_verified=True,
                )
                link_network_account(conn, ctx, users[username], "x", account)
                load_wallet(conn, users[username], Money.eur(5_000), f"load:{username}")
        try:
            yield XWorld(x, ctx, users)
        finally:
            engine.dispose()


def _until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_post_on_x_pays_once_and_is_answered_once(world: XWorld) -> None:
    fake = world.x.fake
    worker = world.worker()
    try:
        command = world.post("alice", "@payez envoie 5€ à @bob")
        _until(lambda: len(fake.replies_to(command)) == 1)
        assert world.balance("bob") == 5_000 + 500
        assert world.balance("alice") == 5_000 - 500
        [reply] = fake.replies_to(command)
        assert reply.author_id == fake.user("payez").id
        assert reply.in_reply_to_user_id == fake.user("alice").id
        assert world.payments() == [(command, "settled", 500)]

        # X makes an edit a new post, with a new id, in the same edit chain.
        edit = fake.edit(command, "@payez envoie 50€ à @bob")
        _until(lambda: world.cursor() == edit)
        time.sleep(0.5)  # room for a second payment or reply to show up, if there were one
    finally:
        assert worker.shutdown() == []
    assert world.payments() == [(command, "settled", 500)]
    assert world.balance("bob") == 5_000 + 500
    assert len(fake.replies_to(command)) == 1 and fake.replies_to(edit) == []

    # A second worker that reads every mention again (its cursor lost) pays and says nothing.
    with world.ctx.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM network_cursors"))
    again = world.worker()
    try:
        _until(lambda: world.cursor() == edit)
        time.sleep(0.5)
    finally:
        assert again.shutdown() == []
    assert world.payments() == [(command, "settled", 500)]
    assert world.balance("bob") == 5_000 + 500
    assert len(fake.replies_to(command)) == 1
    report = check_ledger(world.ctx.engine)
    assert report.ok, report.problems


def test_a_rate_limited_reply_waits_for_the_reset_and_goes_out_once(world: XWorld) -> None:
    fake = world.x.fake
    clock = ManualClock(datetime.now(UTC))
    network = world.network()
    ctx = ServiceContext(
        engine=world.ctx.engine, settings=world.ctx.settings, clock=clock, networks={"x": network}
    )
    command = world.post("alice", "@payez envoie 5€ à @bob")
    assert poll_mentions(ctx, network) == 1
    process_until_empty(ctx)
    reset = fake.rate_limit("create_tweet", times=1, reset_in=600)

    posted = fake.requests.count(("POST", "/2/tweets"))  # alice's command

    def tries() -> int:
        return fake.requests.count(("POST", "/2/tweets")) - posted

    assert send_outbox(ctx) == 0 and tries() == 1
    with ctx.engine.connect() as conn:
        state, due = conn.execute(sa.select(outbox.c.state, outbox.c.next_attempt_at)).one()
    assert state == "pending"
    assert due.replace(tzinfo=UTC) == datetime.fromtimestamp(reset, UTC)
    clock.advance(timedelta(seconds=300))
    assert send_outbox(ctx) == 0 and tries() == 1  # not before X's reset time
    assert fake.replies_to(command) == []
    clock.advance(timedelta(seconds=301))
    assert send_outbox(ctx) == 1 and tries() == 2
    assert send_outbox(ctx) == 0 and tries() == 2
    assert len(fake.replies_to(command)) == 1
    assert world.payments() == [(command, "settled", 500)]


def test_renamed_accounts_are_followed_by_their_ids(world: XWorld) -> None:
    fake = world.x.fake
    network = world.network()
    ctx = ServiceContext(
        engine=world.ctx.engine, settings=world.ctx.settings, networks={"x": network}
    )
    fake.rename("bob", "robert")
    fake.rename("alice", "alicia")
    command = world.post("alice", "@payez envoie 5€ à @robert")
    assert poll_mentions(ctx, network) == 1
    process_until_empty(ctx)
    # The money went to the id bob linked, under his new name; alice's link follows hers.
    assert world.balance("bob") == 5_000 + 500
    assert world.payments() == [(command, "settled", 500)]
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT account_id, handle FROM social_links WHERE network = 'x'")
        )
        handles = {str(account_id): str(handle) for account_id, handle in rows}
    assert handles[fake.user("alicia").id] == "alicia"


def test_an_unreachable_x_does_not_hold_up_the_other_networks(database_url: str) -> None:
    with running_x() as x:
        url = x.url
    # The port is closed: X cannot be reached, and its service account was never known.
    down = XNetwork(**(x.network_options() | {"api_url": url}), request_timeout=2)
    world = World.create(database_url)
    try:
        world.ctx.networks["x"] = down  # type: ignore[index]
        world.join("alice")
        world.join("bob", cents=0)
        post = world.post("alice", "@payez envoie 5€ à @bob")
        world.run()
        assert world.payment_for(post)["state"] == "settled"
        assert world.balance("bob") == 500
    finally:
        world.ctx.engine.dispose()


def test_two_senders_at_once_reply_once_on_x(world: XWorld) -> None:
    # X has no idempotency key: only the outbox's claim keeps two workers from both replying.
    fake = world.x.fake
    senders = [
        ServiceContext(
            engine=world.ctx.engine, settings=world.ctx.settings, networks={"x": world.network()}
        )
        for _ in range(2)
    ]
    command = world.post("alice", "@payez envoie 5€ à @bob")
    assert poll_mentions(senders[0], senders[0].networks["x"]) == 1
    process_until_empty(senders[0])
    fake.delays["create_tweet"] = 0.5  # both senders see the reply due while one posts it
    start = threading.Barrier(2)
    sent: list[int] = []

    def send(ctx: ServiceContext) -> None:
        start.wait()
        sent.append(send_outbox(ctx))

    threads = [threading.Thread(target=send, args=(ctx,)) for ctx in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(sent) == [0, 1]
    assert len(fake.replies_to(command)) == 1
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.state)).scalars().all() == ["sent"]
