"""Pay by post on Bluesky, end to end, against the AT Protocol reference network (PLC, PDS and
AppView from ``@atproto/dev-env``): a person linked by their DID posts a command with a mention
facet, the worker (its stream, poller, processor and outbox threads) pays once and replies once
in the thread; a quote and a repost pay nothing; a post deleted before its claim moves nothing;
a second worker that reads everything again pays and says nothing more."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from payez.adapters.db import cursors, emails
from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, check_ledger
from payez.adapters.db.tables.payments import payments, social_links
from payez.adapters.networks.bluesky import BlueskyNetwork
from payez.config import load_settings
from payez.domain.money import Money
from payez.entrypoints.worker import Worker
from payez.ports.clock import SystemClock
from payez.service.claim_payment import ClaimClosed, claim_payment
from payez.service.context import ServiceContext
from payez.service.email_verification import verify_email
from payez.service.link_by_code import create_link_code
from payez.service.load_wallet import load_wallet
from payez.service.open_account import link_network_account, open_user
from payez.service.sign_up import sign_up
from tests.integration.atproto_server import PASSWORD, BlueskyWorld

NAME = "bluesky"


@dataclass
class PayWorld:
    bluesky: BlueskyWorld
    ctx: ServiceContext
    users: dict[str, int]

    def network(self) -> BlueskyNetwork:
        return BlueskyNetwork(
            handle=self.bluesky.handle("payez"),
            app_password=PASSWORD,
            service_url=self.bluesky.proxy.url,
            firehose_url=self.bluesky.proxy.ws_url,
            chat_service="",
            request_timeout=5,
            poll_seconds=0.3,
            backoff_initial=0.05,
            backoff_maximum=0.5,
        )

    def worker(self) -> Worker:
        ctx = ServiceContext(
            engine=self.ctx.engine, settings=self.ctx.settings, networks={NAME: self.network()}
        )
        worker = Worker(ctx, idle_seconds=0.05, poll_seconds=0.3, timer_seconds=3600)
        worker.start()
        return worker

    def replies_to(self, uri: str) -> list[dict[str, Any]]:
        """The service's posts in reply to ``uri``, read from its repository."""
        return self.bluesky.replies_by("payez", uri)

    def balance(self, name: str) -> int:
        with self.ctx.engine.connect() as conn:
            wallet = conn.execute(
                sa.text("SELECT wallet_account_id FROM users WHERE id = :id"),
                {"id": self.users[name]},
            ).scalar_one()
            return SqlLedger(conn).balance(int(wallet)).posted.cents

    def payments(self) -> list[tuple[str, str, int]]:
        """The payments that moved or hold money (a post that is no command has a decision
        without an amount)."""
        with self.ctx.engine.connect() as conn:
            rows = conn.execute(
                sa.select(payments.c.post_id, payments.c.state, payments.c.amount_cents)
                .where(payments.c.amount_cents.is_not(None))
                .order_by(payments.c.id)
            )
            return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def payment_for(self, uri: str) -> dict[str, Any]:
        with self.ctx.engine.connect() as conn:
            row = conn.execute(sa.select(payments).where(payments.c.post_id == uri)).one()
            return dict(row._mapping)

    def cursor(self) -> str | None:
        with self.ctx.engine.connect() as conn:
            return cursors.load(conn, NAME)


@pytest.fixture
def world(database_url: str, bluesky_world: BlueskyWorld) -> Iterator[PayWorld]:
    settings = load_settings({}, database_url=database_url, confirm="never")
    engine = make_engine(database_url)
    network = PayWorld(bluesky_world, None, {}).network()  # type: ignore[arg-type]
    ctx = ServiceContext(engine=engine, settings=settings, networks={NAME: network})
    users: dict[str, int] = {}
    for name in ("payez", "alice", "bob", "dave"):
        bluesky_world.account(name)
    for name in ("alice", "bob"):
        account = network.resolve_handle(bluesky_world.handle(name))
        assert account is not None and account.id == bluesky_world.account(name).did
        with engine.begin() as conn:
            users[name] = open_user(
                conn,
                kind="person",
                display_name=name,
                now=SystemClock().now(),
                identity_verified=True,
            )
            link_network_account(conn, ctx, users[name], NAME, account)
            load_wallet(conn, users[name], Money.eur(5_000), f"load:{name}")
    try:
        yield PayWorld(bluesky_world, ctx, users)
    finally:
        engine.dispose()


