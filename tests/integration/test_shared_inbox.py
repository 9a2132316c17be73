"""Several inbox processors at once on PostgreSQL: each post is decided exactly once, and the
velocity counts a batch keeps in memory agree with the payments as stored."""

from __future__ import annotations

import random
import threading

import pytest
import sqlalchemy as sa

from payez.adapters.db import payment_flags as flags_repo
from payez.domain.velocity import velocity_flags
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.velocity_flags import velocity_rules_from
from tests.integration.pipeline_world import World

NAMES = ("alice", "bob", "carol", "dan", "erin", "fanny")


@pytest.mark.postgres
def test_three_processors_decide_each_post_once(postgres_url: str) -> None:
    world = World.create(postgres_url)
    for name in NAMES:
        world.join(name, cents=50_000)
    rng = random.Random(7)
    posts = []
    for _ in range(150):
        sender, recipient = rng.sample(NAMES, 2)
        posts.append(world.post(sender, f"@payez envoie {rng.randint(1, 9)}€ à @{recipient}"))
    poll_mentions(world.ctx, world.network)

    start = threading.Barrier(3)
    decided: list[int] = []
    errors: list[BaseException] = []

    def processor() -> None:
        try:
            start.wait()
            decided.append(process_until_empty(world.ctx, batch_size=7))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=processor) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    # A post committed by two processors would be counted twice here.
    assert sorted(decided) != [] and sum(decided) == len(posts)
    with world.ctx.engine.connect() as conn:
        per_post = conn.execute(
            sa.text("SELECT count(*) FROM payments GROUP BY inbox_id HAVING count(*) <> 1")
        ).all()
        replies = conn.execute(
            sa.text("SELECT count(*) FROM outbox WHERE kind = 'reply'")
        ).scalar_one()
        settled = conn.execute(
            sa.text("SELECT count(*) FROM payments WHERE state = 'settled'")
        ).scalar_one()
    assert per_post == []
    assert replies == len(posts)
    assert settled == len(posts)
    assert sum(world.balance(name) for name in NAMES) == 50_000 * len(NAMES)
    world.assert_ledger_sound()


def test_batch_velocity_counts_match_the_stored_payments(database_url: str) -> None:
    """The processor counts a batch's own payments into the senders' history in memory; the
    flags it raises are the ones the stored payments give when read back."""
    world = World.create(
        database_url,
        velocity_burst_count=2,
        velocity_new_recipients_per_day=1,
        velocity_near_limit_count=2,
        max_person_payment_cents=10_000,
    )
    for name in NAMES:
        world.join(name, cents=200_000)
    world.post("alice", "@payez envoie 1€ à @bob")
    world.post("carol", "@payez envoie 95€ à @dan")
    world.run()
    world.later(days=2)  # bob is now a known recipient of alice's, no longer a new one
    for text in (
        "@payez envoie 2€ à @bob",
        "@payez envoie 3€ à @erin",
        "@payez envoie 96€ à @fanny",
        "@payez envoie 97€ à @bob",
        "@payez envoie 1€ à @dan",
    ):
        world.post("alice", text)
    world.post("carol", "@payez envoie 99€ à @erin")
    world.post("bob", "@payez envoie 5€ à @carol")
    world.run()

    rules = velocity_rules_from(world.ctx.settings)
    senders = {world.users[name]: name for name in ("alice", "bob", "carol")}
    with world.ctx.engine.connect() as conn:
        stored = flags_repo.sender_activity(
            conn, senders, world.clock.now(), rules, world.ctx.settings.max_person_payment_cents
        )
        raised = conn.execute(
            sa.text(
                "SELECT p.sender_user_id, f.rule FROM payment_flags f "
                "JOIN payments p ON p.id = f.payment_id"
            )
        ).all()
    expected = {
        (sender, flag.rule.value)
        for sender, activity in stored.items()
        for flag in velocity_flags(rules, activity)
    }
    assert {(int(s), str(r)) for s, r in raised} == expected
    # The case is not vacuous: alice trips all three rules; carol's first amount near the limit
    # is two days old, so her second one alone does not.
    alice, carol = world.users["alice"], world.users["carol"]
    assert {r for s, r in expected if s == alice} == {"burst", "new_recipients", "near_limit"}
    assert {r for s, r in expected if s == carol} == set()
