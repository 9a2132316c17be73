"""Webhooks end to end: events written with the payment, delivered over real HTTP to a receiver
on the loopback that checks the signature with the very code ``docs/merchants-api.md`` shows;
retries on the documented back-off, with the same event id; given up after 3 days; sent again
on request."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.merchant_api import (
    api_keys,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from payez.adapters.db.tables.payments import users
from payez.adapters.webhooks.httpx_sender import HttpxWebhookSender
from payez.domain.webhook_signatures import GIVE_UP_AFTER, retry_wait, signature_header
from payez.entrypoints.worker import Worker
from payez.service.close_account import close_account
from payez.service.confirm_payment import confirm_payment
from payez.service.errors import ConfirmationClosed
from payez.service.export_my_data import export_my_data
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.send_webhooks import send_webhooks
from tests.integration.merchant_api_world import ApiClient, new_api_key, new_webhook
from tests.integration.merchants_world import member
from tests.integration.web_world import PASSWORD, WebWorld, web_world

DOCS = Path(__file__).resolve().parents[2] / "docs" / "merchants-api.md"
_SNIPPET = re.compile(
    r"<!-- verification snippet:[^>]*-->\s*```python\n(.*?)```\s*"
    r"<!-- end of verification snippet -->",
    re.S,
)

Verifier = Callable[..., bool]


def documented_verifier() -> Verifier:
    """``verify_payez_signature`` exactly as the docs print it."""
    found = _SNIPPET.search(DOCS.read_text(encoding="utf-8"))
    assert found, "the verification snippet is missing from docs/merchants-api.md"
    namespace: dict[str, Any] = {}
    exec(compile(found[1], str(DOCS), "exec"), namespace)
    verifier = namespace["verify_payez_signature"]
    assert callable(verifier)
    return verifier  # type: ignore[no-any-return]


@dataclass
class Received:
    event_id: str
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """An HTTP server on the loopback answering the statuses scripted, then 200, and checking
    each signature with the documented snippet at the time the test's clock gives."""

    secret: str = ""
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    now: Callable[[], float] = lambda: 0.0
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    verify = documented_verifier()
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            verified = verify(
                state.secret, self.headers.get("Payez-Signature", ""), body, now=state.now()
            )
            state.received.append(Received(self.headers.get("Payez-Event-Id", ""), body, verified))
            status = state.script.pop(0) if state.script else 200
            self.send_response(status if verified else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        state.url = f"http://127.0.0.1:{server.server_address[1]}/payez"
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert not thread.is_alive()


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


def _deliveries(web: WebWorld) -> list[Any]:
    with web.world.ctx.engine.connect() as conn:
        return list(conn.execute(sa.select(webhook_deliveries).order_by(webhook_deliveries.c.id)))


def _shop_with_a_listing(web: WebWorld) -> tuple[Any, str]:
    """A merchant with a listing on the memory network; returns their browser and the post."""
    world = web.world
    shop = member(web, "boutique", kind="merchant")
    api = ApiClient(web, new_api_key(shop, "write"))
    post = world.post("boutique", "Affiche — 12,50 €")
    made = api.post(
        "/api/v1/merchant/listings",
        {"title": "Affiche", "price_cents": 1250, "stock": 5, "network": "memory", "post": post.id},
    )
    assert made.status_code == 201, made.text
    return shop, post.id


def test_a_failing_endpoint_gets_the_event_once_back_with_the_same_id(
    web: WebWorld, receiver: Receiver
) -> None:
    world = web.world
    clock = world.clock
    receiver.now = lambda: clock.now().timestamp()
    shop, post_id = _shop_with_a_listing(web)
    receiver.secret = new_webhook(shop, receiver.url)
    assert receiver.secret.startswith("whsec_")
    assert receiver.secret not in shop.get("/integrations").text  # shown once
    member(web, "alice", cents=5_000)
    world.post("alice", "@payez j'achète", in_reply_to=post_id)
    world.run()
    with world.ctx.engine.connect() as conn:
        (event,) = conn.execute(sa.select(webhook_events)).all()
    assert event.type == "order.paid"
    data = json.loads(event.body)["data"]
    assert data["amount"] == {"cents": 1250, "currency": "EUR"} and data["buyer_name"] == "Alice"

    receiver.script = [500, 500]
    sender = HttpxWebhookSender(timeout=5)
    try:
        assert send_webhooks(world.ctx, sender) == 1
        (delivery,) = _deliveries(web)
        assert delivery.state == "pending" and delivery.attempts == 1
        assert (
            delivery.next_attempt_at
            == clock.now() + retry_wait(1)
            == clock.now() + timedelta(minutes=1)
        )
        # Not before its time: the back-off is honoured.
        clock.advance(timedelta(seconds=59))
        assert send_webhooks(world.ctx, sender) == 0
        clock.advance(timedelta(seconds=1))
        assert send_webhooks(world.ctx, sender) == 1
        (delivery,) = _deliveries(web)
        assert delivery.next_attempt_at == clock.now() + timedelta(minutes=2)
        clock.advance(timedelta(minutes=1, seconds=59))
        assert send_webhooks(world.ctx, sender) == 0
        clock.advance(timedelta(seconds=1))
        assert send_webhooks(world.ctx, sender) == 1
        assert send_webhooks(world.ctx, sender) == 0
        (delivery,) = _deliveries(web)
        assert delivery.state == "delivered" and delivery.attempts == 3

        assert [r.verified for r in receiver.received] == [True, True, True]
        assert {r.event_id for r in receiver.received} == {event.event_id}
        assert {json.loads(r.body)["id"] for r in receiver.received} == {event.event_id}
        assert len({r.body for r in receiver.received}) == 1  # byte for byte the same

        # The log shows each attempt's answer; "send again" (a form, with its CSRF token)
        # delivers the same event once more.
        page = shop.get("/integrations").text
        assert page.count(" · 500 · ") == 2 and page.count(" · 200 · ") == 1
        no_csrf = shop.client.post(
            f"/integrations/deliveries/{delivery.id}/resend", follow_redirects=False
        )
        assert no_csrf.status_code == 403
        assert send_webhooks(world.ctx, sender) == 0
        again = shop.submit(
            f"/integrations/deliveries/{delivery.id}/resend", {}, form_page="/integrations"
        )
        assert again.status_code == 303
        assert send_webhooks(world.ctx, sender) == 1
        assert len(receiver.received) == 4 and receiver.received[-1].verified
        assert receiver.received[-1].event_id == event.event_id
        assert receiver.received[-1].body == receiver.received[0].body
        # Another member cannot send someone else's delivery again.
        stranger = member(web, "epicerie", kind="merchant")
        refused = stranger.submit(
            f"/integrations/deliveries/{delivery.id}/resend", {}, form_page="/integrations"
        )
        assert refused.status_code == 404
    finally:
        sender.close()


def test_the_documented_snippet_rejects_forged_and_stale_signatures() -> None:
    verify = documented_verifier()
    body = b'{"id":"evt_1","type":"order.paid"}'
    now = 1_800_000_000
    header = signature_header("whsec_right", now, body)
    assert verify("whsec_right", header, body, now=now)
    assert verify("whsec_right", header, body, now=now + 300)
    assert not verify("whsec_wrong", header, body, now=now)  # forged with another secret
    assert not verify("whsec_right", header, body.replace(b"evt_1", b"evt_2"), now=now)
    tampered = header[:-1] + ("0" if header[-1] != "0" else "1")
    assert not verify("whsec_right", tampered, body, now=now)
    assert not verify("whsec_right", header, body, now=now + 301)  # stale: a replay
    assert not verify("whsec_right", header, body, now=now - 301)
    assert not verify("whsec_right", "v1=abc", body, now=now)
    assert not verify("whsec_right", "t=x,v1=abc", body, now=now)
    assert not verify("whsec_right", "", body, now=now)


def test_an_endpoint_down_for_good_is_given_up_after_three_days(web: WebWorld) -> None:
    world = web.world
    clock = world.clock
    shop, post_id = _shop_with_a_listing(web)
    new_webhook(shop, "https://shop.example/payez")
    member(web, "alice", cents=5_000)
    world.post("alice", "@payez j'achète", in_reply_to=post_id)
    world.run()
    created = clock.now()
    calls: list[httpx.Request] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    sender = HttpxWebhookSender(transport=httpx.MockTransport(down))
    times = []
    for _ in range(100):
        assert send_webhooks(world.ctx, sender) == 1
        times.append(clock.now())
        (delivery,) = _deliveries(web)
        if delivery.state == "failed":
            break
        clock.advance(delivery.next_attempt_at - clock.now())
    sender.close()
    assert delivery.state == "failed"
    waits = [later - earlier for earlier, later in pairwise(times)]
    assert waits == [retry_wait(n) for n in range(1, len(times))]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(waits) == timedelta(hours=6)
    assert times[-1] <= created + GIVE_UP_AFTER < times[-1] + retry_wait(len(times))
    assert len(calls) == len(times) == delivery.attempts
    assert len({r.headers["Payez-Event-Id"] for r in calls}) == 1
    with world.ctx.engine.connect() as conn:
        codes = conn.execute(sa.select(webhook_attempts.c.status_code)).scalars().all()
    assert set(codes) == {503}
    assert "Abandonné" in shop.get("/integrations").text


def test_refunds_and_donations_are_told_and_only_to_those_listening(web: WebWorld) -> None:
    world = web.world
    shop, post_id = _shop_with_a_listing(web)
    charity = member(web, "restos", kind="association")
    member(web, "alice", cents=10_000)
    member(web, "bob", cents=10_000)
    # Nobody listens yet: the batch writes no event.
    world.post("alice", "@payez j'achète", in_reply_to=post_id)
    world.post("alice", "@payez envoie 3€ à @restos")
    world.run()
    new_webhook(shop, "https://shop.example/payez")
    new_webhook(charity, "https://restos.example/payez")
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(webhook_events)).scalar() == 0

    # One batch, two listeners: their events are written by one INSERT.
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(world.ctx.engine, "before_cursor_execute", seen)
    try:
        world.post("bob", "@payez j'achète", in_reply_to=post_id)
        world.post("bob", "@payez envoie 4€ à @restos merci")
        world.post("alice", "@payez envoie 5€ à @restos")
        poll_mentions(world.ctx, world.network)
        process_until_empty(world.ctx)
    finally:
        sa.event.remove(world.ctx.engine, "before_cursor_execute", seen)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO WEBHOOK_EVENTS")]
    assert len(inserts) == 1
    api = ApiClient(web, new_api_key(shop, "write"))
    bob_order = api.get("/api/v1/merchant/orders").json()[0]
    assert api.post(f"/api/v1/merchant/orders/{bob_order['id']}/refund").status_code == 200

    sent: list[tuple[str, dict[str, Any]]] = []

    def ok(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.host, json.loads(request.content)))
        return httpx.Response(204)

    sender = HttpxWebhookSender(transport=httpx.MockTransport(ok))
    assert send_webhooks(world.ctx, sender) == 4
    sender.close()
    by_host: dict[str, list[dict[str, Any]]] = {}
    for host, event in sent:
        by_host.setdefault(host, []).append(event)
    shop_events = sorted(by_host["shop.example"], key=lambda e: e["type"])
    assert [e["type"] for e in shop_events] == ["order.paid", "order.refunded"]
    assert {e["data"]["order_id"] for e in shop_events} == {bob_order["id"]}
    gifts = sorted(by_host["restos.example"], key=lambda e: e["data"]["amount"]["cents"])
    assert [e["type"] for e in gifts] == ["donation.received"] * 2
    assert [g["data"]["amount"]["cents"] for g in gifts] == [400, 500]
    assert gifts[0]["data"]["donor_name"] == "Bob" and gifts[0]["data"]["memo"] == "merci"
    assert len({e["id"] for _h, e in sent}) == 4
    assert {d.state for d in _deliveries(web)} == {"delivered"}


