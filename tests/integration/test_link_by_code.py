"""Linking a social account by posting a one-time code from it (``@payez lier CODE``): the code
made on the web links whoever posts it, once, within its half hour, as OAuth linking does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from payez.adapters.db import emails
from payez.adapters.db.tables.link_codes import link_codes
from payez.adapters.db.tables.payments import social_links
from payez.domain.payments import PaymentState
from payez.ports.network import NetworkAccount, Post
from payez.service.email_verification import EmailUnverified
from payez.service.link_by_code import (
    CODE_TTL,
    CODE_USED,
    create_link_code,
    hash_code,
    link_by_code,
    live_code_expiry,
    posts_to_write,
)
from payez.service.open_account import link_network_account
from payez.service.process_inbox import process_inbox
from payez.service.record_posts import poll_mentions
from payez.service.send_outbox import send_outbox
from tests.integration.pipeline_world import World


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    world = World.create(database_url)
    world.join("alice")
    world.signs_up("bob")
    yield world
    world.ctx.engine.dispose()


def _links(world: World) -> list[tuple[int, str, str]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(social_links.c.user_id, social_links.c.account_id, social_links.c.handle)
            .where(social_links.c.network == "memory")
            .order_by(social_links.c.id)
        )
        return [(int(u), str(i), str(h)) for u, i, h in rows]


def _linked_to(world: World, account: NetworkAccount) -> int | None:
    found = [user for user, account_id, _handle in _links(world) if account_id == account.id]
    return found[0] if found else None


def _code_rows(world: World) -> list[dict[str, Any]]:
    with world.ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(link_codes))]


def _link_audit(world: World) -> list[tuple[Any, ...]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT operator_user_id, target, details FROM audit_log "
                "WHERE action = 'account.link' ORDER BY id"
            )
        )
        return [(by, target, json.loads(details)) for by, target, details in rows]


def _only_reply(world: World, post: Post) -> str:
    [reply] = world.replies_to(post)
    return reply


def test_a_code_links_the_posting_account_and_credits_the_money_held_for_it(
    world: World,
) -> None:
    carol = world.stranger("carol")
    gift = world.post("alice", "@payez envoie 12€ à @carol bienvenue")
    world.run()
    assert world.payment_for(gift)["state"] == PaymentState.HELD_FOR_CLAIM
    bob = world.users["bob"]
    made = create_link_code(world.ctx, bob)
    assert made.expires_at == world.clock.now() + CODE_TTL
    assert live_code_expiry(world.ctx, bob) == made.expires_at
    # Only the code's hash is kept.
    [row] = _code_rows(world)
    assert row["code_hash"] == hash_code(made.code) != made.code
    assert made.code not in json.dumps(row, default=str)

    post = world.post("carol", f"@payez lier {made.code.lower()} merci")
    world.run()

    assert _linked_to(world, carol) == bob
    assert world.balance("bob") == 1_200
    assert world.payment_for(gift)["state"] == PaymentState.CLAIMED
    assert _only_reply(world, post) == (
        "@carol C'est fait : ce compte est relié à Payez. Vous pouvez payer par message."
    )
    [(by, target, details)] = _link_audit(world)
    assert (by, target) == (None, f"user:{bob}")
    assert details == {
        "network": "memory",
        "account_id": carol.id,
        "handle": "carol",
        "credited_cents": 1_200,
        "method": "code",
    }
    # No money moved for the link post itself, and the code is spent.
    decided = world.payment_for(post)
    assert (decided["state"], decided["reason"]) == ("ignored", "account_linked")
    assert decided["amount_cents"] is None and decided["sender_user_id"] is None
    assert _code_rows(world)[0]["used_at"] is not None
    assert live_code_expiry(world.ctx, bob) is None
    world.assert_ledger_sound()

    # bob hears of it by email, with the way to undo it.
    with world.ctx.engine.connect() as conn:
        [notice] = [
            e for e in emails.sent_to(conn, "bob@example.org") if e.kind == "account_linked"
        ]
    assert "@carol (memory)" in notice.text
    assert world.ctx.link("/settings/privacy#links") in notice.text

    # The linked account's posts are bob's from now on (his identity is not verified yet).
    paid = world.post("carol", "@payez send 2€ to @alice")
    world.run()
    decided = world.payment_for(paid)
    assert (decided["sender_user_id"], decided["reason"]) == (bob, "sender_unverified")


def test_an_expired_code_links_nothing(world: World) -> None:
    carol = world.stranger("carol")
    made = create_link_code(world.ctx, world.users["bob"])
    world.later(minutes=30)
    post = world.post("carol", f"@payez link {made.code}")
    world.run()
    assert _linked_to(world, carol) is None
    assert _only_reply(world, post).startswith("@carol This code has expired")
    assert world.payment_for(post)["reason"] == "link_code_expired"
    assert _code_rows(world)[0]["used_at"] is None
    assert _link_audit(world) == []


def test_a_code_links_once(world: World) -> None:
    carol, dave = world.stranger("carol"), world.stranger("dave")
    made = create_link_code(world.ctx, world.users["bob"])
    first = world.post("carol", f"@payez lier {made.code}")
    world.run()
    second = world.post("dave", f"@payez lier {made.code}")
    world.run()
    assert _linked_to(world, carol) == world.users["bob"]
    assert _linked_to(world, dave) is None
    assert _only_reply(world, second).startswith("@dave Ce code a déjà servi")
    assert world.payment_for(second)["state"] == PaymentState.REJECTED
    assert len(_link_audit(world)) == 1
    assert world.payment_for(first)["reason"] == "account_linked"


def test_two_posts_of_one_code_in_one_batch_link_once(world: World) -> None:
    carol, dave = world.stranger("carol"), world.stranger("dave")
    made = create_link_code(world.ctx, world.users["bob"])
    world.post("carol", f"@payez lier {made.code}")
    world.post("dave", f"@payez lier {made.code}")
    world.run()
    assert [_linked_to(world, carol), _linked_to(world, dave)] == [world.users["bob"], None]


def test_an_account_linked_to_someone_else_is_refused_and_nothing_changes(world: World) -> None:
    bob = world.users["bob"]
    dora = world.signs_up("dora")
    account = world.stranger("dora")
    with world.ctx.engine.begin() as conn:
        link_network_account(conn, world.ctx, dora, "memory", account)
    made = create_link_code(world.ctx, bob)
    before = _links(world)
    post = world.post("dora", f"@payez lier {made.code}")
    world.run()
    assert _links(world) == before
    assert _linked_to(world, account) == dora
    assert _only_reply(world, post) == (
        "@dora Liaison refusée : ce compte est déjà relié à un autre compte Payez."
    )
    # The code was not spent: bob can still use it from his own account.
    assert _code_rows(world)[0]["used_at"] is None
    assert _link_audit(world) == []
    with world.ctx.engine.connect() as conn:
        assert [
            e for e in emails.sent_to(conn, "bob@example.org") if e.kind == "account_linked"
        ] == []
    carol = world.stranger("carol")
    world.post("carol", f"@payez lier {made.code}")
    world.run()
    assert _linked_to(world, carol) == bob


def test_an_account_opened_by_a_claim_is_handed_over_with_its_money(world: World) -> None:
    # alice's Payez account has no login (opened for her account alone): whoever proves
    # the account, here by posting a code from it, is handed it, as with OAuth.
    bob = world.users["bob"]
    made = create_link_code(world.ctx, bob)
    world.post("alice", f"@payez lier {made.code}")
    world.run()
    assert _linked_to(world, world.accounts["alice"]) == bob
    assert world.balance("bob") == 50_000
    assert world.balance("alice") == 0
    world.assert_ledger_sound()


def test_a_new_code_replaces_the_unused_one(world: World) -> None:
    carol = world.stranger("carol")
    old = create_link_code(world.ctx, world.users["bob"])
    new = create_link_code(world.ctx, world.users["bob"])
    assert old.code != new.code
    post = world.post("carol", f"@payez lier {old.code}")
    world.run()
    assert _linked_to(world, carol) is None
    assert _only_reply(world, post).startswith("@carol Code inconnu")
    assert world.ctx.link("/onboarding#link") in _only_reply(world, post)
    world.post("carol", f"@payez lier {new.code}")
    world.run()
    assert _linked_to(world, carol) == world.users["bob"]


def test_a_malformed_code_is_answered_with_the_right_form(world: World) -> None:
    post = world.post("carol", "@payez link 1234")
    world.run()
    assert _only_reply(world, post) == (
        "@carol Unreadable code: copy the 8 characters Payez gave you. Write: @payez link CODE"
    )
    assert world.payment_for(post)["reason"] == "link_code_invalid"


def test_an_edit_a_quote_or_a_repost_never_links(world: World) -> None:
    carol, dave, erin = world.stranger("carol"), world.stranger("dave"), world.stranger("erin")
    made = create_link_code(world.ctx, world.users["bob"])
    edited = world.post("carol", "@payez lier ABCDEFGH")
    world.network.edit(edited.id, f"@payez lier {made.code}")
    original = world.post("alice", "Un message à citer")
    quoted = world.post("dave", f"@payez lier {made.code}", quote_of=original.id)
    private = world.post("erin", f"@payez lier {made.code}", visibility="direct")
    world.run()
    assert [_linked_to(world, a) for a in (carol, dave, erin)] == [None, None, None]
    assert world.payment_for(edited)["reason"] == "link_post_edited"
    assert _only_reply(world, edited).startswith("@carol Un message modifié ne relie aucun compte")
    for ignored in (quoted, private):
        assert world.payment_for(ignored)["reason"] == "not_an_original_public_post"
        assert world.replies_to(ignored) == []
    # A repost of a post with a code is nobody's command either.
    world.network.repost(world.accounts["alice"], original.id)
    world.run()
    assert _code_rows(world)[0]["used_at"] is None


def test_a_code_needs_a_verified_email_address(world: World) -> None:
    unverified = world.signs_up("chloe", verify=False)
    with pytest.raises(EmailUnverified):
        create_link_code(world.ctx, unverified)
    assert _code_rows(world) == []


def test_the_post_to_write_names_each_network_service_handle(world: World) -> None:
    [post] = posts_to_write(world.ctx, "K7MQ4XR2")
    handle = world.ctx.service_handle("memory")
    assert (post.network, post.text_fr, post.text_en) == (
        "memory",
        f"@{handle} lier K7MQ4XR2",
        f"@{handle} link K7MQ4XR2",
    )


# --- Two workers racing for one code, on PostgreSQL --------------------------------------------


@pytest.fixture
def pg_world(postgres_url: str) -> Iterator[World]:
    world = World.create(postgres_url)
    world.signs_up("bob")
    yield world
    world.ctx.engine.dispose()


def _waiting_for_a_lock(world: World) -> bool:
    with world.ctx.engine.connect() as conn:
        waiting = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return int(waiting) > 0


def test_a_second_spender_waits_for_the_first_then_finds_the_code_used(pg_world: World) -> None:
    world = pg_world
    carol, dave = world.stranger("carol"), world.stranger("dave")
    made = create_link_code(world.ctx, world.users["bob"])
    outcomes: dict[str, str] = {}

    def second() -> None:
        with world.ctx.engine.begin() as conn:
            done = link_by_code(
                conn, world.ctx, code=made.code, network="memory", account=dave, now=world.ctx.now()
            )
            outcomes["dave"] = done.outcome

    with world.ctx.engine.connect() as first:
        first.begin()
        done = link_by_code(
            first, world.ctx, code=made.code, network="memory", account=carol, now=world.ctx.now()
        )
        assert done.linked
        racer = threading.Thread(target=second)
        racer.start()
        try:
            # The second spender is blocked on the code's row until the first commits.
            for _ in range(2000):
                if _waiting_for_a_lock(world) or not racer.is_alive():
                    break
                threading.Event().wait(0.005)
            assert racer.is_alive() and _waiting_for_a_lock(world)
            first.commit()
        finally:
            if first.in_transaction():
                first.rollback()
            racer.join(30)
    assert not racer.is_alive()
    assert outcomes == {"dave": CODE_USED}
    assert [_linked_to(world, carol), _linked_to(world, dave)] == [world.users["bob"], None]


def test_two_workers_given_one_code_link_exactly_one_account(pg_world: World) -> None:
    world = pg_world
    accounts = [world.stranger(name) for name in ("carol", "dave", "erin", "frank")]
    made = create_link_code(world.ctx, world.users["bob"])
    for account in accounts:
        world.post(account.handle, f"@payez lier {made.code}")
    poll_mentions(world.ctx, world.network)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(30)
            while process_inbox(world.ctx, batch_size=1):
                pass
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert not any(thread.is_alive() for thread in workers)
    assert failures == []
    linked = [a for a in accounts if _linked_to(world, a) is not None]
    assert len(linked) == 1 and _linked_to(world, linked[0]) == world.users["bob"]
    send_outbox(world.ctx)
    replies = [r.text for r in world.network.replies]
    assert sum("C'est fait" in r for r in replies) == 1
    assert sum("Ce code a déjà servi" in r for r in replies) == 3
    assert len(_link_audit(world)) == 1
