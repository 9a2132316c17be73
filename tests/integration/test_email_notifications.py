"""Notifications by email: money received, a confirmation waiting, a claim about to expire, a
payout executed. Each queued once, in the user's language, only to a verified address and only
when switched on; never an amount in a subject line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from payez.adapters.db import emails as emails_repo
from payez.adapters.db.emails import QueuedEmail
from payez.adapters.db.tables.payments import users
from payez.domain.money import Money
from payez.domain.payments import PaymentState
from payez.service.claim_payment import credit_held_payments
from payez.service.confirm_payment import confirm_payment
from payez.service.expire_payments import send_claim_reminders
from payez.service.export_payouts import export_payouts
from payez.service.notification_emails import MONEY_RECEIVED, Notice, notify_by_email
from payez.service.request_payout import request_payout
from payez.service.settle_payouts import mark_batch_executed
from tests.integration.pipeline_world import World
from tests.integration.web_world import WebWorld, web_world

IBAN = "FR1420041010050500013M02606"


def with_email(world: World, handle: str, language: str, *, verified: bool = True) -> str:
    address = f"{handle}@example.org"
    with world.ctx.engine.begin() as conn:
        conn.execute(
            users.update()
            .where(users.c.id == world.users[handle])
            .values(
                email=address,
                language=language,
                email_verified_at=world.clock.now() if verified else None,
            )
        )
    return address


def inbox(world: World, address: str, kind: str) -> list[QueuedEmail]:
    with world.ctx.engine.connect() as conn:
        return [e for e in emails_repo.sent_to(conn, address) if e.kind == kind]


def no_amount_in_subject(email: QueuedEmail) -> bool:
    return not re.search(r"\d|€", email.subject)


@pytest.fixture
def world(database_url: str) -> World:
    w = World.create(database_url)
    for handle in ("alice", "bob", "carol"):
        w.join(handle)
    return w


def test_money_received_is_told_in_each_users_language(world: World) -> None:
    bob = with_email(world, "bob", "en")
    carol = with_email(world, "carol", "fr")
    world.post("alice", "@payez envoie 5€ à @bob")
    world.post("alice", "@payez envoie 7,50€ à @carol merci")
    world.run()

    [to_bob] = inbox(world, bob, MONEY_RECEIVED)
    [to_carol] = inbox(world, carol, MONEY_RECEIVED)
    assert (to_bob.language, to_bob.subject) == ("en", "You received money on Payez")
    assert "@alice sent you €5.00" in to_bob.text
    assert to_carol.language == "fr"
    assert "@alice vous a envoyé 7,50" in to_carol.text
    assert no_amount_in_subject(to_bob) and no_amount_in_subject(to_carol)
    assert "/dashboard" in to_bob.text and "/settings" in to_bob.text


def test_a_switched_off_or_unverified_address_gets_nothing(world: World) -> None:
    bob = with_email(world, "bob", "fr")
    carol = with_email(world, "carol", "fr", verified=False)
    with world.ctx.engine.begin() as conn:
        conn.execute(
            users.update()
            .where(users.c.id == world.users["bob"])
            .values(email_money_received=False)
        )
    world.post("alice", "@payez envoie 5€ à @bob")
    world.post("alice", "@payez envoie 5€ à @carol")
    world.run()
    assert world.balance("bob") == world.balance("carol") == 50_500
    assert inbox(world, bob, MONEY_RECEIVED) == []
    assert inbox(world, carol, MONEY_RECEIVED) == []


def test_the_same_event_twice_queues_one_email(world: World) -> None:
    bob = with_email(world, "bob", "fr")
    notice = Notice(MONEY_RECEIVED, world.users["bob"], "inbox:42", Money.eur(300), "@alice")
    for _ in range(2):
        with world.ctx.engine.begin() as conn:
            notify_by_email(conn, [notice], base_url="http://payez.test", now=world.clock.now())
    assert len(inbox(world, bob, MONEY_RECEIVED)) == 1


def test_a_waiting_confirmation_is_emailed_then_the_money_received(database_url: str) -> None:
    world = World.create(database_url, confirm="always")
    world.join("alice")
    world.join("bob")
    alice = with_email(world, "alice", "fr")
    bob = with_email(world, "bob", "en")
    post = world.post("alice", "@payez envoie 12€ à @bob")
    world.run()
    payment = world.payment_for(post)
    assert payment["state"] == PaymentState.AWAITING_CONFIRMATION

    [waiting] = inbox(world, alice, "confirmation_waiting")
    assert waiting.subject == "Un paiement attend votre confirmation"
    assert f"/confirm/{payment['confirm_token']}" in waiting.text
    assert "12,00" in waiting.text and "@bob" in waiting.text
    assert inbox(world, bob, MONEY_RECEIVED) == []

    confirm_payment(world.ctx, payment["confirm_token"], world.users["alice"])
    [received] = inbox(world, bob, MONEY_RECEIVED)
    assert "@alice sent you €12.00" in received.text


def test_the_sender_of_an_unclaimed_payment_is_told_before_it_comes_back(world: World) -> None:
    alice = with_email(world, "alice", "en")
    world.stranger("dave")
    world.post("alice", "@payez send €9 to @dave")
    world.run()
    assert inbox(world, alice, "claim_expiring") == []

    days = world.ctx.settings.claim_window_days
    world.later(days=days - 1, hours=1)
    assert send_claim_reminders(world.ctx) == 1
    [expiring] = inbox(world, alice, "claim_expiring")
    assert expiring.subject == "Your payment has not been claimed yet"
    assert "@dave has not yet claimed the €9.00" in expiring.text
    assert no_amount_in_subject(expiring)


def test_a_claim_credited_tells_the_claimant(world: World) -> None:
    dave = world.stranger("dave")
    world.post("alice", "@payez envoie 4€ à @dave")
    world.run()
    dave_id = world.signs_up("dave")
    with world.ctx.engine.begin() as conn:
        _ids, total = credit_held_payments(conn, world.ctx, "memory", dave.id, dave_id)
    assert total == Money.eur(400)
    [received] = inbox(world, "dave@example.org", MONEY_RECEIVED)
    assert "@alice vous a envoyé 4,00" in received.text


def test_an_executed_payout_is_told(world: World, tmp_path: Path) -> None:
    bob = with_email(world, "bob", "fr")
    payout = request_payout(
        world.ctx, handle="@bob", amount=Money.eur(2_000), iban=IBAN, creditor_name="Bob"
    )
    batch = export_payouts(world.ctx, tmp_path / "batch.xml").batch_id
    assert batch is not None
    assert inbox(world, bob, "payout_executed") == []
    mark_batch_executed(world.ctx, batch)
    [executed] = inbox(world, bob, "payout_executed")
    assert executed.subject == "Votre virement a été exécuté"
    assert "20,00" in executed.text and "/payouts" in executed.text
    assert executed.idempotency_key == f"email:payout_executed:payout:{payout.payout_id}"


@pytest.fixture
def web(sqlite_url: str) -> Iterator[WebWorld]:
    with web_world(sqlite_url) as world:
        yield world


def test_the_settings_page_switches_each_email(web: WebWorld) -> None:
    browser = web.browser()
    browser.sign_up("erin@example.org", "Erin")
    page = browser.client.get("/settings").text
    for name in ("money_received", "confirmation_waiting", "claim_expiring", "payout_executed"):
        assert re.search(rf'id="email_{name}"[^>]*checked', page), name

    token = browser.token("/settings")
    saved = browser.client.post(
        "/settings",
        data={"csrf_token": token, "language": "fr", "email": ["money_received"]},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with web.world.ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.email_money_received, users.c.email_payout_executed).where(
                users.c.email == "erin@example.org"
            )
        ).one()
    assert tuple(row) == (True, False)

    refused = browser.client.post(
        "/settings",
        data={"csrf_token": token, "language": "fr", "email": ["everything"]},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    forged = browser.client.post(
        "/settings", data={"csrf_token": "forged", "language": "fr"}, follow_redirects=False
    )
    assert forged.status_code == 403
    with web.world.ctx.engine.connect() as conn:
        still = conn.execute(
            sa.select(users.c.email_money_received).where(users.c.email == "erin@example.org")
        ).scalar_one()
    assert still is True
