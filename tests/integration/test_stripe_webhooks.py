"""Processor webhooks: verified by signature, applied once, in any order.

Signatures are checked against events localstripe really sends, and against hand-made ones
(tampered, expired, unsigned). Events then go through ``apply_webhook_once`` on SQLite and
PostgreSQL: a redelivered event acts once; events delivered out of order leave the final state.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from payez.adapters.cards.stripe import StripeCardProcessor
from payez.adapters.cards.webhooks import signature_header
from payez.adapters.db.engine import make_engine
from payez.domain.money import Money
from payez.ports.cards import CardProcessor, WebhookSignatureInvalid
from payez.ports.clock import ManualClock
from payez.sandbox.cards import SandboxCardProcessor
from payez.service.card_charges import ChargeTransition, apply_webhook_once, charge_once
from tests.integration.localstripe_server import LocalStripe, localstripe  # noqa: F401

SECRET = "whsec_test_webhooks"


def _event(event_type: str, object_id: str) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": event_type,
            "data": {"object": {"id": object_id, "object": "payment_intent"}},
        }
    ).encode()


def _now() -> int:
    return int(time.time())


@pytest.fixture
def stripe_offline() -> StripeCardProcessor:
    # Verification needs no server: the address is never called.
    return StripeCardProcessor("sk_test_x", webhook_secret=SECRET, api_base="http://127.0.0.1:9")


def test_valid_signature_is_accepted(stripe_offline: StripeCardProcessor) -> None:
    payload = _event("payment_intent.succeeded", "pi_123")
    event = stripe_offline.parse_webhook(payload, signature_header(payload, SECRET, _now()))
    assert (event.type, event.object_id) == ("payment_intent.succeeded", "pi_123")
    assert event.id.startswith("evt_")


def test_one_matching_signature_among_several_is_enough(
    stripe_offline: StripeCardProcessor,
) -> None:
    payload = _event("payment_intent.succeeded", "pi_123")
    good = signature_header(payload, SECRET, _now())
    header = f"{good},v1={'0' * 64}"
    assert stripe_offline.parse_webhook(payload, header).object_id == "pi_123"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda p: signature_header(p, "whsec_other", _now()), id="wrong-secret"),
        pytest.param(lambda p: signature_header(p + b" ", SECRET, _now()), id="tampered-body"),
        pytest.param(lambda p: signature_header(p, SECRET, _now() - 3600), id="expired"),
        pytest.param(lambda p: signature_header(p, SECRET, _now() + 3600), id="from-the-future"),
        pytest.param(lambda p: f"t={_now()}", id="no-v1"),
        pytest.param(lambda p: "garbage", id="garbage"),
        pytest.param(lambda p: "", id="empty"),
        pytest.param(lambda p: None, id="missing"),
    ],
)
def test_bad_signatures_are_refused(stripe_offline: StripeCardProcessor, forge: Any) -> None:
    payload = _event("payment_intent.succeeded", "pi_123")
    with pytest.raises(WebhookSignatureInvalid) as refused:
        stripe_offline.parse_webhook(payload, forge(payload))
    assert refused.value.code == "webhook_signature_invalid"
    assert refused.value.message("fr") and refused.value.message("en")


def test_signed_payload_that_is_not_an_event_is_refused(
    stripe_offline: StripeCardProcessor,
) -> None:
    payload = b'{"hello": "world"}'
    with pytest.raises(WebhookSignatureInvalid):
        stripe_offline.parse_webhook(payload, signature_header(payload, SECRET, _now()))


def test_empty_secret_refuses_everything() -> None:
    processor = StripeCardProcessor("sk_test_x", webhook_secret="", api_base="http://127.0.0.1:9")
    payload = _event("payment_intent.succeeded", "pi_1")
    with pytest.raises(WebhookSignatureInvalid):
        processor.parse_webhook(payload, signature_header(payload, "", _now()))


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str | None]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers.get("Stripe-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[tuple[bytes, str | None]]]]:
    received: list[tuple[bytes, str | None]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe", received
    finally:
        server.shutdown()
        server.server_close()


def test_events_sent_by_localstripe_verify(
    localstripe: LocalStripe,  # noqa: F811
    webhook_receiver: tuple[str, list[tuple[bytes, str | None]]],
) -> None:
    url, received = webhook_receiver
    localstripe.register_webhook(f"payez-{uuid.uuid4().hex[:8]}", url, SECRET)
    processor = StripeCardProcessor(
        localstripe.api_key, webhook_secret=SECRET, api_base=localstripe.base_url
    )
    customer_id = processor.create_customer(reference="w", email=None, idempotency_key="w1")
    processor.attach_card(customer_id=customer_id, card_token="4242424242424242")
    charge = processor.charge(
        customer_id=customer_id, amount=Money.eur(420), idempotency_key="w-1", description="w"
    )
    deadline = time.monotonic() + 15
    events = []
    while time.monotonic() < deadline:
        events = [processor.parse_webhook(body, header) for body, header in list(received)]
        if any(e.object_id == charge.id for e in events):
            break
        time.sleep(0.2)
    assert any(e.type == "payment_intent.succeeded" and e.object_id == charge.id for e in events)
    body, header = received[0]
    with pytest.raises(WebhookSignatureInvalid):
        processor.parse_webhook(b" " + body, header)  # still JSON, no longer signed


# -- applying events once ----------------------------------------------------------------


@pytest.fixture(params=["stripe", "sandbox"])
def setup(request: pytest.FixtureRequest, database_url: str) -> tuple[CardProcessor, Engine, Any]:
    engine = make_engine(database_url)
    if request.param == "stripe":
        server: LocalStripe = request.getfixturevalue("localstripe")
        stripe_processor = StripeCardProcessor(
            server.api_key, webhook_secret=SECRET, api_base=server.base_url
        )

        def authenticate(charge_id: str) -> None:
            server.authenticate(charge_id, approve=True)

        return stripe_processor, engine, authenticate
    sandbox = SandboxCardProcessor(engine, webhook_secret=SECRET)

    def approve(charge_id: str) -> None:
        sandbox.complete_authentication(charge_id, True)

    return sandbox, engine, approve


def _waiting_charge(processor: CardProcessor, engine: Engine, key: str, hook: Any) -> str:
    customer_id = processor.create_customer(reference=key, email=None, idempotency_key=f"cus-{key}")
    processor.attach_card(customer_id=customer_id, card_token="4000002500003155")
    charge = charge_once(
        engine,
        processor,
        key=key,
        customer_id=customer_id,
        amount=Money.eur(7000),
        description="webhook",
        on_change=hook,
    )
    assert charge.status == "requires_action"
    return charge.id


def _signed(processor: CardProcessor, event_type: str, object_id: str) -> tuple[bytes, str]:
    payload = _event(event_type, object_id)
    return payload, signature_header(payload, SECRET, _now())


def test_same_event_twice_acts_once(setup: tuple[CardProcessor, Engine, Any]) -> None:
    processor, engine, authenticate = setup
    changes: list[str] = []

    def hook(conn: Connection, change: ChargeTransition) -> None:
        changes.append(change.record.status)

    charge_id = _waiting_charge(processor, engine, f"k-{uuid.uuid4().hex}", hook)
    authenticate(charge_id)
    event = processor.parse_webhook(*_signed(processor, "payment_intent.succeeded", charge_id))
    assert apply_webhook_once(engine, processor, event, on_change=hook) == "applied"
    assert apply_webhook_once(engine, processor, event, on_change=hook) == "duplicate"
    assert changes == ["requires_action", "succeeded"]


def test_events_out_of_order_leave_the_final_state(
    setup: tuple[CardProcessor, Engine, Any],
) -> None:
    processor, engine, authenticate = setup
    changes: list[str] = []

    def hook(conn: Connection, change: ChargeTransition) -> None:
        changes.append(change.record.status)

    charge_id = _waiting_charge(processor, engine, f"k-{uuid.uuid4().hex}", hook)
    older = processor.parse_webhook(
        *_signed(processor, "payment_intent.requires_action", charge_id)
    )
    authenticate(charge_id)
    newer = processor.parse_webhook(*_signed(processor, "payment_intent.succeeded", charge_id))
    assert apply_webhook_once(engine, processor, newer, on_change=hook) == "applied"
    assert apply_webhook_once(engine, processor, older, on_change=hook) == "unchanged"
    assert changes == ["requires_action", "succeeded"]


def test_event_for_someone_elses_charge_is_recorded_and_ignored(
    setup: tuple[CardProcessor, Engine, Any],
) -> None:
    processor, engine, _ = setup
    customer_id = processor.create_customer(reference="o", email=None, idempotency_key="o-1")
    processor.attach_card(customer_id=customer_id, card_token="4242424242424242")
    foreign = processor.charge(
        customer_id=customer_id,
        amount=Money.eur(100),
        idempotency_key=f"foreign-{uuid.uuid4().hex}",
        description="not through charge_once",
    )
    event = processor.parse_webhook(*_signed(processor, "payment_intent.succeeded", foreign.id))
    assert apply_webhook_once(engine, processor, event) == "ignored"
    assert apply_webhook_once(engine, processor, event) == "duplicate"
    other = processor.parse_webhook(*_signed(processor, "customer.created", customer_id))
    assert apply_webhook_once(engine, processor, other) == "ignored"


def test_webhook_completes_a_charge_whose_caller_crashed(
    setup: tuple[CardProcessor, Engine, Any],
) -> None:
    """The caller died before recording; the webhook finds our row by the key in metadata."""
    processor, engine, _ = setup
    clock = ManualClock(datetime.now(UTC))
    customer_id = processor.create_customer(reference="c", email=None, idempotency_key="c-1")
    processor.attach_card(customer_id=customer_id, card_token="4242424242424242")
    key = f"k-{uuid.uuid4().hex}"
    calls: list[str] = []

    class Crash(BaseException):
        pass

    class CrashingAfterCharge:
        name = processor.name

        def charge(self, **kwargs: Any) -> Any:
            calls.append("charge")
            processor.charge(**kwargs)
            raise Crash

        def __getattr__(self, attribute: str) -> Any:
            return getattr(processor, attribute)

    crashing: Any = CrashingAfterCharge()
    args: dict[str, Any] = {
        "key": key,
        "customer_id": customer_id,
        "amount": Money.eur(1234),
        "description": "crash",
        "clock": clock,
    }
    with pytest.raises(Crash):
        charge_once(engine, crashing, **args)
    charge_id = next(c.id for c in processor.list_charges() if c.idempotency_key == key)
    event = processor.parse_webhook(*_signed(processor, "payment_intent.succeeded", charge_id))
    assert apply_webhook_once(engine, processor, event, clock=clock) == "applied"

    clock.advance(timedelta(minutes=10))
    again = charge_once(engine, crashing, **args)
    assert (again.status, again.id) == ("succeeded", charge_id)
    assert calls == ["charge"]


def test_sandbox_events_verify_and_an_answer_given_twice_sends_one_event(
    sqlite_url: str,
) -> None:
    delivered: list[tuple[bytes, str]] = []
    sandbox = SandboxCardProcessor(
        make_engine(sqlite_url),
        webhook_secret=SECRET,
        webhook_sink=lambda payload, header: delivered.append((payload, header)),
    )
    customer_id = sandbox.create_customer(reference="s", email=None, idempotency_key="s-1")
    sandbox.attach_card(customer_id=customer_id, card_token="4000002500003155")
    charge = sandbox.charge(
        customer_id=customer_id, amount=Money.eur(100), idempotency_key="s-c1", description="s"
    )
    sandbox.complete_authentication(charge.id, True)
    sandbox.complete_authentication(charge.id, False)  # too late: changes nothing

    events = [sandbox.parse_webhook(payload, header) for payload, header in delivered]
    assert [(e.type, e.object_id) for e in events] == [
        ("payment_intent.requires_action", charge.id),
        ("payment_intent.succeeded", charge.id),
    ]
    assert sandbox.retrieve_charge(charge.id).status == "succeeded"
    # Stripe's own verifier accepts the sandbox's signatures: one scheme for both.
    stripe_side = StripeCardProcessor("sk_test_x", webhook_secret=SECRET, api_base="http://x")
    assert stripe_side.parse_webhook(*delivered[1]).id == events[1].id
