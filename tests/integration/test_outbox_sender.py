"""The outbox sender sends several replies at once from a claimed batch: each reply still goes
out once, also when two senders race; a failing reply backs off alone; a claimed batch left by a
sender that died is sent by another once its claim lapses."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import outbox
from payez.adapters.networks.memory import InMemoryNetwork
from payez.config import load_settings
from payez.ports.clock import ManualClock
from payez.ports.network import NetworkUnavailable
from payez.service.context import ServiceContext
from payez.service.send_outbox import CLAIM_LEASE, send_outbox


class SlowNetwork:
    """The in-memory network, counting the reply calls per key, each taking a little time (so
    that two senders overlap), some keys failing as a 5xx would, and optionally holding every
    call at a barrier that only lets calls through two at a time."""

    def __init__(self, inner: InMemoryNetwork, *, delay: float = 0.01) -> None:
        self.inner = inner
        self.name = inner.name
        self.delay = delay
        self.calls: Counter[str] = Counter()
        self.failing: set[str] = set()
        self.barrier: threading.Barrier | None = None
        self._lock = threading.Lock()

    def reply(self, to_post_id: str, text: str, idempotency_key: str) -> str:
        with self._lock:
            self.calls[idempotency_key] += 1
        if self.barrier is not None:
            self.barrier.wait()
        time.sleep(self.delay)
        if idempotency_key in self.failing:
            raise NetworkUnavailable("503 injected")
        return self.inner.reply(to_post_id, text, idempotency_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _context(database_url: str, clock: ManualClock, network: SlowNetwork) -> ServiceContext:
    settings = load_settings({}, database_url=database_url)
    return ServiceContext(
        engine=make_engine(database_url),
        settings=settings,
        clock=clock,
        networks={"memory": network},
    )


def _queue(ctx: ServiceContext, network: InMemoryNetwork, count: int) -> list[str]:
    author = network.add_account("alice")
    keys = []
    rows = []
    for n in range(count):
        post = network.post(author, f"@payez envoie {n + 1}€ à @bob")
        key = f"reply:{post.id}"
        keys.append(key)
        rows.append(
            {
                "network": "memory",
                "kind": "reply",
                "in_reply_to": post.id,
                "text": f"Reply {n}",
                "idempotency_key": key,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": ctx.now(),
                "created_at": ctx.now(),
            }
        )
    with ctx.engine.begin() as conn:
        outbox_repo.enqueue(conn, rows)
    return keys


def _states(ctx: ServiceContext) -> dict[str, tuple[str, int]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.idempotency_key, outbox.c.state, outbox.c.attempts))
        return {key: (state, attempts) for key, state, attempts in rows}


def test_two_senders_racing_send_each_reply_once(database_url: str) -> None:
    clock = ManualClock()
    inner = InMemoryNetwork(name="memory", clock=clock)
    network = SlowNetwork(inner)
    first, second = _context(database_url, clock, network), _context(database_url, clock, network)
    keys = _queue(first, inner, 120)
    sent = Counter[int]()

    def drain(ctx: ServiceContext, index: int) -> None:
        while (count := send_outbox(ctx, limit=16)) > 0:
            sent[index] += count

    senders = [threading.Thread(target=drain, args=(c, i)) for i, c in enumerate((first, second))]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(60)

    assert network.calls == Counter(dict.fromkeys(keys, 1))  # one attempt per reply, no more
    assert sorted(r.idempotency_key for r in inner.replies) == sorted(keys)
    assert sent[0] + sent[1] == len(keys)
    assert _states(first) == dict.fromkeys(keys, ("sent", 1))


def test_replies_go_out_several_at_a_time(database_url: str) -> None:
    clock = ManualClock()
    inner = InMemoryNetwork(name="memory", clock=clock)
    network = SlowNetwork(inner)
    # Each call waits until a second one is in flight: sent one after the other, none would.
    network.barrier = threading.Barrier(2, timeout=10)
    ctx = _context(database_url, clock, network)
    keys = _queue(ctx, inner, 8)
    assert send_outbox(ctx, concurrency=2) == 8
    assert _states(ctx) == dict.fromkeys(keys, ("sent", 1))


def test_a_failing_reply_backs_off_without_holding_the_others(database_url: str) -> None:
    clock = ManualClock()
    inner = InMemoryNetwork(name="memory", clock=clock)
    network = SlowNetwork(inner)
    ctx = _context(database_url, clock, network)
    keys = _queue(ctx, inner, 10)
    network.failing = {keys[0]}

    assert send_outbox(ctx) == 9
    states = _states(ctx)
    assert states[keys[0]] == ("pending", 1)
    assert all(states[k] == ("sent", 1) for k in keys[1:])
    assert send_outbox(ctx) == 0  # backed off: not due yet

    network.failing = set()
    clock.advance(timedelta(hours=1))
    assert send_outbox(ctx) == 1
    assert _states(ctx)[keys[0]] == ("sent", 2)
    assert network.calls[keys[0]] == 2
    assert len(inner.replies) == 10


def test_a_batch_claimed_by_a_sender_that_died_is_sent_once_its_claim_lapses(
    database_url: str,
) -> None:
    clock = ManualClock()
    inner = InMemoryNetwork(name="memory", clock=clock)
    network = SlowNetwork(inner)
    ctx = _context(database_url, clock, network)
    keys = _queue(ctx, inner, 5)
    now = ctx.now()
    with ctx.engine.begin() as conn:  # a sender claims three, then dies
        claimed = outbox_repo.claim(conn, now, now + CLAIM_LEASE, 3, ["memory"])
    assert [m.idempotency_key for m in claimed] == keys[:3]

    assert send_outbox(ctx) == 2  # the others take only what is not claimed
    assert send_outbox(ctx) == 0
    clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    assert send_outbox(ctx) == 3
    assert network.calls == Counter(dict.fromkeys(keys, 1))
    assert _states(ctx) == dict.fromkeys(keys, ("sent", 1))


def test_a_sender_claims_only_the_networks_it_serves(database_url: str) -> None:
    clock = ManualClock()
    inner = InMemoryNetwork(name="memory", clock=clock)
    network = SlowNetwork(inner)
    ctx = _context(database_url, clock, network)
    keys = _queue(ctx, inner, 2)
    elsewhere = replace(ctx, networks={})
    assert send_outbox(elsewhere) == 0
    assert send_outbox(ctx) == 2  # not held back by a claim from the other sender
    assert _states(ctx) == dict.fromkeys(keys, ("sent", 1))


def test_a_batch_is_marked_sent_with_each_network_id_and_first_records_kept(
    database_url: str,
) -> None:
    clock = ManualClock()
    inner = InMemoryNetwork(name="memory", clock=clock)
    ctx = _context(database_url, clock, SlowNetwork(inner))
    keys = _queue(ctx, inner, 4)
    with ctx.engine.connect() as conn:
        ids = dict(conn.execute(sa.select(outbox.c.idempotency_key, outbox.c.id)).all())
    first_at, later = ctx.now(), ctx.now() + timedelta(minutes=5)
    with ctx.engine.begin() as conn:
        outbox_repo.mark_all_sent(conn, [(ids[keys[0]], "net-0")], first_at)
    statements: list[tuple[str, bool]] = []

    def note(
        _c: object, _cur: object, statement: str, _p: object, _ctx: object, many: bool
    ) -> None:
        if statement.startswith("UPDATE outbox"):
            statements.append((statement, many))

    sa.event.listen(ctx.engine, "before_cursor_execute", note)
    try:
        with ctx.engine.begin() as conn:
            # keys[0] again, as a second sender that sent it too would: its first record stays.
            # keys[3] as a private notice, for which the network gives no id.
            given = ["again-0", "net-1", "net-2", None]
            outbox_repo.mark_all_sent(
                conn, [(ids[key], remote) for key, remote in zip(keys, given, strict=True)], later
            )
    finally:
        sa.event.remove(ctx.engine, "before_cursor_execute", note)
    with ctx.engine.connect() as conn:
        rows = {
            key: (state, attempts, remote_id, sent_at)
            for key, state, attempts, remote_id, sent_at in conn.execute(
                sa.select(
                    outbox.c.idempotency_key,
                    outbox.c.state,
                    outbox.c.attempts,
                    outbox.c.remote_id,
                    outbox.c.sent_at,
                )
            )
        }
    ctx.engine.dispose()
    assert rows[keys[0]] == ("sent", 1, "net-0", first_at)
    assert rows[keys[1]] == ("sent", 1, "net-1", later)
    assert rows[keys[2]] == ("sent", 1, "net-2", later)
    assert rows[keys[3]] == ("sent", 1, None, later)
    assert len(statements) == 1
    if database_url.startswith("postgresql"):
        assert statements[0][1] is False  # one statement for the batch, not one per message