def _until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_post_on_bluesky_pays_once_and_is_answered_once_in_its_thread(world: PayWorld) -> None:
    bluesky = world.bluesky
    worker = world.worker()
    try:
        command = bluesky.post("alice", "@payez envoie 5€ à @bob pour le café ☕")
        _until(lambda: len(world.replies_to(command)) == 1)
        assert world.balance("bob") == 5_000 + 500
        assert world.balance("alice") == 5_000 - 500
        [reply] = world.replies_to(command)
        # A reply names its thread: the root and the parent are the command itself here.
        assert reply["reply"]["root"]["uri"] == command
        assert reply["reply"]["parent"]["cid"] == bluesky.strong_ref(command)["cid"]
        alice = bluesky.account("alice")
        assert f"@{alice.handle}" in reply["text"]
        # The person answered is named by a mention facet on their DID, so they are notified.
        assert any(
            feature["did"] == alice.did
            for facet in reply.get("facets") or []
            for feature in facet["features"]
        )
        assert world.payments() == [(command, "settled", 500)]

        # Neither a quote nor a repost of the command pays again.
        quote = bluesky.post("bob", "@payez envoie 5€ à @bob", quote_of=command)
        bluesky.repost("bob", command)
        bluesky.network.process()
        # The saved cursor names the newest notification read: the quote's, once it was read.
        _until(lambda: quote in (world.cursor() or ""))
        time.sleep(1.0)  # room for a second payment or reply to show up, if there were one
    finally:
        assert worker.shutdown() == []
    assert world.payments() == [(command, "settled", 500)]
    assert world.payment_for(quote)["reason"] == "not_an_original_public_post"
    assert len(world.replies_to(command)) == 1

    # A second worker that reads every mention again (its cursor lost) pays and says nothing.
    with world.ctx.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM network_cursors"))
    again = world.worker()
    try:
        _until(lambda: world.cursor() is not None)
        time.sleep(1.0)
    finally:
        assert again.shutdown() == []
    assert world.payments() == [(command, "settled", 500)]
    assert world.balance("bob") == 5_000 + 500
    assert len(world.replies_to(command)) == 1
    report = check_ledger(world.ctx.engine)
    assert report.ok, report.problems


def test_a_command_deleted_before_its_claim_moves_nothing(world: PayWorld) -> None:
    bluesky = world.bluesky
    worker = world.worker()
    try:
        command = bluesky.post("alice", "@payez envoie 10€ à @dave")
        _until(lambda: len(world.replies_to(command)) == 1)  # the claim link
        assert world.payment_for(command)["state"] == "held_for_claim"
    finally:
        assert worker.shutdown() == []
    bluesky.delete(command)
    bluesky.network.process()
    dave = world.ctx.networks[NAME].resolve_handle(bluesky.handle("dave"))
    assert dave is not None
    user = sign_up(
        world.ctx,
        email="dave@example.org",
        password="correct horse battery",
        display_name="dave",
        language="fr",
    )
    with pytest.raises(ClaimClosed):
        claim_payment(world.ctx, world.payment_for(command)["claim_token"], dave, user)
    assert world.payment_for(command)["state"] == "cancelled"
    assert world.balance("alice") == 5_000


def test_two_workers_share_the_stream_and_pay_once(world: PayWorld) -> None:
    bluesky = world.bluesky
    first, second = world.worker(), world.worker()
    try:
        commands = [bluesky.post("alice", f"@payez envoie {n}€ à @bob") for n in (1, 2, 3)]
        _until(lambda: all(len(world.replies_to(c)) == 1 for c in commands))
        time.sleep(1.0)
    finally:
        errors: list[object] = []
        stopper = threading.Thread(target=lambda: errors.extend(second.shutdown()))
        stopper.start()
        assert first.shutdown() == []
        stopper.join(30)
        assert errors == []
    assert sorted(world.payments()) == sorted(
        (c, "settled", n * 100) for c, n in zip(commands, (1, 2, 3), strict=True)
    )
    assert all(len(world.replies_to(c)) == 1 for c in commands)
    assert world.balance("bob") == 5_000 + 600


