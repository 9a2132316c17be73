"""Payment requests on a real database (SQLite and PostgreSQL): made in the web app, opened by
anyone at /r/<code>, paid from the sandbox's compose page the request's button opens, and the
payment linked to the request on both dashboards. Paid once, many times, cancelled, expired;
bad input writes nothing; the opt-in public page /@<handle>."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.payment_requests import payment_requests, public_profiles
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.entrypoints.web.app import create_app
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.time_zones import zone_of
from tests.integration.merchants_world import member
from tests.integration.pipeline_world import World
from tests.integration.sandbox_server import running_sandbox
from tests.integration.statements import is_read, statements_sent
from tests.integration.web_world import Browser, WebWorld, web_world

_REQUEST = re.compile(r"^/dashboard/requests/(\d+)$")
_LINK = re.compile(r'id="request-link" href="[^"]*/r/([a-z0-9]+)"')
_BUTTON = re.compile(r'id="pay-([a-z]+)" href="([^"]+)"')
_DRAFT = re.compile(r'<textarea id="status" name="status"[^>]*>(.*?)</textarea>', re.S)
_ACCOUNT = re.compile(r'<option value="(\d+)"[^>]*>@([a-z0-9_]+) ')


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def _create(browser: Browser, **fields: str) -> str:
    """Create a request from the form; returns its code."""
    data = {"amount": "12,50", "reason": "pour le restaurant", "uses": "once", **fields}
    made = browser.submit("/dashboard/requests", data)
    assert made.status_code == 303, made.text
    assert _REQUEST.match(made.headers["location"]), made.headers["location"]
    page = browser.get(made.headers["location"])
    assert page.status_code == 200
    found = _LINK.search(page.text)
    assert found, page.text
    return found.group(1)


def _buttons(page: str) -> dict[str, str]:
    return {network: html.unescape(url) for network, url in _BUTTON.findall(page)}


def _text_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["text"][0]


def _requests_count(web: WebWorld) -> int:
    with web.world.ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(payment_requests)).scalar())


def test_a_request_is_paid_from_the_sandbox_compose_page_and_linked(database_url: str) -> None:
    with running_sandbox(database_url) as sandbox:
        world = World.create(database_url, base_url=sandbox.server.url)
        sandbox.user("payez")
        network = MastodonNetwork(sandbox.api_base_url, sandbox.token("payez"), name="sandbox")
        world.ctx.networks = {**world.ctx.networks, "sandbox": network}
        web = WebWorld(world, create_app(world.ctx))
        try:
            sandbox.user("alice")
            sandbox.user("bob")
            alice_account = network.resolve_handle("alice")
            bob_account = network.resolve_handle("bob")
            assert alice_account and bob_account
            alice = member(web, "alice", account=alice_account, network="sandbox")
            bob = member(web, "bob", cents=5_000, account=bob_account, network="sandbox")
            code = _create(alice)

            visitor = web.browser()
            page = visitor.get(f"/r/{code}")
            assert page.status_code == 200
            text = html.unescape(page.text)
            assert "Alice" in text and "« pour le restaurant »" in text and "12,50" in text
            buttons = _buttons(page.text)
            # Alice is linked on the sandbox only: one button, the sandbox's compose page.
            assert list(buttons) == ["sandbox"]
            url = buttons["sandbox"]
            assert url.startswith(f"{sandbox.server.url}/sandbox/?text=")
            command = f"@payez envoie 12,50\u00a0€ à @alice #r{code} pour le restaurant"
            assert _text_of(url) == command
            english = web.browser(**{"accept-language": "en"}).get(f"/r/{code}")
            assert _text_of(_buttons(english.text)["sandbox"]) == (
                f"@payez send €12.50 to @alice #r{code} pour le restaurant"
            )

            with httpx.Client(timeout=10) as network_browser:
                compose = network_browser.get(url)
                assert compose.status_code == 200
                drafted = _DRAFT.search(compose.text)
                assert drafted and html.unescape(drafted.group(1)) == command
                accounts = {name: value for value, name in _ACCOUNT.findall(compose.text)}
                posted = network_browser.post(
                    f"{sandbox.api_base_url}/statuses",
                    data={
                        "account_id": accounts["bob"],
                        "status": html.unescape(drafted.group(1)),
                        "visibility": "public",
                    },
                )
                assert posted.status_code == 303, posted.text
            poll_mentions(world.ctx, network)
            process_until_empty(world.ctx)
            assert world.balance("alice") == 1250
            assert world.balance("bob") == 5_000 - 1250

            # The requester sees it paid, with its payment; the payer's history says for what.
            mine = html.unescape(alice.get("/dashboard/requests").text)
            assert "Payée · 1 paiement(s) · 12,50" in mine
            request_path = re.search(r'href="(/dashboard/requests/\d+)"', mine)
            assert request_path
            detail = alice.get(request_path.group(1))
            assert "@bob (sandbox)" in detail.text and 'id="request-state"' in detail.text
            assert ">Payée" in detail.text
            assert "request_cancel" not in detail.text and "Annuler la demande" not in detail.text
            history = html.unescape(bob.get("/dashboard").text)
            assert "pour la demande « pour le restaurant »" in history
            # Paid once: the page says so and offers no button any more.
            again = web.browser().get(f"/r/{code}")
            assert "Cette demande a déjà été payée." in html.unescape(again.text)
            assert _buttons(again.text) == {}
            world.assert_ledger_sound()
        finally:
            web.close()


def test_paid_many_times_only_by_its_reference_then_cancelled(web: WebWorld) -> None:
    world = web.world
    alice = member(web, "alice")
    carol_browser = member(web, "carol")
    bob = member(web, "bob", cents=5_000)
    member(web, "dan", cents=5_000)
    code = _create(alice, amount="", reason="cagnotte du pot", uses="many")
    page = html.unescape(web.browser().get(f"/r/{code}").text)
    assert "Montant en euros" in page  # any amount: the payer types it first
    # Alice is linked on the in-memory network only: no compose page to offer.
    chosen = html.unescape(web.browser().get(f"/r/{code}?amount=7").text)
    assert "Cette personne n'a aucun compte sur un réseau que Payez écoute." in chosen

    world.post("bob", f"@payez envoie 5€ à @alice #r{code} merci")
    world.post("dan", f"@payez send €7 to @alice #R{code.upper()}")
    world.post("dan", "@payez envoie 3€ à @alice sans référence")
    world.post("dan", f"@payez envoie 4€ à @alice #r{code}x pas la bonne")
    world.post("bob", f"@payez envoie 2€ à @carol #r{code} pas à elle")
    with statements_sent(world.ctx.engine) as statements:
        world.run()
    assert world.balance("alice") == 5_00 + 7_00 + 3_00 + 4_00
    # Deciding the batch reads the requests its memos name once, and never writes to them:
    # the links are read when a page is shown.
    touching = [q for q in statements if "payment_requests" in q]
    assert len(touching) == 1 and is_read(touching[0]), touching

    listing = html.unescape(alice.get("/dashboard/requests").text)
    assert "Ouverte · 2 paiement(s) · 12,00" in listing
    request_path = re.search(r'href="(/dashboard/requests/\d+)"', listing)
    assert request_path
    detail = html.unescape(alice.get(request_path.group(1)).text)
    assert "@bob (memory)" in detail and "@dan (memory)" in detail
    assert "Reçu en tout : 12,00" in detail
    assert "for request" not in html.unescape(carol_browser.get("/dashboard").text)
    history = html.unescape(bob.get("/dashboard").text)
    assert history.count("pour la demande « cagnotte du pot »") == 1
    payment_paths = re.findall(r'href="(/dashboard/payments/\d+)"', history)
    assert len(payment_paths) == 2
    details = [html.unescape(bob.get(path).text) for path in payment_paths]
    assert ["pour la demande « cagnotte du pot »" in detail for detail in details] == [
        False,  # the newest: to carol, who made no such request
        True,
    ]

    # Another member cannot see nor cancel it; its owner can, once.
    assert bob.get(request_path.group(1)).status_code == 404
    refused = bob.submit(f"{request_path.group(1)}/cancel", {}, form_page="/dashboard/requests")
    assert refused.status_code == 404
    huge = alice.submit(f"/dashboard/requests/{2**70}/cancel", {}, form_page="/dashboard/requests")
    assert huge.status_code == 404
    assert "Ouverte" in html.unescape(alice.get("/dashboard/requests").text)
    cancelled = alice.submit(f"{request_path.group(1)}/cancel", {}, form_page=request_path.group(1))
    assert cancelled.status_code == 303
    page = html.unescape(web.browser().get(f"/r/{code}?amount=5").text)
    assert "Cette demande a été annulée." in page and "Montant en euros" not in page
    assert "Annulée · 2 paiement(s)" in html.unescape(alice.get("/dashboard/requests").text)
    # A payment naming it now is refused: its payer meant the cancelled request.
    late = world.post("dan", f"@payez envoie 5€ à @alice #r{code}")
    world.run()
    assert world.payment_for(late)["reason"] == "request_closed"
    assert world.balance("alice") == 19_00


def test_a_paid_once_request_refuses_the_payments_that_name_it_after_the_first(
    web: WebWorld,
) -> None:
    world = web.world
    alice = member(web, "alice")
    member(web, "bob", cents=5_000)
    member(web, "dan", cents=5_000)
    code = _create(alice)  # 12,50 €, paid once
    command = f"@payez envoie 12,50€ à @alice #r{code} pour le restaurant"
    first = world.post("bob", command)
    second = world.post("dan", command)  # in the same batch: it finds the request paid
    world.run()
    assert world.payment_for(first)["state"] == "settled"
    assert world.payment_for(second)["reason"] == "request_closed"
    (reply,) = world.replies_to(second)
    assert "cette demande de paiement est close" in reply and "pas été débité" in reply
    later = world.post("dan", f"@payez send €12.50 to @alice #R{code.upper()}")  # a later batch
    world.run()
    assert world.payment_for(later)["reason"] == "request_closed"
    assert "this payment request is closed" in world.replies_to(later)[0]
    assert (world.balance("alice"), world.balance("bob"), world.balance("dan")) == (
        1250,
        5_000 - 1250,
        5_000,
    )

    # The reference counts only in a payment to the request's owner; a batch naming no
    # request reads none.
    elsewhere = world.post("dan", f"@payez envoie 2€ à @bob #r{code}")
    world.run()
    assert world.payment_for(elsewhere)["state"] == "settled"
    plain = world.post("dan", "@payez envoie 1€ à @alice merci pour hier")
    with statements_sent(world.ctx.engine) as statements:
        world.run()
    assert world.payment_for(plain)["state"] == "settled"
    assert statements and not [q for q in statements if "payment_requests" in q]
    assert "Payée · 1 paiement(s) · 12,50" in html.unescape(alice.get("/dashboard/requests").text)
    world.assert_ledger_sound()


def test_an_expired_request_offers_nothing(web: WebWorld) -> None:
    world = web.world
    world.ctx.networks = {**world.ctx.networks, "x": world.network}
    alice = member(web, "alice", network="x")
    today = world.clock.now().astimezone(zone_of("Europe/Paris")).date()
    code = _create(alice, expires_on=today.isoformat())
    page = web.browser().get(f"/r/{code}")
    assert list(_buttons(page.text)) == ["x"]
    world.later(hours=36)
    page = web.browser().get(f"/r/{code}")
    assert "Cette demande a expiré." in html.unescape(page.text)
    assert _buttons(page.text) == {}
    assert "Expirée" in alice.get("/dashboard/requests").text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amount": "250,01"}, "limites d'un paiement. De 0,50 € à 250,00 €."),
        ({"amount": "-5"}, "Montant illisible"),
        ({"amount": "douze"}, "Montant illisible"),
        ({"amount": "0"}, "limites d'un paiement. De 0,50 € à 250,00 €."),
        ({"reason": "x" * 81}, "motif de 1 à 80 caractères"),
        ({"reason": "resto\x07"}, "sans caractères de contrôle"),
        ({"reason": "a\u202eb"}, "caractère invisible interdit"),  # the forms' own guard
        ({"reason": "a\u200bb"}, "sans caractères de contrôle"),
        ({"reason": "   "}, "motif de 1 à 80 caractères"),
        ({"uses": "twice"}, "payée une fois"),
        ({"expires_on": "2020-01-01"}, "Date d'expiration invalide"),
        ({"expires_on": "demain"}, "Date d'expiration invalide"),
    ],
)
def test_bad_input_is_refused_clearly_and_writes_nothing(
    web: WebWorld, fields: dict[str, str], message: str
) -> None:
    alice = member(web, "alice")
    data = {"amount": "12,50", "reason": "pour le restaurant", "uses": "once", **fields}
    answer = alice.submit("/dashboard/requests", data)
    assert answer.status_code == 400
    assert message in html.unescape(answer.text).replace("\xa0", " ")
    if "invisible" not in message:  # the forms' guard answers before the form is shown
        page = html.unescape(answer.text).replace("\xa0", " ")
        assert "plafond d'un paiement : 250,00 €." in page
    assert _requests_count(web) == 0


def test_a_member_without_a_linked_account_is_told_to_link_one(web: WebWorld) -> None:
    newcomer = web.browser()
    assert newcomer.sign_up("nina@example.org", name="Nina").status_code == 303
    answer = newcomer.submit("/dashboard/requests", {"amount": "5", "reason": "x", "uses": "once"})
    assert answer.status_code == 400
    assert "Reliez d'abord un compte" in html.unescape(answer.text)
    assert _requests_count(web) == 0


def test_the_public_profile_is_opt_in_and_asks_for_any_amount(web: WebWorld) -> None:
    world = web.world
    world.ctx.networks = {**world.ctx.networks, "x": world.network}
    alice = member(web, "alice", network="x")
    bob = member(web, "bob")
    assert web.browser().get("/@alice").status_code == 404
    settings = html.unescape(alice.get("/settings").text)
    assert "Page publique" in settings and "/@alice" in settings

    # Only one's own handles; a handle is one user's page.
    taken = bob.submit("/settings/profile", {"handle": "alice"}, form_page="/settings")
    assert taken.status_code == 400 and "l'un de vos comptes liés" in html.unescape(taken.text)
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(public_profiles)).all() == []
    saved = alice.submit("/settings/profile", {"handle": "@Alice"}, form_page="/settings")
    assert saved.status_code == 303
    page = web.browser().get("/@alice")
    assert page.status_code == 200 and "Payer Alice" in page.text
    assert _buttons(page.text) == {}
    chosen = web.browser().get("/@ALICE?amount=7,5")
    assert _buttons(chosen.text) == {
        "x": "https://x.com/intent/post?text=%40payez%20envoie%207%2C50%C2%A0%E2%82%AC%20%C3%A0%20%40alice"
    }
    too_much = web.browser().get("/@alice?amount=300")
    assert too_much.status_code == 400 and _buttons(too_much.text) == {}
    assert "De 0,50 € à 250,00 €." in html.unescape(too_much.text).replace("\xa0", " ")
    # Bob is linked on the in-memory network only: his page has no network to offer.
    assert (
        bob.submit("/settings/profile", {"handle": "bob"}, form_page="/settings").status_code == 303
    )
    assert _buttons(web.browser().get("/@bob?amount=5").text) == {}

    off = alice.submit("/settings/profile", {"handle": ""}, form_page="/settings")
    assert off.status_code == 303
    assert web.browser().get("/@alice").status_code == 404


def test_unknown_codes_are_not_found(web: WebWorld) -> None:
    visitor = web.browser()
    for code in ("abcdefgh", "ABCDEFGH", "x" * 200, "%00"):
        assert visitor.get(f"/r/{code}").status_code in (400, 404), code
    assert visitor.get("/dashboard/requests/99").status_code == 303  # log in first
    alice = member(web, "alice")
    assert alice.get("/dashboard/requests/99").status_code == 404


def test_a_frozen_requester_asks_nobody(web: WebWorld) -> None:
    alice = member(web, "alice")
    code = _create(alice)
    assert web.browser().get(f"/r/{code}").status_code == 200
    with web.world.ctx.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET status = 'frozen' WHERE id = :id"),
            {"id": web.world.users["alice"]},
        )
    assert web.browser().get(f"/r/{code}").status_code == 404


def test_an_amount_out_of_range_is_told_with_the_limits_configured_here(web: WebWorld) -> None:
    world = web.world
    world.ctx.settings = world.ctx.settings.with_overrides(
        max_person_payment_cents=10_000, min_payment_cents=100
    )
    alice = member(web, "alice")
    answer = alice.submit("/dashboard/requests", {"amount": "120", "reason": "x", "uses": "once"})
    assert answer.status_code == 400
    page = html.unescape(answer.text).replace("\xa0", " ")
    assert "limites d'un paiement. De 1,00 € à 100,00 €." in page
    english = alice.get("/dashboard/requests?lang=en")
    assert english.status_code == 200
    answer = alice.submit("/dashboard/requests", {"amount": "0,50", "reason": "x", "uses": "once"})
    assert "limits of one payment. From €1.00 to €100.00." in html.unescape(answer.text).replace(
        "\xa0", " "
    )
    assert _requests_count(web) == 0
