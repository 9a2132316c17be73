"""The pay-by-post pipeline on real databases (SQLite and PostgreSQL) with the in-memory network."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.payments import users
from payez.domain.payments import PaymentState
from payez.service.claim_payment import claim_payment
from payez.service.confirm_payment import confirm_payment
from payez.service.errors import (
    ClaimClosed,
    ClaimWrongAccount,
    ConfirmationClosed,
    ConfirmationNotYours,
)
from payez.service.expire_payments import (
    expire_confirmations,
    refund_expired_claims,
    send_claim_reminders,
)
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions, record_posts
from payez.service.send_outbox import send_outbox
from tests.integration.pipeline_world import World


@pytest.fixture
def world(database_url: str) -> World:
    w = World.create(database_url)
    w.join("alice")
    w.join("bob")
    return w


def test_alice_pays_bob(world: World) -> None:
    post = world.post("alice", "@payez envoie 12,50€ à @bob merci pour le ciné")
    world.run()
    assert world.payment_for(post)["state"] == PaymentState.SETTLED
    assert world.balance("alice") == 50_000 - 1250
    assert world.balance("bob") == 50_000 + 1250
    (reply,) = world.replies_to(post)
    assert "12,50" in reply
    world.assert_ledger_sound()


def test_replayed_mentions_pay_once_and_reply_once(world: World) -> None:
    post = world.post("alice", "@payez send €5 to @bob")
    world.run()
    # The same post delivered again (a replayed stream, a restart from an old cursor).
    assert record_posts(world.ctx, world.network, [post, post]) == 0
    world.run()
    assert world.balance("bob") == 50_500
    assert len(world.replies_to(post)) == 1


def test_donation_to_association_allows_up_to_500(world: World) -> None:
    world.join("restos", kind="association", cents=0)
    post = world.post("alice", "@payez donne 400€ à @restos")
    world.run()
    payment = world.payment_for(post)
    assert (payment["state"], payment["kind"]) == (PaymentState.SETTLED, "donation")
    assert world.balance("restos") == 40_000


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("@payez envoie 300€ à @bob", "amount_over_limit"),
        ("@payez envoie 0,20€ à @bob", "amount_below_minimum"),
        ("@payez envoie 5€ à @alice", "self_payment"),
        ("@payez envoie 5$ à @bob", "currency_unsupported"),
        ("@payez envoie à @bob", "amount_missing"),
        ("@payez envoie 5€ à @nobody_here", "recipient_unknown"),
    ],
)
def test_refused_commands_move_nothing_and_get_a_reply(
    world: World, text: str, reason: str
) -> None:
    post = world.post("alice", text)
    world.run()
    payment = world.payment_for(post)
    assert (payment["state"], payment["reason"]) == (PaymentState.REJECTED, reason)
    assert world.balance("alice") == 50_000
    assert len(world.replies_to(post)) == 1
    world.assert_ledger_sound()


def test_unlinked_sender_is_told_how_to_join(world: World) -> None:
    world.stranger("zoe")
    post = world.post("zoe", "@payez envoie 5€ à @bob")
    world.run()
    assert world.payment_for(post)["reason"] == "sender_unknown"
    assert world.balance("bob") == 50_000
    assert len(world.replies_to(post)) == 1


def test_insufficient_funds_refuses_and_moves_nothing(world: World) -> None:
    world.join("carol", cents=300)
    post = world.post("carol", "@payez envoie 5€ à @bob")
    world.run()
    assert world.payment_for(post)["reason"] == "funding_failed"
    assert world.balance("carol") == 300


def test_daily_cap_counts_payments_in_the_same_batch(database_url: str) -> None:
    w = World.create(database_url, daily_cap_cents=40_000)
    w.join("alice")
    w.join("bob")
    first = w.post("alice", "@payez envoie 250€ à @bob")
    second = w.post("alice", "@payez envoie 200€ à @bob")
    w.run()
    assert w.payment_for(first)["state"] == PaymentState.SETTLED
    assert w.payment_for(second)["reason"] == "daily_cap_exceeded"


def test_boost_quote_private_and_plain_mentions_move_nothing(world: World) -> None:
    original = world.post("alice", "@payez envoie 5€ à @bob")
    world.run()
    world.network.repost(world.accounts["bob"], original.id)
    world.post("bob", "@payez envoie 5€ à @alice", quote_of=original.id)
    world.post("bob", "@payez envoie 5€ à @alice", visibility="direct")
    world.post("bob", "Merci @payez !")
    world.run()
    assert world.balance("alice") == 50_000 - 500
    assert world.balance("bob") == 50_000 + 500


def test_edited_command_is_paid_once_for_its_original_text(world: World) -> None:
    post = world.post("alice", "@payez envoie 5€ à @bob")
    world.run()
    world.network.edit(post.id, "@payez envoie 50€ à @bob")
    world.run()
    assert world.balance("bob") == 50_500


def test_stale_post_waits_for_confirmation_and_confirming_twice_pays_once(world: World) -> None:
    post = world.post("alice", "@payez envoie 20€ à @bob", created_at=world.clock.now())
    world.later(minutes=11)
    world.run()
    payment = world.payment_for(post)
    assert payment["state"] == PaymentState.AWAITING_CONFIRMATION
    assert payment["confirm_reason"] == "stale_post"
    assert world.balance("bob") == 50_000
    with pytest.raises(ConfirmationNotYours):
        confirm_payment(world.ctx, payment["confirm_token"], world.users["bob"])
    confirm_payment(world.ctx, payment["confirm_token"], world.users["alice"])
    with pytest.raises(ConfirmationClosed):
        confirm_payment(world.ctx, payment["confirm_token"], world.users["alice"])
    assert world.balance("bob") == 52_000
    world.assert_ledger_sound()


def test_unconfirmed_payment_expires_and_releases_the_hold(database_url: str) -> None:
    w = World.create(database_url, confirm="always")
    w.join("alice")
    w.join("bob")
    post = w.post("alice", "@payez envoie 20€ à @bob")
    w.run()
    assert w.payment_for(post)["state"] == PaymentState.AWAITING_CONFIRMATION
    w.later(minutes=16)
    assert expire_confirmations(w.ctx) == 1
    assert expire_confirmations(w.ctx) == 0
    payment = w.payment_for(post)
    assert (payment["state"], payment["reason"]) == (PaymentState.REJECTED, "confirmation_expired")
    assert w.balance("alice") == 50_000
    w.assert_ledger_sound()


def test_newcomer_claims_with_the_proven_account(world: World) -> None:
    dave = world.stranger("dave")
    post = world.post("alice", "@payez envoie 10€ à @dave bienvenue")
    world.run()
    payment = world.payment_for(post)
    assert payment["state"] == PaymentState.HELD_FOR_CLAIM
    assert world.balance("alice") == 49_000
    eve = world.stranger("eve")
    dave_login = world.signs_up("dave")
    with pytest.raises(ClaimWrongAccount):
        claim_payment(world.ctx, payment["claim_token"], eve, dave_login)
    result = claim_payment(world.ctx, payment["claim_token"], dave, dave_login)
    assert (result.user_id, result.total.cents) == (dave_login, 1000)
    assert world.balance("dave") == 1000
    with pytest.raises(ClaimClosed):
        claim_payment(world.ctx, payment["claim_token"], dave, dave_login)
    assert world.payment_for(post)["state"] == PaymentState.CLAIMED
    world.assert_ledger_sound()


def test_claim_follows_the_immutable_id_not_the_handle(world: World) -> None:
    dave = world.stranger("dave")
    post = world.post("alice", "@payez envoie 10€ à @dave")
    world.run()
    token = world.payment_for(post)["claim_token"]
    # dave renames; a squatter takes the old handle: the squatter cannot claim.
    world.network.rename_account(dave, "dave_new")
    squatter = world.stranger("dave")
    assert squatter.id != dave.id
    with pytest.raises(ClaimWrongAccount):
        claim_payment(world.ctx, token, squatter, world.signs_up("squatter"))


def test_unclaimed_money_is_reminded_then_refunded_once(world: World) -> None:
    world.stranger("dave")
    post = world.post("alice", "@payez envoie 10€ à @dave")
    world.run()
    world.later(days=6, hours=1)
    assert send_claim_reminders(world.ctx) == 1
    assert send_claim_reminders(world.ctx) == 0
    world.later(days=1)
    assert refund_expired_claims(world.ctx) == 1
    assert refund_expired_claims(world.ctx) == 0
    assert world.payment_for(post)["state"] == PaymentState.REFUNDED
    assert world.balance("alice") == 50_000
    send_outbox_all(world)
    assert len(world.replies_to(post)) == 3  # claim link, reminder, refund
    world.assert_ledger_sound()


def test_deleted_command_is_cancelled_before_the_claim(world: World) -> None:
    dave = world.stranger("dave")
    post = world.post("alice", "@payez envoie 10€ à @dave")
    world.run()
    world.network.delete(post.id)
    with pytest.raises(ClaimClosed):
        claim_payment(world.ctx, world.payment_for(post)["claim_token"], dave, world.signs_up("d"))
    assert world.payment_for(post)["state"] == PaymentState.CANCELLED
    assert world.balance("alice") == 50_000


def test_purchase_reserves_stock_and_refuses_a_wrong_price(world: World) -> None:
    world.join("boutique", kind="merchant", cents=0)
    listing = world.listing("boutique", "T-shirt", 1500, stock=1)
    wrong = world.post("alice", "@boutique @payez j'achète 20€", in_reply_to=listing.id)
    world.run()
    assert world.payment_for(wrong)["reason"] == "listing_price_mismatch"
    bought = world.post("alice", "@boutique @payez j'achète", in_reply_to=listing.id)
    late = world.post("bob", "@boutique @payez buy", in_reply_to=listing.id)
    world.run()
    assert world.payment_for(bought)["state"] == PaymentState.SETTLED
    assert world.payment_for(late)["reason"] == "listing_sold_out"
    assert world.balance("boutique") == 1500
    assert world.balance("bob") == 50_000


def test_rate_limited_replies_are_retried_with_the_same_key(world: World) -> None:
    post = world.post("alice", "@payez envoie 5€ à @bob")
    poll_mentions(world.ctx, world.network)
    process_until_empty(world.ctx)
    world.network.rate_limit_next(1)
    assert send_outbox(world.ctx) == 0
    assert world.replies_to(post) == []
    world.later(minutes=31)
    send_outbox_all(world)
    assert len(world.replies_to(post)) == 1


def send_outbox_all(world: World) -> None:
    world.later(hours=1)
    send_outbox(world.ctx)


def test_unverified_senders_may_donate_but_not_pay_persons_by_default(database_url: str) -> None:
    w = World.create(database_url)
    w.join("zoe", verified=False)
    w.join("bob")
    w.join("restos", kind="association", cents=0)
    to_bob = w.post("zoe", "@payez envoie 5€ à @bob")
    to_restos = w.post("zoe", "@payez donne 5€ à @restos")
    w.run()
    assert w.payment_for(to_bob)["reason"] == "sender_unverified"
    assert w.payment_for(to_restos)["state"] == PaymentState.SETTLED


def test_what_unverified_senders_may_do_is_configurable(database_url: str) -> None:
    w = World.create(database_url, unverified_may="send")
    w.join("zoe", verified=False)
    w.join("bob")
    w.join("restos", kind="association", cents=0)
    to_bob = w.post("zoe", "@payez envoie 5€ à @bob")
    to_restos = w.post("zoe", "@payez donne 5€ à @restos")
    w.run()
    assert w.payment_for(to_bob)["state"] == PaymentState.SETTLED
    assert w.payment_for(to_restos)["reason"] == "sender_unverified"


def test_a_recipient_who_asked_is_told_privately_when_money_arrives(database_url: str) -> None:
    w = World.create(database_url)
    w.join("alice")
    bob = w.join("bob")
    w.join("carol")
    with w.ctx.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == bob).values(notify_received=True))
    w.post("alice", "@payez envoie 7€ à @bob")
    w.post("bob", "@payez envoie 3€ à @carol")
    w.run()
    (notice,) = w.network.notices
    assert notice.account.handle == "bob"
    assert "7,00" in notice.text
    assert "@alice" in notice.text


@pytest.mark.parametrize(("burst_count", "flags"), [(2, 3), (5, 0)])
def test_payments_confirmed_later_are_watched_by_the_velocity_rules(
    database_url: str, burst_count: int, flags: int
) -> None:
    w = World.create(database_url, confirm="always", velocity_burst_count=burst_count)
    w.join("alice")
    w.join("bob")
    posts = [w.post("alice", f"@payez envoie {n}€ à @bob") for n in (2, 3, 4)]
    w.run()
    with w.ctx.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM payment_flags")).scalar_one() == 0
    for post in posts:
        confirm_payment(w.ctx, w.payment_for(post)["confirm_token"], w.users["alice"])
    with w.ctx.engine.connect() as conn:
        flagged = conn.execute(sa.text("SELECT payment_id, rule FROM payment_flags")).all()
    assert len(flagged) == flags
    assert {rule for _id, rule in flagged} <= {"burst"}
    assert {payment for payment, _rule in flagged} <= {w.payment_for(p)["id"] for p in posts}


def test_a_post_holding_a_nul_character_is_decided_like_any_other(world: World) -> None:
    """PostgreSQL cannot store a NUL in text: the listener drops it rather than stall."""
    post = world.post("alice", "@payez envoie 2€ à @bob\x00 merci")
    world.run()
    assert world.payment_for(post)["state"] == "settled"
