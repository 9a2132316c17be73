"""The merchants' API: keys made on the Integrations page (read or write, revocable), used as
bearer tokens with no CSRF token; writes that a replay with the same Idempotency-Key does not
repeat; a listing made by the API and bought by a reply on the sandbox network."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.listing_details import listing_details
from payez.adapters.db.tables.merchant_api import api_keys
from payez.adapters.db.tables.payments import listings, orders
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from tests.integration.merchant_api_world import ApiClient, new_api_key
from tests.integration.merchants_world import member, shop_on_sandbox
from tests.integration.web_world import WebWorld, csrf_of, web_world

LISTINGS = "/api/v1/merchant/listings"


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def _count(web: WebWorld, table: sa.Table) -> int:
    with web.world.ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _error(answer: object) -> str:
    return str(answer.json()["error"]["code"])  # type: ignore[attr-defined]


def test_keys_read_write_and_revoked(web: WebWorld) -> None:
    world = web.world
    shop = member(web, "boutique", kind="merchant")
    reader = ApiClient(web, new_api_key(shop, "read", "stock sync"))
    writer = ApiClient(web, new_api_key(shop, "write", "back office"))
    assert reader.key.startswith("pzk_") and reader.key != writer.key
    # Only the hash is kept; the page never shows a key again.
    with world.ctx.engine.connect() as conn:
        hashes = conn.execute(sa.select(api_keys.c.secret_hash)).scalars().all()
    assert len(hashes) == 2 and all(len(h) == 64 and "pzk_" not in h for h in hashes)
    page = shop.get("/integrations").text
    assert reader.key not in page and writer.key not in page
    assert "stock sync" in page and page.count(">jamais<") == 2  # neither used yet

    assert reader.get(LISTINGS).json() == []
    assert shop.get("/integrations").text.count(">jamais<") == 1  # the reader's use is shown
    post = world.post("boutique", "Affiche — 12,50 €")
    body = {
        "title": "Affiche",
        "price_cents": 1250,
        "stock": 2,
        "network": "memory",
        "post": post.id,
    }
    refused = reader.post(LISTINGS, body)
    assert refused.status_code == 403 and _error(refused) == "api_scope_insufficient"
    assert _count(web, listing_details) == 0

    made = writer.post(LISTINGS, body)
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "listed"
    listing = made.json()["listing"]
    assert listing["price"] == {"cents": 1250, "currency": "EUR"} and listing["stock"] == 2
    assert [item["id"] for item in reader.get(LISTINGS).json()] == [listing["id"]]

    edited = writer.post(f"{LISTINGS}/{listing['id']}", {"stock": 7})
    assert edited.status_code == 200 and edited.json()["stock"] == 7
    assert edited.json()["price"]["cents"] == 1250

    # Revoked on the page (a form with its CSRF token): refused from then on.
    with world.ctx.engine.connect() as conn:
        writer_id = conn.execute(
            sa.select(api_keys.c.id).where(api_keys.c.label == "back office")
        ).scalar_one()
    revoked = shop.submit(f"/integrations/keys/{writer_id}/revoke", {}, form_page="/integrations")
    assert revoked.status_code == 303
    after = writer.post(f"{LISTINGS}/{listing['id']}", {"stock": 1})
    assert after.status_code == 401 and _error(after) == "api_key_revoked"
    assert writer.get(LISTINGS).status_code == 401
    assert reader.get(LISTINGS).status_code == 200
    forged = ApiClient(web, writer.key[:-4] + "AAAA")
    assert forged.get(LISTINGS).status_code == 401 and _error(forged.get(LISTINGS)) == (
        "api_key_invalid"
    )
    with world.ctx.engine.connect() as conn:
        stock = conn.execute(sa.select(listings.c.stock)).scalar_one()
    assert stock == 7

    # Another merchant's key does not see it; a person gets no key at all.
    other = ApiClient(web, new_api_key(member(web, "epicerie", kind="merchant"), "write"))
    assert other.get(LISTINGS).json() == []
    assert other.post(f"{LISTINGS}/{listing['id']}", {"stock": 0}).status_code == 404
    person = member(web, "alice")
    assert person.get("/integrations").status_code == 404


def test_a_browser_needs_its_csrf_token_and_a_key_does_not(web: WebWorld) -> None:
    world = web.world
    shop = member(web, "boutique", kind="merchant")
    post = world.post("boutique", "Affiche — 12,50 €")
    body = {
        "title": "Affiche",
        "price_cents": 1250,
        "stock": 2,
        "network": "memory",
        "post": post.id,
    }
    cookie_only = shop.client.post(LISTINGS, json=body, headers={"Idempotency-Key": "k1"})
    assert cookie_only.status_code == 403 and _error(cookie_only) == "csrf_invalid"
    token = csrf_of(shop.client.get("/merchant").text)
    with_token = shop.client.post(
        LISTINGS, json=body, headers={"Idempotency-Key": "k1", "X-CSRF-Token": token}
    )
    assert with_token.status_code == 201, with_token.text
    assert _count(web, listings) == 1


def test_writes_replayed_with_their_key_change_nothing(web: WebWorld) -> None:
    world = web.world
    shop = member(web, "boutique", kind="merchant", cents=0)
    member(web, "alice", cents=5_000)
    api = ApiClient(web, new_api_key(shop, "write"))
    post = world.post("boutique", "Affiche — 12,50 €")
    body = {
        "title": "Affiche",
        "price_cents": 1250,
        "stock": 2,
        "network": "memory",
        "post": post.id,
    }

    missing = api.post(LISTINGS, body, key=None)
    assert missing.status_code == 400 and _error(missing) == "idempotency_key_missing"
    first = api.post(LISTINGS, body, key="create-affiche")
    again = api.post(LISTINGS, body, key="create-affiche")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert _count(web, listings) == 1 and _count(web, listing_details) == 1
    other_body = api.post(LISTINGS, {**body, "stock": 3}, key="create-affiche")
    assert other_body.status_code == 422
    assert _error(other_body) == "idempotency_key_other_request"
    assert _count(web, listing_details) == 1

    reply = world.post("alice", "@payez j'achète", in_reply_to=post.id)
    world.run()
    assert world.payment_for(reply)["state"] == "settled"
    (order,) = api.get("/api/v1/merchant/orders").json()
    assert order["state"] == "paid" and order["amount"]["cents"] == 1250
    assert order["buyer_name"] == "Alice"
    refund = f"/api/v1/merchant/orders/{order['id']}/refund"
    refunded = api.post(refund, key="refund-1")
    replayed = api.post(refund, key="refund-1")
    assert refunded.status_code == replayed.status_code == 200
    assert (
        refunded.json()
        == replayed.json()
        == {
            "id": order["id"],
            "listing_id": order["listing_id"],
            "amount": {"cents": 1250, "currency": "EUR"},
            "state": "refunded",
        }
    )
    assert world.balance("boutique") == 0 and world.balance("alice") == 5_000
    # A new key is a new refund: refused, the order was refunded once.
    twice = api.post(refund, key="refund-2")
    assert twice.status_code == 400 and _error(twice) == "order_already_refunded"
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(orders.c.state)).scalar_one() == "refunded"
    world.assert_ledger_sound()


def test_a_listing_made_by_the_api_is_bought_by_a_reply_on_the_sandbox(database_url: str) -> None:
    with shop_on_sandbox(database_url) as (sandbox, world, network, web, shop):
        api = ApiClient(web, new_api_key(shop, "write"))
        status = sandbox.client("boutique").status_post("Tote bag — 15 € : répondez j'achète")
        made = api.post(
            LISTINGS,
            {
                "title": "Tote bag",
                "price_cents": 1500,
                "stock": 1,
                "network": "sandbox",
                "post": f"{sandbox.api_base_url}/statuses/{status['id']}",
            },
        )
        assert made.status_code == 201, made.text
        listing = made.json()["listing"]
        assert listing["network"] == "sandbox" and listing["post_id"] == str(status["id"])

        sandbox.client("bob").status_post("@payez j'achète", in_reply_to_id=status["id"])
        poll_mentions(world.ctx, network)
        process_until_empty(world.ctx)
        assert world.balance("boutique") == 1500 and world.balance("bob") == 1500
        (order,) = api.get("/api/v1/merchant/orders").json()
        assert order["listing_id"] == listing["id"] and order["state"] == "paid"
        assert api.get(LISTINGS).json()[0]["stock"] == 0
        assert html.unescape(shop.get("/merchant").text).count("Tote bag") >= 1
        world.assert_ledger_sound()


def test_the_spec_documents_the_merchant_api_with_examples(web: WebWorld) -> None:
    spec = web.browser().client.get("/openapi.json").json()
    create = spec["paths"][LISTINGS]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    assert create["requestBody"]["content"]["application/json"]["example"]["price_cents"] == 1500
    assert {"201", "401", "403", "409", "422"} <= set(create["responses"])
    refund = spec["paths"]["/api/v1/merchant/orders/{order_id}/refund"]["post"]
    assert refund["responses"]["200"]["content"]["application/json"]["example"]["state"] == (
        "refunded"
    )
    assert re.search(r"Bearer pzk_", spec["info"]["description"])
    schemes = spec["components"]["securitySchemes"]
    assert schemes["merchantKey"] == {**schemes["merchantKey"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie"
    assert create["security"] == [{"merchantKey": []}, {"session": []}]
    assert spec["paths"]["/api/v1/me/balance"]["get"]["security"] == [{"session": []}]
    unguarded = {
        path
        for path, operations in spec["paths"].items()
        if any("security" not in op for op in operations.values())
    }
    assert not {path for path in unguarded if path.startswith("/api/")}
