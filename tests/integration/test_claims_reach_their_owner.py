"""Money sent to a newcomer always ends in an account they can log in to.

Before claiming needed a login, a claim opened a Payez account nobody could log in to. These
tests build such an account the way that code did, then check that the person who signs up and
proves the same social account is handed it, with its money and records, and that linking a
social account collects the money already waiting for it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.tables.payments import payments, social_links, users
from payez.domain.payments import PaymentState
from payez.ports.network import NetworkAccount
from payez.service.adopt_account import sweep_handed_over_accounts
from payez.service.claim_payment import claim_payment
from payez.service.errors import AccountAlreadyLinked
from payez.service.expire_payments import expire_confirmations
from payez.service.link_social_account import link_social_account
from payez.service.open_account import link_network_account, open_user
from tests.integration.pipeline_world import World


@pytest.fixture
def world(database_url: str) -> World:
    w = World.create(database_url)
    w.join("alice")
    w.join("restos", kind="association", cents=0)
    return w


def _login_less_account_for(world: World, handle: str) -> tuple[NetworkAccount, int]:
    """What a claim used to open: a person with a wallet and a link, and no way to log in."""
    account = world.stranger(handle)
    with world.ctx.engine.begin() as conn:
        user_id = open_user(conn, kind="person", display_name=handle, now=world.clock.now())
        link_network_account(conn, world.ctx, user_id, "memory", account)
    return account, user_id


def _wallet(world: World, user_id: int) -> tuple[int, int]:
    """(posted, pending out) of the user's wallet, in cents."""
    with world.ctx.engine.connect() as conn:
        wallet = conn.execute(
            sa.select(users.c.wallet_account_id).where(users.c.id == user_id)
        ).scalar_one()
        balance = SqlLedger(conn).balance(int(wallet))
    return balance.posted.cents, balance.pending_out.cents


def _links(world: World) -> list[tuple[int, str]]:
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(social_links.c.user_id, social_links.c.handle).order_by(social_links.c.id)
        )
        return [(int(r.user_id), str(r.handle)) for r in rows]


def test_a_login_less_account_is_handed_over_to_whoever_proves_its_social_account(
    world: World,
) -> None:
    dave, old = _login_less_account_for(world, "dave")
    paid = world.post("alice", "@payez envoie 5€ à @dave")
    world.run()
    assert world.payment_for(paid)["state"] == PaymentState.SETTLED
    assert _wallet(world, old) == (500, 0)

    newcomer = world.signs_up("dave")
    credited = link_social_account(world.ctx, newcomer, "memory", dave)

    assert credited.cents == 0  # nothing was waiting for a claim: the money was in the old wallet
    assert _wallet(world, newcomer) == (500, 0)
    assert _wallet(world, old) == (0, 0)
    # One user for one social account, and the history follows the person.
    assert [user for user, handle in _links(world) if handle == "dave"] == [newcomer]
    assert world.payment_for(paid)["recipient_user_id"] == newcomer
    with world.ctx.engine.connect() as conn:
        adopted_by = conn.execute(
            sa.select(users.c.adopted_by_user_id).where(users.c.id == old)
        ).scalar_one()
    assert adopted_by == newcomer
    # The next payment to @dave goes straight to the person's own account.
    again = world.post("alice", "@payez envoie 2€ à @dave")
    world.run()
    assert world.payment_for(again)["recipient_user_id"] == newcomer
    assert _wallet(world, newcomer) == (700, 0)
    world.assert_ledger_sound()


def test_an_account_someone_can_log_in_to_is_never_handed_over(world: World) -> None:
    dave, _old = _login_less_account_for(world, "dave")
    first = world.signs_up("dave")
    link_social_account(world.ctx, first, "memory", dave)
    second = world.signs_up("mallory")
    with pytest.raises(AccountAlreadyLinked):
        link_social_account(world.ctx, second, "memory", dave)
    assert [user for user, handle in _links(world) if handle == "dave"] == [first]


