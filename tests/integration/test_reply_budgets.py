"""Reply budgets under a burst: money never waits, replies that need the user are posted first,
acknowledgements past the reserve are told in the app (and by private message where the
network's private messages have their own budget), a window is never overspent, even by two
senders racing, and /metrics shows what is left."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from payez.adapters.db import reply_budgets as spends_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import outbox, payments
from payez.adapters.db.tables.reply_budgets import reply_budget_spends
from payez.domain.reply_budget import ReplyBudget, Spend, Window, remaining
from payez.ports.network import NetworkUnavailable, Post
from payez.service.context import ServiceContext
from payez.service.notifications import latest_notifications
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.reply_budgets import BUDGET_SPENT
from payez.service.send_outbox import send_outbox
from tests.integration.confirm_world import member
from tests.integration.pipeline_world import World
from tests.integration.web_world import WebWorld, web_world

HOUR = timedelta(hours=1)


def _budget(limit: int, private: str = "spend") -> dict[str, ReplyBudget]:
    return {"memory": ReplyBudget((Window(limit, HOUR),), 1, private)}  # type: ignore[arg-type]


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        world.world.ctx.reply_budgets = _budget(10)
        yield world


def _replied(world: World, posts: list[Post]) -> list[Post]:
    answered = {r.to_post_id for r in world.network.replies}
    return [p for p in posts if p.id in answered]


def _metric(web: WebWorld, line_start: str) -> float:
    text = web.browser().client.get("/metrics").text
    found = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    assert len(found) == 1, (line_start, text)
    return float(found[0].rsplit(" ", 1)[1])


def test_a_burst_spends_the_budget_on_needed_replies_and_tells_the_rest_in_the_app(
    web: WebWorld,
) -> None:
    world = web.world
    alice = member(web, "alice@example.org", "alice", 50_000)
    world.join("bob")
    world.stranger("carol")
    bob_before = world.balance("bob")
    thanks = [world.post("alice", f"@payez envoie {n + 1}€ à @bob") for n in range(12)]
    refused = [world.post("alice", "@payez envoie 300€ à @bob") for _ in range(3)]
    claims = [world.post("alice", "@payez envoie 2€ à @carol") for _ in range(2)]
    world.run()

    # Money never waits for a reply: every post is decided, every payment moved.
    with world.ctx.engine.connect() as conn:
        states = Counter(s for (s,) in conn.execute(sa.select(payments.c.state)))
    assert states == Counter(settled=12, rejected=3, held_for_claim=2)
    assert world.balance("bob") - bob_before == sum(range(1, 13)) * 100

    # Budget 10, reserve 2: the 5 replies that need the user first, then 3 thanks, no more.
    assert _replied(world, refused + claims) == refused + claims
    assert len(_replied(world, thanks)) == 3
    assert len(world.network.replies) == 8
    told = latest_notifications(world.ctx, world.users["alice"], limit=50)
    assert len(told) == 9
    assert all(n.text.startswith("@alice C'est fait : paiement de ") for n in told)
    unanswered = [p for p in thanks if p not in _replied(world, thanks)]
    with world.ctx.engine.connect() as conn:
        downgraded = conn.execute(
            sa.select(outbox.c.in_reply_to).where(outbox.c.state == "downgraded")
        ).scalars()
        assert sorted(downgraded) == sorted(p.id for p in unanswered)  # one answer per post

    page = alice.get("/dashboard")
    assert page.status_code == 200
    assert page.text.count("C&#39;est fait : paiement de ") == 9
    assert (
        'payez_reply_budget_remaining{network="memory",window="1h"}'
        in web.browser().get("/metrics").text
    )
    assert _metric(web, 'payez_reply_budget_remaining{network="memory",window="1h"}') == 2
    assert _metric(web, 'payez_reply_budget_limit{network="memory",window="1h"}') == 10
    assert _metric(web, 'payez_replies_downgraded{network="memory"}') == 9

    # Three more refusals: two fit, the third waits for room, then goes out.
    late = [world.post("alice", "@payez envoie 400€ à @bob") for _ in range(3)]
    world.run()
    assert len(_replied(world, late)) == 2
    assert _metric(web, 'payez_replies_deferred{network="memory"}') == 1
    assert _metric(web, 'payez_reply_budget_remaining{network="memory",window="1h"}') == 0
    world.later(minutes=30)
    world.run()
    assert len(_replied(world, late)) == 2  # the window has not moved yet
    world.later(minutes=31)
    world.run()
    assert _replied(world, late) == late
    assert _metric(web, 'payez_replies_deferred{network="memory"}') == 0
    assert len(world.network.replies) == 11
    replied_to = [r.to_post_id for r in world.network.replies]
    assert len(set(replied_to)) == len(replied_to)  # nothing posted twice
    assert not set(replied_to) & {p.id for p in unanswered}  # told in the app, not also posted


def test_where_private_messages_have_their_own_budget_the_acknowledgement_goes_privately(
    database_url: str,
) -> None:
    world = World.create(database_url, reply_budget_reserve_percent=0)
    world.ctx.reply_budgets = _budget(1, "separate")
    world.join("alice")
    world.join("bob")
    first = world.post("alice", "@payez envoie 1€ à @bob")
    world.run()
    second = world.post("alice", "@payez envoie 2€ à @bob")
    world.run()
    send_outbox(world.ctx)
    assert _replied(world, [first, second]) == [first]
    assert [n.idempotency_key for n in world.network.notices] == [
        f"reply:{_inbox_id(world)}:private"
    ]
    assert world.network.notices[0].account == world.accounts["alice"]
    assert "paiement de 2,00\u00a0€" in world.network.notices[0].text
    assert len(latest_notifications(world.ctx, world.users["alice"])) == 1


def _inbox_id(world: World) -> int:
    with world.ctx.engine.connect() as conn:
        return int(
            conn.execute(sa.select(outbox.c.idempotency_key).where(outbox.c.state == "downgraded"))
            .scalar_one()
            .split(":")[1]
        )


def test_a_reply_the_network_did_not_take_gives_its_points_back(database_url: str) -> None:
    world = World.create(database_url)
    world.ctx.reply_budgets = _budget(2)
    world.join("alice")
    refused = [world.post("alice", "@payez envoie 900€ à @bob") for _ in range(2)]
    poll_mentions(world.ctx, world.network)
    process_until_empty(world.ctx)
    world.network.fail_next(1, NetworkUnavailable("503 injected"))
    send_outbox(world.ctx)
    assert len(world.network.replies) == 1
    with world.ctx.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(reply_budget_spends)).scalar() == 1
        )
    world.later(minutes=5)  # past the retry's back-off, well inside the window
    world.run()
    assert _replied(world, refused) == refused


def test_two_senders_racing_never_spend_more_than_the_window(database_url: str) -> None:
    world = World.create(database_url)
    world.ctx.reply_budgets = _budget(15)
    other = replace(world.ctx, engine=make_engine(database_url))  # another process's pool
    world.join("alice")
    for _ in range(40):
        world.post("alice", "@payez envoie 900€ à @bob")
    poll_mentions(world.ctx, world.network)
    process_until_empty(world.ctx)

    def drain(ctx: ServiceContext) -> None:
        while send_outbox(ctx, limit=4) > 0:
            pass

    racers = [threading.Thread(target=drain, args=(c,)) for c in (world.ctx, other)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    other.engine.dispose()
    assert len(world.network.replies) == 15
    with world.ctx.engine.connect() as conn:
        waiting = conn.execute(
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(outbox.c.state == "pending", outbox.c.last_error == BUDGET_SPENT)
        ).scalar()
    assert waiting == 25


def test_spends_are_read_summed_per_claim(database_url: str) -> None:
    """A day of replies is read as one row per claimed batch, and the plan reads it the same."""
    engine = make_engine(database_url)
    first = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    second = first + timedelta(minutes=20)
    with engine.begin() as conn:
        spends_repo.record(conn, "bluesky", [1, 2, 3], 3, first)
        spends_repo.record(conn, "bluesky", [4, 5], 3, second)
        spends_repo.record(conn, "x", [6], 1, second)
        read = spends_repo.recent(conn, "bluesky", first - HOUR)
    engine.dispose()
    assert sorted(read, key=lambda spend: spend.at) == [Spend(first, 9), Spend(second, 6)]
    budget = ReplyBudget((Window(20, HOUR),), 3, "spend")  # type: ignore[arg-type]
    one_by_one = [Spend(first, 3)] * 3 + [Spend(second, 3)] * 2
    later = first + timedelta(minutes=70)
    assert (
        remaining(budget, read, later)
        == remaining(budget, one_by_one, later)
        == {budget.windows[0]: 14}
    )
