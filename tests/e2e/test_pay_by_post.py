"""End to end: users post with the real Mastodon.py client on the sandbox network; the service
reads them through its real Mastodon adapter, moves the money, and replies on the network."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from payez.adapters.db.ledger import check_ledger
from payez.service.expire_payments import refund_expired_claims, send_claim_reminders
from tests.e2e.service_world import ServiceWorld, start_world


def _sign_up(http: httpx.Client, email: str, back_to: str) -> None:
    """Open a Payez login, as the claim page asks a newcomer to, and come back to ``back_to``."""
    form = http.get(f"/signup?next={back_to}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    done = http.post(
        "/signup",
        data={
            "csrf_token": csrf.group(1),
            "display_name": email.split("@")[0],
            "email": email,
            "password": "correct horse battery",
            "next": back_to,
        },
    )
    assert done.status_code == 200 and str(done.url).endswith(back_to), done.text


def test_alice_pays_bob_and_gets_a_reply(world: ServiceWorld) -> None:
    status = world.post("alice", "@payez envoie 12,50€ à @bob merci pour le ciné")
    world.step()
    assert world.balance("alice") == 50_000 - 1250
    assert world.balance("bob") == 50_000 + 1250
    (reply,) = world.replies_to(status)
    assert "12,50" in reply
    assert "@bob" in reply
    world.step()  # nothing new: nothing moves again, nothing is posted again
    assert world.balance("bob") == 51_250
    assert len(world.replies_to(status)) == 1
    assert check_ledger(world.engine).ok


def test_alice_donates_to_restos(world: ServiceWorld) -> None:
    world.post("alice", "@payez send €400 to @restos for the winter")
    world.step()
    assert world.balance("restos") == 40_000


def test_carol_buys_from_the_boutique_listing(world: ServiceWorld) -> None:
    boutique = world.client("carol").account_lookup("boutique")
    (listing,) = world.client("carol").account_statuses(boutique["id"])
    purchase = world.post("carol", "@boutique @payez j'achète", in_reply_to_id=listing["id"])
    world.step()
    assert world.balance("boutique") == 1500
    assert world.balance("carol") == 50_000 - 1500
    (reply,) = world.replies_to(purchase)
    assert "T-shirt" in reply


def test_alice_pays_a_newcomer_who_claims_through_oauth(world: ServiceWorld) -> None:
    status = world.post("alice", "@payez envoie 10€ à @dave bienvenue !")
    world.step()
    assert world.balance("alice") == 49_000
    (reply,) = world.replies_to(status)
    token = world.link_in(reply, "claim")
    with world.http() as http:
        page = http.get(f"/claim/{token}", headers={"accept-language": "en"})
        assert page.status_code == 200
        assert "€10.00" in page.text
        _sign_up(http, "dave@example.org", f"/claim/{token}")
        # The claim button leads to the network's own login page (OAuth authorization code).
        login = http.get(f"/claim/{token}/start")
        assert "/sandbox/oauth/authorize" in str(login.url)
        form = {k: v[0] for k, v in parse_qs(urlsplit(str(login.url)).query).items()}
        form.update(username="dave", password=world.passwords["dave"])
        done = http.post("/sandbox/oauth/authorize", data=form)
        assert done.status_code == 200, done.text
        assert "10,00" in done.text or "10.00" in done.text
    assert world.balance("dave") == 1000
    assert check_ledger(world.engine).ok


def test_someone_else_cannot_claim_the_newcomers_money(world: ServiceWorld) -> None:
    status = world.post("alice", "@payez envoie 10€ à @dave")
    world.step()
    token = world.link_in(world.replies_to(status)[0], "claim")
    with world.http() as http:
        _sign_up(http, "carol.web@example.org", f"/claim/{token}")
        login = http.get(f"/claim/{token}/start")
        form = {k: v[0] for k, v in parse_qs(urlsplit(str(login.url)).query).items()}
        form.update(username="carol", password=world.passwords["carol"])
        refused = http.post("/sandbox/oauth/authorize", data=form)
        assert refused.status_code == 403
    assert world.balance("carol") == 50_000
    assert world.balance("alice") == 49_000  # still held for dave


def test_unclaimed_payment_is_refunded_at_expiry(world: ServiceWorld) -> None:
    status = world.post("alice", "@payez envoie 10€ à @dave")
    world.step()
    world.later(days=6, hours=12)
    assert send_claim_reminders(world.ctx) == 1
    world.later(days=1)
    assert refund_expired_claims(world.ctx) == 1
    world.step()
    assert world.balance("alice") == 50_000
    assert len(world.replies_to(status)) == 3  # the claim link, the reminder, the refund
    assert check_ledger(world.engine).ok


@pytest.mark.parametrize(
    ("text", "expected_words"),
    [
        ("@payez envoie 300€ à @bob", ["250"]),
        ("@payez envoie 5€ à @alice", []),
        ("@payez envoie cinq euros à @bob", []),
    ],
)
def test_refused_commands_get_a_reply_and_move_nothing(
    world: ServiceWorld, text: str, expected_words: list[str]
) -> None:
    status = world.post("alice", text)
    world.step()
    (reply,) = world.replies_to(status)
    for word in expected_words:
        assert word in reply
    assert world.balance("alice") == 50_000
    assert world.balance("bob") == 50_000


def test_unlinked_sender_is_told_how_to_join(world: ServiceWorld) -> None:
    status = world.post("dave", "@payez envoie 5€ à @bob")
    world.step()
    (reply,) = world.replies_to(status)
    assert "http" in reply
    assert world.balance("bob") == 50_000


def test_boost_and_quote_move_nothing(world: ServiceWorld) -> None:
    status = world.post("alice", "@payez envoie 5€ à @bob")
    world.step()
    world.client("carol").status_reblog(status["id"])
    world.post("carol", "@payez envoie 5€ à @bob", quoted_status_id=status["id"])
    world.step()
    assert world.balance("bob") == 50_500
    assert world.balance("carol") == 50_000


def test_edited_command_is_paid_once_for_its_original_text(world: ServiceWorld) -> None:
    status = world.post("alice", "@payez envoie 5€ à @bob")
    world.step()
    world.client("alice").status_update(status["id"], "@payez envoie 50€ à @bob")
    world.step()
    assert world.balance("bob") == 50_500
    assert len(world.replies_to(status)) == 1


def test_command_deleted_before_settlement_moves_nothing(database_url: str) -> None:
    w = start_world(database_url, confirm="always")
    try:
        status = w.post("alice", "@payez envoie 20€ à @bob")
        w.step()
        assert w.balance("bob") == 50_000
        w.client("alice").status_delete(status["id"])
        from payez.adapters.db import payments as payments_repo
        from payez.service.confirm_payment import confirm_payment
        from payez.service.errors import ConfirmationClosed

        with w.engine.connect() as conn:
            payment = payments_repo.by_inbox_ids(conn, [1])[1]
        with pytest.raises(ConfirmationClosed):
            confirm_payment(w.ctx, payment.confirm_token or "", payment.sender_user_id or 0)
        assert w.balance("alice") == 50_000
        assert w.balance("bob") == 50_000
        assert check_ledger(w.engine).ok
    finally:
        w.server.stop()
        w.engine.dispose()
