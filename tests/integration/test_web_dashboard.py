"""The dashboard, history, CSV export, settings and languages — each user sees only their own."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from payez.adapters.db import web_accounts
from payez.adapters.db.tables.payments import users
from payez.domain.money import Money
from payez.service.link_social_account import link_social_account
from payez.service.load_wallet import load_wallet
from tests.integration.web_world import Browser, WebWorld, web_world

SMALL_PAYMENTS = 20


@dataclass
class Payments:
    web: WebWorld
    alice: Browser
    bob: Browser
    eve: Browser
    pizza: int  # alice -> bob, settled
    to_carol: int  # alice -> carol (not on Payez), held for claim
    cinema: int  # bob -> alice, settled
    rent: int  # alice -> bob, awaiting confirmation
    claim_token: str
    confirm_token: str


def _member(web: WebWorld, email: str, handle: str, cents: int) -> Browser:
    browser = web.browser()
    assert browser.sign_up(email, name=handle.title()).status_code == 303
    user_id = browser.user_id()
    world = web.world
    account = world.network.add_account(handle)
    link_social_account(world.ctx, user_id, "memory", account)
    with world.ctx.engine.begin() as conn:
        if cents:
            load_wallet(conn, user_id, Money.eur(cents), f"load:{handle}")
        web_accounts.update_user(conn, user_id, identity_verified=True)
    world.users[handle] = user_id
    world.accounts[handle] = account
    return browser


@pytest.fixture
def payments(database_url: str) -> Iterator[Payments]:
    with web_world(database_url) as web:
        world = web.world
        alice = _member(web, "alice@example.org", "alice", 10_000)
        bob = _member(web, "bob@example.org", "bob", 1_000)
        eve = _member(web, "eve@example.org", "eve", 0)
        world.stranger("carol")
        pizza = world.post("alice", "@payez envoie 10€ à @bob merci pizza")
        to_carol = world.post("alice", "@payez envoie 5€ à @carol")
        cinema = world.post("bob", "@payez envoie 3,50€ à @alice cinéma")
        for n in range(SMALL_PAYMENTS):
            world.post("alice", f"@payez envoie 1€ à @bob café {n}")
        world.run()
        world.ctx.settings = world.ctx.settings.with_overrides(confirm="always")
        rent = world.post("alice", "@payez envoie 40€ à @bob loyer")
        world.run()
        rows = {p: world.payment_for(p) for p in (pizza, to_carol, cinema, rent)}
        assert [rows[p]["state"] for p in (pizza, to_carol, cinema, rent)] == [
            "settled",
            "held_for_claim",
            "settled",
            "awaiting_confirmation",
        ]
        yield Payments(
            web,
            alice,
            bob,
            eve,
            rows[pizza]["id"],
            rows[to_carol]["id"],
            rows[cinema]["id"],
            rows[rent]["id"],
            rows[to_carol]["claim_token"],
            rows[rent]["confirm_token"],
        )


def _ids(browser: Browser, **query: object) -> list[int]:
    answer = browser.client.get("/api/v1/me/payments", params={"per_page": 100, **query})
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_dashboard_shows_balance_confirmations_claims_and_history(payments: Payments) -> None:
    alice = payments.alice
    balance = alice.client.get("/api/v1/me/balance").json()
    # 100 € loaded, 10 + 5 + 20 × 1 sent, 3,50 € received; the 40 € awaits confirmation.
    assert balance["balance"] == {"cents": 10_000 - 1_000 - 500 - 2_000 + 350, "currency": "EUR"}
    assert all(type(v["cents"]) is int for v in balance.values())
    page = alice.get("/dashboard")
    assert page.status_code == 200
    assert Money.eur(balance["balance"]["cents"]).format("fr") in page.text  # 68,50 €
    assert f'href="/confirm/{payments.confirm_token}"' in page.text
    assert "@carol" in page.text
    assert "1 / 2" in page.text  # 24 payments, 20 a page
    english = alice.get("/dashboard?lang=en")
    assert "€68.50" in english.text
    assert "Waiting to be claimed" in english.text


def test_history_search_and_pagination(payments: Payments) -> None:
    alice = payments.alice
    assert _ids(alice, q="pizza") == [payments.pizza]
    assert _ids(alice, q="@carol") == [payments.to_carol]
    assert _ids(alice, q="ciné") == [payments.cinema]
    assert _ids(alice, q="%") == []
    assert _ids(alice, q="_") == []
    first = alice.client.get("/api/v1/me/payments", params={"per_page": 10}).json()
    third = alice.client.get("/api/v1/me/payments", params={"per_page": 10, "page": 3}).json()
    assert first["total"] == third["total"] == SMALL_PAYMENTS + 4
    assert len(first["items"]) == 10 and len(third["items"]) == 4
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in third["items"]}
    assert first["items"][0]["id"] == payments.rent  # newest first
    page_two = alice.get("/dashboard?page=2")
    assert "2 / 2" in page_two.text
    assert alice.get("/dashboard?q=pizza").text.count("/dashboard/payments/") == 1


def test_csv_export_in_each_language(payments: Payments) -> None:
    alice = payments.alice
    french = alice.get("/dashboard/history.csv")
    assert french.status_code == 200
    assert french.headers["content-type"].startswith("text/csv")
    assert "attachment" in french.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(french.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Numéro", "Date", "Sens"]
    assert len(rows) == 1 + SMALL_PAYMENTS + 4
    by_id = {int(r[0]): r for r in rows[1:]}
    assert by_id[payments.pizza][3:6] == ["bob", "-10,00", "EUR"]
    assert by_id[payments.cinema][3:6] == ["bob", "3,50", "EUR"]
    assert by_id[payments.cinema][2] == "Reçu de"
    english = alice.get("/dashboard/history.csv?q=pizza&lang=en")
    rows = list(csv.reader(io.StringIO(english.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Number", "Date", "Direction"]
    assert [r[4] for r in rows[1:]] == ["-10.00"]


def test_memo_cannot_smuggle_a_spreadsheet_formula(payments: Payments) -> None:
    world = payments.web.world
    world.ctx.settings = world.ctx.settings.with_overrides(confirm="never")
    world.post("alice", '@payez envoie 1€ à @bob =HYPERLINK("http://x")')
    world.run()
    body = payments.alice.get("/dashboard/history.csv?q=hyperlink").text
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert [r[7] for r in rows[1:]] == ['\'=HYPERLINK("http://x")']


def test_no_user_sees_another_users_payments(payments: Payments) -> None:
    alice, bob, eve = payments.alice, payments.bob, payments.eve
    # Bob received the pizza money: he sees it, as received.
    assert bob.get(f"/dashboard/payments/{payments.pizza}").status_code == 200
    assert bob.client.get(f"/api/v1/me/payments/{payments.pizza}").json()["direction"] == (
        "received"
    )
    # Alice's payment to Carol, and the rent not yet confirmed, are none of Bob's business.
    private = (payments.to_carol, payments.rent)
    for payment_id in private:
        assert bob.get(f"/dashboard/payments/{payment_id}").status_code == 404
        api = bob.client.get(f"/api/v1/me/payments/{payment_id}")
        assert api.status_code == 404
        assert api.json()["error"]["code"] == "payment_not_found"
    assert not set(private) & set(_ids(bob))
    # Eve took part in nothing: every route answers 404 or shows her own, empty, account.
    for payment_id in (payments.pizza, payments.to_carol, payments.cinema, payments.rent):
        assert eve.get(f"/dashboard/payments/{payment_id}").status_code == 404
        assert eve.client.get(f"/api/v1/me/payments/{payment_id}").status_code == 404
    assert _ids(eve) == []
    assert eve.client.get("/api/v1/me/balance").json()["balance"]["cents"] == 0
    assert eve.client.get("/api/v1/me").json()["email"] == "eve@example.org"
    dashboard = eve.get("/dashboard").text
    for secret in ("pizza", "carol", "loyer", payments.confirm_token, payments.claim_token):
        assert secret not in dashboard
    assert len(eve.get("/dashboard/history.csv").text.strip().splitlines()) == 1
    assert "alice@example.org" not in eve.get("/settings").text
    # And Alice still sees all of hers.
    assert set(_ids(alice)) >= {payments.pizza, payments.to_carol, payments.cinema, payments.rent}
    assert alice.get(f"/dashboard/payments/{payments.to_carol}").status_code == 200


def test_unknown_or_malformed_payment_ids(payments: Payments) -> None:
    alice = payments.alice
    assert alice.get("/dashboard/payments/999999").status_code == 404
    assert alice.get("/dashboard/payments/abc").status_code == 400
    assert alice.client.get("/api/v1/me/payments/abc").status_code == 422


def test_settings_change_language_and_privacy(payments: Payments) -> None:
    eve = payments.eve
    saved = eve.submit("/settings", {"language": "en", "hide_amount": "1"})
    assert saved.status_code == 303
    with payments.web.world.ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.language, users.c.hide_amount).where(
                users.c.email == "eve@example.org"
            )
        ).one()
    assert (row.language, row.hide_amount) == ("en", True)
    # The choice sticks, whatever the browser says, on this browser and on a new one.
    page = eve.get("/dashboard", headers={"accept-language": "fr-FR,fr"})
    assert '<html lang="en">' in page.text
    other = payments.web.browser(**{"accept-language": "fr-FR"})
    other.log_in("eve@example.org")
    assert '<html lang="en">' in other.get("/dashboard").text
    refused = eve.submit("/settings", {"language": "de"})
    assert refused.status_code == 400
    assert eve.client.get("/api/v1/me").json()["language"] == "en"
    # Unchecking the box turns privacy off again.
    eve.submit("/settings", {"language": "en"})
    assert eve.client.get("/api/v1/me").json()["hide_amount"] is False


@pytest.mark.parametrize(
    ("accept", "lang", "text"),
    [
        ("en-US,en;q=0.9,fr;q=0.5", "en", "Pay by post"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr", "Payez par message"),
        ("de-DE,en;q=0.7", "en", "Pay by post"),
        ("", "fr", "Payez par message"),
    ],
)
def test_accept_language_picks_the_page_language(
    database_url: str, accept: str, lang: str, text: str
) -> None:
    with web_world(database_url) as web:
        page = web.browser(**{"accept-language": accept}).get("/")
        assert f'<html lang="{lang}">' in page.text
        assert text in page.text


def test_a_picked_language_sticks(database_url: str) -> None:
    with web_world(database_url) as web:
        browser = web.browser(**{"accept-language": "fr-FR"})
        assert '<html lang="en">' in browser.get("/?lang=en").text
        assert '<html lang="en">' in browser.get("/login").text
        assert '<html lang="fr">' in browser.get("/signup?lang=fr").text
        assert '<html lang="fr">' in browser.get("/").text
        # Signing up keeps the visitor's language as the account's.
        browser.get("/?lang=en")
        browser.sign_up("zoe@example.org")
        assert browser.client.get("/api/v1/me").json()["language"] == "en"