def test_a_bluesky_account_is_linked_by_posting_a_code(world: PayWorld) -> None:
    """No OAuth on Bluesky yet: a person proves their DID by posting their one-time code."""
    bluesky = world.bluesky
    address = "dave@example.org"
    user = sign_up(
        world.ctx,
        email=address,
        password="correct horse battery",
        display_name="dave",
        language="fr",
    )
    with world.ctx.engine.connect() as conn:
        letter = next(e for e in emails.sent_to(conn, address) if e.kind == "verify_email")
    verify_email(world.ctx, letter.text.split("token=", 1)[1].split()[0])
    # Money sent to dave's DID before he had a Payez login waits for him.
    worker = world.worker()
    try:
        payment = bluesky.post("alice", "@payez envoie 4€ à @dave")
        _until(lambda: len(world.replies_to(payment)) == 1)
        code = create_link_code(world.ctx, user).code
        post = bluesky.post("dave", f"@payez lier {code.lower()}")
        _until(lambda: len(world.replies_to(post)) == 1)
        # The same code posted again links nothing more.
        again = bluesky.post("dave", f"@payez lier {code}")
        _until(lambda: len(world.replies_to(again)) == 1)
    finally:
        assert worker.shutdown() == []
    dave = bluesky.account("dave")
    with world.ctx.engine.connect() as conn:
        links = conn.execute(
            sa.select(social_links.c.user_id, social_links.c.account_id, social_links.c.handle)
            .where(social_links.c.network == NAME)
            .where(social_links.c.user_id == user)
        ).all()
    assert [tuple(link) for link in links] == [(user, dave.did, dave.handle)]
    assert world.payment_for(payment)["state"] == "claimed"  # credited on linking
    world.users["dave"] = user
    assert world.balance("dave") == 400


def test_handles_change_hands_and_the_money_follows_the_did(world: PayWorld) -> None:
    """Bob renames himself mid-test, and Carol takes his former handle: a payment to the new
    handle still pays Bob (his DID), a payment to the former one goes to Carol's DID (held for
    her to claim), and a command Carol posts under that handle spends nothing of Bob's."""
    bluesky = world.bluesky
    bob_did = bluesky.account("bob").did
    former = bluesky.handle("bob")
    worker = world.worker()
    try:
        bluesky.rename("bob", "robert")
        carol = bluesky.network.create_account(former)  # the handle Bob let go
        bluesky.by_name["carol"] = carol
        bluesky.network.process()
        to_new = bluesky.post("alice", "@payez envoie 2€ à @bob")  # spelt as @robert-….test
        assert f"@{bluesky.handle('bob')}" in bluesky.written("@bob")
        _until(lambda: len(world.replies_to(to_new)) == 1)
        to_former = bluesky.post("alice", f"@payez envoie 3€ à @{former}")
        _until(lambda: len(world.replies_to(to_former)) == 1)
        from_former = bluesky.post("carol", "@payez envoie 1€ à @alice")
        _until(lambda: len(world.replies_to(from_former)) == 1)
    finally:
        assert worker.shutdown() == []
    assert world.payment_for(to_new)["state"] == "settled"
    assert world.payment_for(to_new)["recipient_user_id"] == world.users["bob"]
    held = world.payment_for(to_former)
    assert held["state"] == "held_for_claim" and held["recipient_account_id"] == carol.did
    assert carol.did != bob_did
    # Carol has no Payez account: her command pays nothing, and Bob's wallet is untouched.
    assert world.payment_for(from_former)["state"] != "settled"
    assert world.balance("bob") == 5_000 + 200
    assert world.balance("alice") == 5_000 - 200 - 300