def test_webhook_addresses_must_be_https_but_for_loopback_in_development(web: WebWorld) -> None:
    shop = member(web, "boutique", kind="merchant")
    for url in (
        "http://shop.example/payez",
        "ftp://shop.example/payez",
        "https://",
        "not a url",
        "https://user:pw@shop.example/",
    ):
        refused = shop.submit("/integrations/webhooks", {"url": url}, form_page="/integrations")
        assert refused.status_code == 400, url
        assert "https" in refused.text
    for url in ("http://localhost:8080/hook", "http://127.0.0.1/hook", "https://shop.example/h"):
        assert new_webhook(shop, url).startswith("whsec_")
    person = member(web, "alice")
    assert (
        person.submit(
            "/integrations/webhooks", {"url": "https://a.example/"}, form_page="/dashboard"
        ).status_code
        == 404
    )


def test_payments_confirmed_later_are_told_once(database_url: str) -> None:
    with web_world(database_url, confirm="always") as web:
        world = web.world
        shop, post_id = _shop_with_a_listing(web)
        charity = member(web, "restos", kind="association")
        new_webhook(shop, "https://shop.example/payez")
        new_webhook(charity, "https://restos.example/payez")
        member(web, "alice", cents=10_000)
        bought = world.post("alice", "@payez j'achète", in_reply_to=post_id)
        gift = world.post("alice", "@payez envoie 6€ à @restos")
        world.run()
        tokens = [world.payment_for(p)["confirm_token"] for p in (bought, gift)]
        with world.ctx.engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(webhook_events)).scalar() == 0
            )
        for token in tokens:
            confirm_payment(world.ctx, token, world.users["alice"])
            with pytest.raises(ConfirmationClosed):
                confirm_payment(world.ctx, token, world.users["alice"])
        with world.ctx.engine.connect() as conn:
            events = conn.execute(sa.select(webhook_events).order_by(webhook_events.c.id)).all()
        assert [(e.user_id, e.type) for e in events] == [
            (world.users["boutique"], "order.paid"),
            (world.users["restos"], "donation.received"),
        ]
        assert json.loads(events[1].body)["data"]["amount"] == {"cents": 600, "currency": "EUR"}