def test_a_frozen_login_less_account_stays_frozen(world: World) -> None:
    dave, old = _login_less_account_for(world, "dave")
    world.post("alice", "@payez envoie 5€ à @dave")
    world.run()
    with world.ctx.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == old).values(status="frozen"))
    newcomer = world.signs_up("dave")
    with pytest.raises(AccountAlreadyLinked):
        link_social_account(world.ctx, newcomer, "memory", dave)
    assert _wallet(world, old) == (500, 0)
    assert _wallet(world, newcomer) == (0, 0)


def test_money_released_into_the_old_wallet_later_follows_its_owner(world: World) -> None:
    dave, old = _login_less_account_for(world, "dave")
    world.post("alice", "@payez envoie 10€ à @dave")
    world.run()
    # The old account's own first payment waits for a confirmation nobody could ever give.
    world.ctx.settings = world.ctx.settings.with_overrides(confirm="psd2")
    donation = world.post("dave", "@payez donne 4€ à @restos")
    world.run()
    assert world.payment_for(donation)["state"] == PaymentState.AWAITING_CONFIRMATION
    assert _wallet(world, old) == (1000, 400)

    newcomer = world.signs_up("dave")
    link_social_account(world.ctx, newcomer, "memory", dave)
    # What could move, moved; the held 4 € stays named by its pending transfer.
    assert _wallet(world, newcomer) == (600, 0)
    assert _wallet(world, old) == (400, 400)
    assert world.payment_for(donation)["sender_user_id"] == old

    world.later(minutes=16)
    assert expire_confirmations(world.ctx) == 1
    assert sweep_handed_over_accounts(world.ctx) == 1
    assert _wallet(world, newcomer) == (1000, 0)
    assert _wallet(world, old) == (0, 0)
    assert world.payment_for(donation)["sender_user_id"] == newcomer
    assert sweep_handed_over_accounts(world.ctx) == 0
    world.assert_ledger_sound()


def test_linking_an_account_collects_the_money_waiting_for_it(world: World) -> None:
    dave = world.stranger("dave")
    first = world.post("alice", "@payez envoie 3€ à @dave")
    second = world.post("alice", "@payez envoie 4€ à @dave")
    world.run()
    assert world.payment_for(first)["state"] == PaymentState.HELD_FOR_CLAIM
    newcomer = world.signs_up("dave")

    credited = link_social_account(world.ctx, newcomer, "memory", dave)

    assert credited.cents == 700
    assert _wallet(world, newcomer) == (700, 0)
    for post in (first, second):
        payment = world.payment_for(post)
        assert (payment["state"], payment["recipient_user_id"]) == (
            PaymentState.CLAIMED,
            newcomer,
        )
    with world.ctx.engine.connect() as conn:
        login_less = conn.execute(
            sa.select(sa.func.count()).select_from(users).where(users.c.password_hash.is_(None))
        ).scalar_one()
    assert login_less == 2  # alice and restos, opened by the test world without a login
    world.assert_ledger_sound()


def test_a_claim_for_an_account_linked_elsewhere_credits_that_account(world: World) -> None:
    dave = world.stranger("dave")
    post = world.post("alice", "@payez envoie 6€ à @dave")
    world.run()
    token = world.payment_for(post)["claim_token"]
    owner = world.signs_up("dave")
    # dave links first (elsewhere), then someone else holding dave's network session claims.
    with world.ctx.engine.begin() as conn:
        link_network_account(conn, world.ctx, owner, "memory", dave)
    other = world.signs_up("other")
    result = claim_payment(world.ctx, token, dave, other)
    assert result.user_id == owner
    assert _wallet(world, owner) == (600, 0)
    assert _wallet(world, other) == (0, 0)
    with world.ctx.engine.connect() as conn:
        state = conn.execute(
            sa.select(payments.c.state).where(payments.c.claim_token == token)
        ).scalar_one()
    assert state == PaymentState.CLAIMED
