"""The processor takes the command the listener stored with a post instead of parsing it again,
and decides the same whether it takes it or parses the post (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

import payez.service.process_inbox as process_module
from payez.adapters.db.tables.payments import inbox
from payez.bench.pipeline import _posts
from payez.domain.commands import Command, parse
from payez.domain.stored_commands import GRAMMAR_VERSION, grammar_stamp, stored_command
from payez.ports.network import Post
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from tests.integration.pipeline_world import World

TEXTS = (
    "@payez envoie 5€ à @bob merci pour le café ☕",
    "@payez send €2.50 to @carol",
    "@payez envoie 3€ à @dave",  # a newcomer: held for their claim
    "@payez envoie 5€ à @bob et @carol",
    "@payez aide",
    "@payez lier ABC",
    "@payez j'achète",
    "bonjour @payez, ça va ?",
)
# What the decisions are compared on (ids, tokens and times differ from post to post).
DECIDED = (
    "kind",
    "state",
    "reason",
    "language",
    "sender_user_id",
    "recipient_user_id",
    "recipient_account_id",
    "recipient_handle",
    "amount_cents",
    "currency",
    "memo",
)


@pytest.fixture
def world(database_url: str) -> World:
    w = World.create(database_url, sender_orders_per_hour=0)
    for handle in ("alice", "bob", "carol"):
        w.join(handle)
    w.stranger("dave")
    return w


@pytest.fixture
def parsed_by_processor(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the processor parses itself."""
    texts: list[str] = []

    def counting(text: str, service_handle: str) -> Command:
        texts.append(text)
        return parse(text, service_handle)

    monkeypatch.setattr(process_module, "parse", counting)
    return texts


def _decided(world: World, post: Post) -> tuple[Any, ...]:
    payment = world.payment_for(post)
    return tuple(payment[name] for name in DECIDED)


def _restamp(world: World, posts: list[Post], **values: Any) -> None:
    with world.ctx.engine.begin() as conn:
        conn.execute(inbox.update().where(inbox.c.post_id.in_([p.id for p in posts])), values)


def _stored(world: World, post: Post) -> tuple[str | None, str | None]:
    with world.ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(inbox.c.parsed_command, inbox.c.parsed_grammar).where(
                inbox.c.post_id == post.id
            )
        ).one()
    return row.parsed_command, row.parsed_grammar


def test_the_listener_stores_what_it_read(world: World) -> None:
    post = world.post("alice", "@payez envoie 12,50€ à @bob merci")
    poll_mentions(world.ctx, world.network)
    assert _stored(world, post) == (
        '["send","fr",1250,"EUR","bob","merci"]',
        grammar_stamp("payez"),
    )


def test_a_stored_parse_is_not_parsed_again(world: World, parsed_by_processor: list[str]) -> None:
    posts = [world.post("alice", text) for text in TEXTS]
    world.run()
    assert parsed_by_processor == []
    assert _decided(world, posts[0])[:3] == ("send", "settled", None)
    assert world.balance("bob") == 50_000 + 500
    world.assert_ledger_sound()


Restamp = Callable[[World, list[Post]], None]
STALE: dict[str, Restamp] = {
    # Recorded before the parse was stored (or by the sandbox, tests, a bench's loader).
    "absent": lambda w, p: _restamp(w, p, parsed_command=None, parsed_grammar=None),
    "older_grammar": lambda w, p: _restamp(w, p, parsed_grammar=f"{GRAMMAR_VERSION - 1}:payez"),
    "other_service_handle": lambda w, p: _restamp(w, p, parsed_grammar=grammar_stamp("other")),
    # A wrong stored command under another grammar must never be believed.
    "older_grammar_reading_otherwise": lambda w, p: _restamp(
        w,
        p,
        parsed_command='["send","fr",99900,"EUR","carol",null]',
        parsed_grammar=f"{GRAMMAR_VERSION - 1}:payez",
    ),
}


@pytest.mark.parametrize("stale", STALE, ids=list(STALE))
def test_a_stale_or_absent_parse_is_parsed_again_and_decides_the_same(
    world: World, parsed_by_processor: list[str], stale: str
) -> None:
    # Each text twice, by the same author: one row keeps the listener's parse, the other not.
    kept = [world.post("alice", text) for text in TEXTS]
    again = [world.post("alice", text) for text in TEXTS]
    poll_mentions(world.ctx, world.network)
    STALE[stale](world, again)
    process_until_empty(world.ctx)
    assert sorted(parsed_by_processor) == sorted(TEXTS)
    for stored, parsed in zip(kept, again, strict=True):
        assert _decided(world, stored) == _decided(world, parsed)
    world.assert_ledger_sound()


def test_a_post_holding_a_nul_is_read_as_stored(
    world: World, parsed_by_processor: list[str]
) -> None:
    # PostgreSQL text cannot hold a NUL: the inbox keeps the text without it, and the listener
    # parses that text, so the stored command is what the processor would read from the row.
    post = world.post("alice", "@payez envoie 5€ à @bob merci\x00 !")
    world.run()
    assert parsed_by_processor == []
    assert _stored(world, post)[0] == '["send","fr",500,"EUR","bob","merci !"]'
    payment = world.payment_for(post)
    assert (payment["state"], payment["memo"]) == ("settled", "merci !")
    assert world.balance("bob") == 50_500


def test_the_pipeline_bench_records_posts_as_the_listener_does() -> None:
    rows = _posts(20, 10, "tag", "run", 1, datetime.now(UTC), "payez")
    for row in rows:
        command = stored_command(row["parsed_command"], row["parsed_grammar"], "payez")
        assert command is not None
        assert command == parse(row["text"], "payez")
