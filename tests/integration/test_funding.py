"""A short sender's card is charged once for the shortfall; a refusal moves nothing."""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.tables.payments import users
from payez.domain.payments import PaymentState
from payez.sandbox.cards import SandboxCardProcessor
from payez.service.fund_from_card import fund_waiting_posts
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.refund_order import orders_of, refund_order
from payez.service.return_to_card import return_order_to_card
from tests.integration.pipeline_world import World

VISA = "4242424242424242"
DECLINES_CHARGES = "4000000000000341"
NEEDS_AUTHENTICATION = "4000002500003155"


def world_with_card(database_url: str, number: str, cents: int = 1000) -> World:
    world = World.create(database_url)
    cards = SandboxCardProcessor(world.ctx.engine)
    world.ctx.cards = cards
    user_id = world.join("carol", cents=cents)
    world.join("bob")
    customer = cards.create_customer(reference="carol", email=None, idempotency_key="c")
    cards.attach_card(customer_id=customer, card_token=number)
    with world.ctx.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(card_customer_id=customer))
    return world


def charges(world: World) -> list[tuple[int, str]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT amount_cents, status FROM card_charges ORDER BY id"))
        return [(int(r[0]), str(r[1])) for r in rows]


def test_the_card_pays_the_shortfall_once_then_the_payment_settles(database_url: str) -> None:
    world = world_with_card(database_url, VISA)
    post = world.post("carol", "@payez envoie 25€ à @bob")
    poll_mentions(world.ctx, world.network)
    process_until_empty(world.ctx)
    assert world.balance("bob") == 50_000  # parked while the card is charged
    assert fund_waiting_posts(world.ctx) == 1
    assert fund_waiting_posts(world.ctx) == 0
    world.run()
    assert world.payment_for(post)["state"] == PaymentState.SETTLED
    assert charges(world) == [(1500, "succeeded")]
    assert world.balance("carol") == 0
    assert world.balance("bob") == 52_500
    world.assert_ledger_sound()


def test_a_declined_card_refuses_the_payment_and_moves_nothing(database_url: str) -> None:
    world = world_with_card(database_url, DECLINES_CHARGES)
    post = world.post("carol", "@payez envoie 25€ à @bob")
    world.run()
    fund_waiting_posts(world.ctx)
    world.run()
    payment = world.payment_for(post)
    assert (payment["state"], payment["reason"]) == (PaymentState.REJECTED, "funding_failed")
    assert charges(world) == [(1500, "failed")]
    assert world.balance("carol") == 1000
    assert len(world.replies_to(post)) == 1
    world.assert_ledger_sound()


def test_a_charge_needing_authentication_waits_for_the_cardholder(database_url: str) -> None:
    world = world_with_card(database_url, NEEDS_AUTHENTICATION)
    post = world.post("carol", "@payez envoie 25€ à @bob")
    world.run()
    assert fund_waiting_posts(world.ctx) == 0
    assert fund_waiting_posts(world.ctx) == 0  # asked again: still one charge, one notice
    world.run()
    assert len(world.network.notices) == 1
    assert world.balance("bob") == 50_000
    cards = world.ctx.cards
    assert isinstance(cards, SandboxCardProcessor)
    ((charge_id,),) = _processor_ids(world)
    cards.complete_authentication(charge_id, approve=True)
    assert fund_waiting_posts(world.ctx) == 1
    world.run()
    assert world.payment_for(post)["state"] == PaymentState.SETTLED
    assert charges(world) == [(1500, "succeeded")]
    assert world.balance("bob") == 52_500
    world.assert_ledger_sound()


def test_a_sender_with_enough_money_is_never_charged(database_url: str) -> None:
    world = world_with_card(database_url, VISA, cents=5000)
    world.post("carol", "@payez envoie 25€ à @bob")
    world.run()
    assert fund_waiting_posts(world.ctx) == 0
    assert charges(world) == []
    assert world.balance("bob") == 52_500


def _processor_ids(world: World) -> list[tuple[str]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT processor_charge_id FROM card_charges"))
        return [(str(r[0]),) for r in rows]


def test_refunding_a_card_funded_order_returns_the_card_part_to_the_card(
    database_url: str,
) -> None:
    world = world_with_card(database_url, VISA)  # carol: 10 € and a card
    merchant = world.join("boutique", kind="merchant", cents=0)
    listing = world.listing("boutique", "Casquette", 1500, stock=3)
    world.post("carol", "@payez j'achète", in_reply_to=listing.id)
    world.run()
    fund_waiting_posts(world.ctx)
    world.run()
    assert charges(world) == [(500, "succeeded")]
    assert (world.balance("carol"), world.balance("boutique")) == (0, 1500)
    (order,) = orders_of(world.ctx, merchant)
    refund_order(world.ctx, order.id, merchant)
    cards = world.ctx.cards
    assert cards is not None
    (refund,) = cards.list_refunds()
    assert (refund.amount.cents, refund.status) == (500, "succeeded")
    # 15 € back to the wallet, of which the 5 € the card paid went on to the card.
    assert (world.balance("carol"), world.balance("boutique")) == (1000, 0)
    assert return_order_to_card(world.ctx, order.id) is not None  # again: nothing more moves
    assert len(cards.list_refunds()) == 1
    assert world.balance("carol") == 1000
    world.assert_ledger_sound()
