"""Polling a network that hands mentions over in chunks (as Mastodon's forward pages do): each
chunk is recorded with its cursor before the next is read, so a poll cut short keeps what it
read and the next one goes on from there, and none is skipped or recorded twice."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from payez.adapters.db import cursors
from payez.adapters.db.tables.payments import inbox
from payez.service.record_posts import poll_mentions
from tests.integration.pipeline_world import World


def _recorded(world: World) -> list[str]:
    with world.ctx.engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(sa.select(inbox.c.post_id).order_by(inbox.c.id))]


def _cursor(world: World) -> str | None:
    with world.ctx.engine.connect() as conn:
        return cursors.load(conn, "memory")


def test_a_poll_reads_every_chunk_in_order(sqlite_url: str) -> None:
    world = World.create(sqlite_url)
    world.network.mentions_per_fetch = 2
    posts = [world.post("alice", f"@payez envoie {n}€ à @bob") for n in range(1, 6)]

    assert poll_mentions(world.ctx, world.network) == 5
    assert _recorded(world) == [p.id for p in posts]
    assert poll_mentions(world.ctx, world.network) == 0  # nothing is read twice


def test_a_poll_told_to_stop_keeps_the_chunk_it_read_and_the_next_goes_on(
    sqlite_url: str,
) -> None:
    world = World.create(sqlite_url)
    world.network.mentions_per_fetch = 2
    posts = [world.post("alice", f"@payez envoie {n}€ à @bob") for n in range(1, 6)]
    stop = threading.Event()
    stop.set()

    assert poll_mentions(world.ctx, world.network, stop) == 2
    assert _recorded(world) == [p.id for p in posts[:2]]
    first_cursor = _cursor(world)
    assert first_cursor is not None

    assert poll_mentions(world.ctx, world.network) == 3
    assert _recorded(world) == [p.id for p in posts]
    assert _cursor(world) != first_cursor