def test_export_and_closure_cover_keys_and_webhooks(web: WebWorld) -> None:
    world = web.world
    shop, post_id = _shop_with_a_listing(web)
    secret = new_webhook(shop, "https://shop.example/payez")
    member(web, "alice", cents=5_000)
    world.post("alice", "@payez j'achète", in_reply_to=post_id)
    world.run()
    sender = HttpxWebhookSender(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert send_webhooks(world.ctx, sender) == 1
    sender.close()
    me = world.users["boutique"]
    with zipfile.ZipFile(io.BytesIO(export_my_data(world.ctx, me))) as archive:
        exported = {
            name: json.loads(archive.read(f"{name}.json"))
            for name in ("api_keys", "webhook_endpoints", "webhook_events", "webhook_attempts")
        }
    assert len(exported["api_keys"]) == 1 and "secret_hash" not in exported["api_keys"][0]
    assert len(exported["webhook_endpoints"]) == 1
    assert "secret_sealed" not in exported["webhook_endpoints"][0]
    assert secret not in json.dumps(exported)
    assert [e["type"] for e in exported["webhook_events"]] == ["order.paid"]
    assert [a["status_code"] for a in exported["webhook_attempts"]] == [200]

    # The merchant refunds, leaving a zero balance, and closes the account.
    order = ApiClient(web, new_api_key(shop, "write")).get("/api/v1/merchant/orders").json()[0]
    refunded = ApiClient(web, new_api_key(shop, "write")).post(
        f"/api/v1/merchant/orders/{order['id']}/refund"
    )
    assert refunded.status_code == 200
    close_account(world.ctx, me, PASSWORD)
    with world.ctx.engine.connect() as conn:
        for table in (api_keys, webhook_endpoints, webhook_events, webhook_deliveries):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
        assert conn.execute(sa.select(users.c.has_webhooks).where(users.c.id == me)).scalar() is (
            False
        )


def test_a_removed_address_gets_nothing_more(web: WebWorld) -> None:
    world = web.world
    shop, post_id = _shop_with_a_listing(web)
    new_webhook(shop, "https://shop.example/payez")
    member(web, "alice", cents=5_000)
    world.post("alice", "@payez j'achète", in_reply_to=post_id)
    world.run()
    calls: list[httpx.Request] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    sender = HttpxWebhookSender(transport=httpx.MockTransport(down))
    assert send_webhooks(world.ctx, sender) == 1
    (delivery,) = _deliveries(web)
    with world.ctx.engine.connect() as conn:
        endpoint_id = conn.execute(sa.select(webhook_endpoints.c.id)).scalar_one()
    removed = shop.submit(
        f"/integrations/webhooks/{endpoint_id}/remove", {}, form_page="/integrations"
    )
    assert removed.status_code == 303
    world.clock.advance(timedelta(hours=1))
    assert send_webhooks(world.ctx, sender) == 0
    assert [d.state for d in _deliveries(web)] == ["failed"]
    resend = shop.submit(
        f"/integrations/deliveries/{delivery.id}/resend", {}, form_page="/integrations"
    )
    assert resend.status_code == 404
    # A new sale is not told either: the merchant listens no more.
    world.post("alice", "@payez j'achète", in_reply_to=post_id)
    world.run()
    assert send_webhooks(world.ctx, sender) == 0
    sender.close()
    assert len(calls) == 1
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(webhook_events)).scalar() == 1


