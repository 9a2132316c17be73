"""Merchants on the web app: listings checked on the way in, posted (pasted back or published on
the sandbox as the merchant, through the network port), bought by a reply through the
pipeline, orders seen only by their merchant, refunds that move money once."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.listing_details import listing_details
from payez.adapters.db.tables.payments import listings, orders
from payez.domain.payments import PaymentState
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.send_outbox import send_outbox
from tests.integration.merchants_world import member, shop_on_sandbox
from tests.integration.web_world import (
    Browser,
    WebWorld,
    authorize_on_sandbox,
    web_world,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
_LISTING = re.compile(r"/listings/(\d+)$")


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def _count(web: WebWorld, table: sa.Table) -> int:
    with web.world.ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _new_listing(
    shop: Browser, title: str, price: str, stock: str = "3", picture: bytes | None = None
) -> tuple[int, str]:
    files = {"picture": ("photo.png", picture, "image/png")} if picture is not None else None
    answer = shop.client.post(
        "/merchant/listings",
        data={
            "title": title,
            "price": price,
            "stock": stock,
            "csrf_token": shop.token("/merchant"),
        },
        files=files,
        follow_redirects=False,
    )
    return answer.status_code, answer.headers.get("location", "") or html.unescape(answer.text)


def test_bad_prices_are_refused_with_a_clear_error_and_nothing_is_created(web: WebWorld) -> None:
    shop = member(web, "boutique", kind="merchant")
    for price, message in [
        ("12,999", "deux décimales au plus"),
        ("-5", "deux décimales au plus"),
        ("1e3", "deux décimales au plus"),
        ("12.5.0", "deux décimales au plus"),
        ("", "deux décimales au plus"),
        ("0", "plafond d'un paiement"),
        ("99999999", "plafond d'un paiement"),
        ("1 000 000,00", "plafond d'un paiement"),
    ]:
        status, page = _new_listing(shop, "Mug", price)
        assert status == 400, price
        assert message in page, price
    assert _new_listing(shop, "Mug", "12,50", stock="0")[0] == 400
    assert _new_listing(shop, "", "12,50")[0] == 400
    assert _count(web, listing_details) == 0

    status, location = _new_listing(shop, "Mug", "12,50 €")
    assert status == 303
    with web.world.ctx.engine.connect() as conn:
        (price_cents,) = conn.execute(sa.select(listing_details.c.price_cents)).scalars().all()
    assert price_cents == 1250
    draft = shop.get(location)
    assert draft.status_code == 200
    assert "Mug — 12,50" in draft.text
    assert "@payez j'achète" in html.unescape(draft.text)
    assert "@payez buy" in html.unescape(draft.text)


def test_pictures_are_checked_and_served_as_images(sqlite_url: str) -> None:
    with web_world(sqlite_url) as web:
        shop = member(web, "boutique", kind="merchant")
        status, page = _new_listing(shop, "Mug", "8", picture=b"<script>alert(1)</script>")
        assert status == 400 and "JPEG, PNG, GIF ou WebP" in page
        status, page = _new_listing(shop, "Mug", "8", picture=PNG + b"\x00" * 1_000_000)
        assert status == 400
        assert _count(web, listing_details) == 0
        status, location = _new_listing(shop, "Mug", "8", picture=PNG)
        assert status == 303
        post = web.world.post("boutique", "Mug — 8 €")
        attached = shop.submit(
            location + "/attach", {"network": "memory", "post": post.id}, form_page=location
        )
        assert attached.status_code == 303, attached.text
        listing_path = attached.headers["location"]
        picture = web.browser().get(listing_path + "/picture")
        assert picture.status_code == 200
        assert picture.content == PNG
        assert picture.headers["content-type"] == "image/png"
        assert picture.headers["x-content-type-options"] == "nosniff"


def test_pages_of_merchants_are_not_found_for_others(web: WebWorld) -> None:
    shop = member(web, "boutique", kind="merchant")
    other_shop = member(web, "epicerie", kind="merchant")
    person = member(web, "alice")
    _status, location = _new_listing(shop, "Mug", "8")
    assert person.get("/merchant").status_code == 404
    assert person.get(location).status_code == 404
    assert other_shop.get(location).status_code == 404
    assert other_shop.get("/merchant").status_code == 200
    assert web.browser().get("/merchant").status_code == 303  # to the login page


def test_a_pasted_post_must_be_the_merchants_own(web: WebWorld) -> None:
    shop = member(web, "boutique", kind="merchant")
    member(web, "alice")
    _status, location = _new_listing(shop, "Mug", "8")
    someone_elses = web.world.post("alice", "Mug — 8 €")
    refused = shop.submit(
        location + "/attach", {"network": "memory", "post": someone_elses.id}, form_page=location
    )
    assert refused.status_code == 400
    assert "pas été publié par un de vos comptes" in html.unescape(refused.text)
    unknown_network = shop.submit(
        location + "/attach", {"network": "x", "post": "123"}, form_page=location
    )
    assert unknown_network.status_code == 400
    assert _count(web, listings) == 0
    own = web.world.post("boutique", "Mug — 8 €")
    url = f"https://social.example/@boutique/{own.id}/"
    attached = shop.submit(
        location + "/attach", {"network": "memory", "post": url}, form_page=location
    )
    assert attached.status_code == 303
    again = shop.submit(
        location + "/attach", {"network": "memory", "post": url}, form_page=location
    )
    assert again.headers["location"] == attached.headers["location"]
    assert _count(web, listings) == 1


def test_orders_are_seen_by_their_merchant_only_and_refunded_once(web: WebWorld) -> None:
    world = web.world
    shop = member(web, "boutique", kind="merchant")
    other_shop = member(web, "epicerie", kind="merchant")
    buyer = member(web, "alice", cents=5_000)
    _status, location = _new_listing(shop, "Affiche", "12,50", stock="2")
    post = world.post("boutique", "Affiche — 12,50 €")
    attached = shop.submit(
        location + "/attach", {"network": "memory", "post": post.id}, form_page=location
    )
    listing_id = int(_LISTING.search(attached.headers["location"]).group(1))  # type: ignore[union-attr]
    reply = world.post("alice", "@payez j'achète", in_reply_to=post.id)
    world.run()
    assert world.payment_for(reply)["state"] == PaymentState.SETTLED
    assert world.balance("boutique") == 1250
    page = web.browser().get(f"/listings/{listing_id}")
    assert page.status_code == 200 and "12,50" in page.text and "1" in page.text

    orders_page = shop.get(f"/merchant/listings/{listing_id}/orders")
    assert orders_page.status_code == 200
    assert "Alice" in orders_page.text and "12,50" in orders_page.text
    assert other_shop.get(f"/merchant/listings/{listing_id}/orders").status_code == 404
    assert buyer.get(f"/merchant/listings/{listing_id}/orders").status_code == 404
    with world.ctx.engine.connect() as conn:
        order_id = conn.execute(sa.select(orders.c.id)).scalar_one()

    # Another merchant cannot refund it (it does not exist for them), nor can the buyer.
    assert (
        other_shop.submit(
            f"/merchant/orders/{order_id}/refund", {}, form_page="/merchant"
        ).status_code
        == 404
    )
    assert (
        buyer.submit(f"/merchant/orders/{order_id}/refund", {}, form_page="/dashboard").status_code
        == 404
    )
    no_csrf = shop.client.post(f"/merchant/orders/{order_id}/refund", follow_redirects=False)
    assert no_csrf.status_code == 403
    assert world.balance("boutique") == 1250

    first = shop.submit(f"/merchant/orders/{order_id}/refund", {}, form_page="/merchant")
    assert first.status_code == 303
    second = shop.submit(f"/merchant/orders/{order_id}/refund", {}, form_page="/merchant")
    assert second.status_code == 400
    assert world.balance("boutique") == 0
    assert world.balance("alice") == 5_000
    assert "Remboursée" in shop.get("/merchant").text
    world.assert_ledger_sound()


def test_publish_on_the_sandbox_then_a_buy_reply_settles(database_url: str) -> None:
    with shop_on_sandbox(database_url) as (sandbox, world, network, web, shop):
        _status, location = _new_listing(shop, "Tote bag", "15", stock="1")
        # Linked without leave to post: the page says how to give it, and offers no button.
        draft = shop.get(location)
        assert "Publier en tant que @boutique" not in draft.text
        assert 'href="/onboarding/link/sandbox"' in draft.text
        # The merchant links the account through OAuth, as on the onboarding page: a
        # merchant is asked leave to post too.
        back = authorize_on_sandbox(shop, "/onboarding/link/sandbox", "boutique", "pw-boutique")
        assert back.headers["location"] == "/onboarding?done=link", back.text
        draft = shop.get(location)
        assert "Publier en tant que @boutique" in draft.text

        published = shop.submit(location + "/publish", {"language": "fr"}, form_page=location)
        assert published.status_code == 303, published.text
        again = shop.submit(location + "/publish", {"language": "fr"}, form_page=location)
        assert again.headers["location"] == published.headers["location"]
        with world.ctx.engine.connect() as conn:
            listing = conn.execute(sa.select(listings)).one()
        assert listing.network == "sandbox" and listing.price_cents == 1500
        status = sandbox.client("boutique").status(listing.post_id)
        assert "Tote bag" in status["content"]
        assert len(sandbox.client("boutique").account_statuses(status["account"]["id"])) == 1
        # The worker's sender finds nothing left to post: still one status.
        send_outbox(world.ctx)
        assert len(sandbox.client("boutique").account_statuses(status["account"]["id"])) == 1

        sandbox.client("bob").status_post("@payez j'achète", in_reply_to_id=listing.post_id)
        poll_mentions(world.ctx, network)
        process_until_empty(world.ctx)
        send_outbox(world.ctx)
        assert world.balance("boutique") == 1500
        assert world.balance("bob") == 1500
        with world.ctx.engine.connect() as conn:
            order = conn.execute(sa.select(orders)).one()
            stock = conn.execute(sa.select(listings.c.stock)).scalar_one()
        assert order.amount_cents == 1500 and order.state == "paid"
        assert stock == 0
        page = web.browser().get(published.headers["location"])
        assert "Épuisé" in page.text
        assert "Bob" in shop.get("/merchant").text
        world.assert_ledger_sound()
