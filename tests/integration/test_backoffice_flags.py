"""The inbox processor raises velocity flags on payments that went through, in the batch's
transaction: a burst, many new recipients in a day, amounts just under the limit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from payez.domain.payments import PaymentState
from tests.integration.pipeline_world import World


def flags(world: World) -> list[tuple[int, str]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT payment_id, rule FROM payment_flags ORDER BY id"))
        return [(int(r[0]), str(r[1])) for r in rows]


@pytest.fixture
def world(database_url: str) -> World:
    w = World.create(
        database_url,
        velocity_burst_count=3,
        velocity_burst_minutes=10,
        velocity_new_recipients_per_day=2,
        velocity_near_limit_count=2,
        velocity_near_limit_percent=90,
    )
    w.join("alice", cents=100_000)
    for name in ("bob", "carol", "dan", "erin"):
        w.join(name, cents=0)
    return w


def test_a_burst_flags_the_payment_that_completes_it(world: World) -> None:
    posts = []
    for n in range(4):
        posts.append(world.post("alice", f"@payez envoie {n + 1}€ à @bob"))
        world.run()
        world.later(minutes=2)
    fourth = world.payment_for(posts[3])
    assert fourth["state"] == PaymentState.SETTLED
    assert flags(world) == [(fourth["id"], "burst")]
    # Once the window has passed, the pattern is over.
    world.later(minutes=20)
    quiet = world.post("alice", "@payez envoie 1€ à @bob")
    world.run()
    assert world.payment_for(quiet)["id"] not in {p for p, _ in flags(world)}


def test_many_new_recipients_in_a_day(world: World) -> None:
    known = world.post("alice", "@payez envoie 1€ à @bob")
    world.run()
    world.later(days=2)  # bob is no longer new
    for name in ("bob", "carol", "dan"):
        world.post("alice", f"@payez envoie 1€ à @{name}")
        world.run()
        world.later(hours=3)
    assert [rule for _p, rule in flags(world)] == []
    last = world.post("alice", "@payez envoie 1€ à @erin")
    world.run()
    assert flags(world) == [(world.payment_for(last)["id"], "new_recipients")]
    assert world.payment_for(known)["state"] == PaymentState.SETTLED


def test_amounts_just_under_the_limit(world: World) -> None:
    first = world.post("alice", "@payez envoie 240€ à @bob")
    world.run()
    world.later(minutes=30)
    small = world.post("alice", "@payez envoie 10€ à @bob")
    world.run()
    world.later(minutes=30)
    second = world.post("alice", "@payez envoie 230€ à @bob")
    world.run()
    assert world.payment_for(first)["state"] == PaymentState.SETTLED
    assert world.payment_for(small)["state"] == PaymentState.SETTLED
    assert flags(world) == [(world.payment_for(second)["id"], "near_limit")]


def test_refused_payments_raise_no_flag(world: World) -> None:
    for _ in range(5):
        world.post("alice", "@payez envoie 300€ à @bob")  # over the limit: refused
    world.run()
    assert flags(world) == []
