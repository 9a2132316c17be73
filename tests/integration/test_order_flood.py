"""A flood of payment orders from one sender is refused by policy past the hourly limit,
whatever the amounts: nothing more moves, only the first refused order is answered (answering
each would flood back), help and malformed posts do not count, and the limit lifts an hour
later."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from payez.adapters.db.tables.payments import payments
from payez.domain.policy import Limits, SenderTotals, over_order_limit
from tests.integration.pipeline_world import World


def _reasons(world: World) -> Counter[str | None]:
    with world.ctx.engine.connect() as conn:
        return Counter(r for (r,) in conn.execute(sa.select(payments.c.reason)))


def test_orders_past_the_hourly_limit_are_refused_and_answered_once(database_url: str) -> None:
    world = World.create(database_url, sender_orders_per_hour=5)
    world.join("alice", cents=10_000)
    world.join("bob", cents=0)
    for _ in range(4):
        world.post("alice", "@payez aide")  # help is not an order
    world.post("alice", "@payez envoie à @bob")  # nor is a post without an amount
    flood = [world.post("alice", f"@payez envoie 1€ à @bob spam {n}") for n in range(8)]
    world.run()

    assert world.balance("bob") == 500
    assert _reasons(world)["too_many_orders"] == 3
    refused = [p for p in flood if world.payment_for(p)["reason"] == "too_many_orders"]
    assert refused == flood[5:]
    answered = [p for p in refused if world.replies_to(p)]
    assert answered == flood[5:6]
    assert "trop d'ordres en une heure" in world.replies_to(flood[5])[0]

    world.later(minutes=61)
    late = world.post("alice", "@payez envoie 1€ à @bob")
    world.run()
    assert world.payment_for(late)["state"] == "settled"
    assert world.balance("bob") == 600
    world.assert_ledger_sound()


def test_the_limit_counts_orders_and_zero_turns_it_off() -> None:
    assert not over_order_limit(Limits(orders_per_hour=3), SenderTotals(orders_last_hour=2))
    assert over_order_limit(Limits(orders_per_hour=3), SenderTotals(orders_last_hour=3))
    assert not over_order_limit(Limits(orders_per_hour=0), SenderTotals(orders_last_hour=10**6))