def test_the_worker_delivers_the_events(web: WebWorld) -> None:
    world = web.world
    shop, post_id = _shop_with_a_listing(web)
    new_webhook(shop, "https://shop.example/payez")
    member(web, "alice", cents=5_000)
    world.post("alice", "@payez j'achète", in_reply_to=post_id)
    sent: list[str] = []

    def ok(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Payez-Event-Id"])
        return httpx.Response(200)

    sender = HttpxWebhookSender(transport=httpx.MockTransport(ok))
    world.ctx.webhooks = sender
    worker = Worker(world.ctx, stream=False, idle_seconds=0.05)
    worker.start()
    try:
        assert "webhooks" in {thread.name for thread in worker.threads}
        deadline = time.monotonic() + 20
        while not sent and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert worker.shutdown() == []
        sender.close()
    with world.ctx.engine.connect() as conn:
        event_id = conn.execute(sa.select(webhook_events.c.event_id)).scalar_one()
    assert sent == [event_id]
    assert [d.state for d in _deliveries(web)] == ["delivered"]


def test_a_production_sender_calls_public_addresses_only(receiver: Receiver) -> None:
    sender = HttpxWebhookSender(public_only=True, timeout=5)
    try:
        for url in (
            receiver.url,
            "http://10.0.0.1/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/",
        ):
            answer = sender.post(url, b"{}", {})
            assert answer.status_code is None and answer.error == "address_not_public", url
    finally:
        sender.close()
    assert receiver.received == []
    # Outside production the loopback receiver is reached.
    local = HttpxWebhookSender(timeout=5)
    try:
        assert local.post(receiver.url, b"{}", {}).status_code == 400  # unsigned: refused
    finally:
        local.close()
    assert len(receiver.received) == 1 and not receiver.received[0].verified


def test_a_receiver_answering_an_endless_body_is_not_read() -> None:
    """Only the status counts: a body that never ends neither holds the sender nor fills it."""
    chunks_written: list[int] = []

    class Endless(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            written = 0
            try:
                while written < 1_000_000:  # 64 GB at most: far more than any memory here
                    self.wfile.write(b"x" * 65_536)
                    written += 1
            except OSError:
                pass  # the sender hung up, as it should
            chunks_written.append(written)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    thread = threading.Thread(target=server.serve_forever, name="endless-receiver", daemon=True)
    thread.start()
    sender = HttpxWebhookSender(timeout=5.0)
    try:
        started = time.monotonic()
        answer = sender.post(f"http://127.0.0.1:{server.server_address[1]}/", b"{}", {})
        assert answer.status_code == 200
        assert time.monotonic() - started < 5.0
        deadline = time.monotonic() + 5.0
        while not chunks_written and time.monotonic() < deadline:
            time.sleep(0.05)
        assert chunks_written and chunks_written[0] < 1_000_000, chunks_written
    finally:
        sender.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert not thread.is_alive()
