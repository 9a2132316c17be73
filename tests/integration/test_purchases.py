"""Purchases: stock is never oversold, even by processors racing on PostgreSQL; refunds."""

from __future__ import annotations

import threading

import pytest

from payez.domain.payments import PaymentState
from payez.service.process_inbox import process_inbox
from payez.service.record_posts import poll_mentions
from payez.service.refund_order import (
    OrderAlreadyRefunded,
    OrderNotYours,
    orders_of,
    refund_order,
)
from tests.integration.pipeline_world import World


def test_concurrent_processors_never_oversell(postgres_url: str) -> None:
    world = World.create(postgres_url)
    world.join("boutique", kind="merchant", cents=0)
    buyers = [f"buyer{n}" for n in range(12)]
    for buyer in buyers:
        world.join(buyer)
    listing = world.listing("boutique", "Affiche", 1000, stock=3)
    posts = [world.post(b, "@payez j'achète", in_reply_to=listing.id) for b in buyers]
    poll_mentions(world.ctx, world.network)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def processor() -> None:
        try:
            start.wait()
            while process_inbox(world.ctx, batch_size=1):
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=processor) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    states = [world.payment_for(p)["state"] for p in posts]
    assert states.count(PaymentState.SETTLED) == 3
    assert [world.payment_for(p)["reason"] for p in posts].count("listing_sold_out") == 9
    assert world.balance("boutique") == 3000
    world.assert_ledger_sound()


def test_merchant_refunds_an_order_once(database_url: str) -> None:
    world = World.create(database_url)
    merchant = world.join("boutique", kind="merchant", cents=0)
    world.join("alice")
    other = world.join("bob")
    listing = world.listing("boutique", "Mug", 800, stock=5)
    world.post("alice", "@payez buy", in_reply_to=listing.id)
    world.run()
    (order,) = orders_of(world.ctx, merchant)
    with pytest.raises(OrderNotYours):
        refund_order(world.ctx, order.id, other)
    refund_order(world.ctx, order.id, merchant)
    with pytest.raises(OrderAlreadyRefunded):
        refund_order(world.ctx, order.id, merchant)
    assert world.balance("alice") == 50_000
    assert world.balance("boutique") == 0
    assert orders_of(world.ctx, merchant)[0].state == "refunded"
    world.assert_ledger_sound()
