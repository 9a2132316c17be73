"""One set of tests for every card processor: the sandbox, and Stripe's adapter on localstripe.

The same test cards (Stripe's documented test numbers) give the same outcomes through the port.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from payez.adapters.cards.stripe import StripeCardProcessor
from payez.adapters.db.engine import make_engine
from payez.domain.money import Money
from payez.ports.cards import (
    CardDeclined,
    CardMissing,
    CardProcessor,
    ProcessorObjectNotFound,
    ProcessorRequestRejected,
    RefundRefused,
)
from payez.sandbox.cards import SandboxCardProcessor
from tests.conftest import DatabaseFactory
from tests.integration.localstripe_server import LocalStripe, localstripe  # noqa: F401

SUCCEEDS = "4242424242424242"
DECLINED_ON_SAVE = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
DECLINED_ON_CHARGE = "4000000000000341"
NEEDS_AUTHENTICATION = "4000002500003155"
WEBHOOK_SECRET = "whsec_conformance"


@dataclass
class Harness:
    processor: CardProcessor
    authenticate: Callable[[str, bool], None]

    def customer(self, card: str | None = SUCCEEDS) -> str:
        tag = uuid.uuid4().hex
        customer_id = self.processor.create_customer(
            reference=f"user-{tag}", email=f"{tag}@example.test", idempotency_key=f"cus-{tag}"
        )
        if card is not None:
            self.processor.attach_card(customer_id=customer_id, card_token=card)
        return customer_id

    def charge(self, customer_id: str, cents: int) -> tuple[str, Money]:
        key = f"charge-{uuid.uuid4().hex}"
        amount = Money.eur(cents)
        charge = self.processor.charge(
            customer_id=customer_id, amount=amount, idempotency_key=key, description="test"
        )
        return charge.id, amount


def sandbox_harness(database_factory: DatabaseFactory) -> Harness:
    processor = SandboxCardProcessor(
        make_engine(database_factory("sqlite")), webhook_secret=WEBHOOK_SECRET
    )

    def authenticate(charge_id: str, approve: bool) -> None:
        processor.complete_authentication(charge_id, approve)

    return Harness(processor, authenticate)


def stripe_harness(server: LocalStripe) -> Harness:
    processor = StripeCardProcessor(
        server.api_key, webhook_secret=WEBHOOK_SECRET, api_base=server.base_url
    )

    def authenticate(charge_id: str, approve: bool) -> None:
        server.authenticate(charge_id, approve=approve)

    return Harness(processor, authenticate)


@pytest.fixture(params=["sandbox", "stripe"])
def harness(request: pytest.FixtureRequest, database_factory: DatabaseFactory) -> Harness:
    if request.param == "sandbox":
        return sandbox_harness(database_factory)
    return stripe_harness(request.getfixturevalue("localstripe"))


def test_customer_and_card_setup(harness: Harness) -> None:
    customer_id = harness.customer(card=None)
    setup = harness.processor.start_card_setup(
        customer_id=customer_id, idempotency_key=f"setup-{uuid.uuid4().hex}"
    )
    assert setup.customer_id == customer_id
    assert setup.setup_id and setup.client_secret.startswith(setup.setup_id)


def test_attached_card_is_reported_by_brand_and_last_digits(harness: Harness) -> None:
    customer_id = harness.customer(card=None)
    saved = harness.processor.attach_card(customer_id=customer_id, card_token=SUCCEEDS)
    assert (saved.brand, saved.last4) == ("visa", "4242")
    assert saved.payment_method_id


def test_successful_charge(harness: Harness) -> None:
    customer_id = harness.customer()
    key = f"charge-{uuid.uuid4().hex}"
    charge = harness.processor.charge(
        customer_id=customer_id, amount=Money.eur(1250), idempotency_key=key, description="test"
    )
    assert charge.status == "succeeded"
    assert charge.amount == Money.eur(1250)
    assert (charge.failure_code, charge.action_url) == (None, None)
    assert charge.idempotency_key == key
    assert harness.processor.retrieve_charge(charge.id) == charge


def test_declined_charge_is_a_result_not_an_exception(harness: Harness) -> None:
    customer_id = harness.customer(DECLINED_ON_CHARGE)
    charge_id, amount = harness.charge(customer_id, 900)
    charge = harness.processor.retrieve_charge(charge_id)
    assert (charge.status, charge.failure_code, charge.amount) == (
        "failed",
        "card_declined",
        amount,
    )


@pytest.mark.parametrize(
    ("card", "decline_code"),
    [(DECLINED_ON_SAVE, "card_declined"), (INSUFFICIENT_FUNDS, "insufficient_funds")],
)
def test_refused_cards_are_refused_when_saved(
    harness: Harness, card: str, decline_code: str
) -> None:
    customer_id = harness.customer(card=None)
    with pytest.raises(CardDeclined) as refused:
        harness.processor.attach_card(customer_id=customer_id, card_token=card)
    assert refused.value.decline_code == decline_code
    # The refused card was not kept: there is nothing to charge.
    with pytest.raises(CardMissing):
        harness.charge(customer_id, 500)


def test_authentication_required_then_approved_or_refused(harness: Harness) -> None:
    customer_id = harness.customer(NEEDS_AUTHENTICATION)
    approved_id, _ = harness.charge(customer_id, 4000)
    refused_id, _ = harness.charge(customer_id, 4100)
    waiting = harness.processor.retrieve_charge(approved_id)
    assert waiting.status == "requires_action"
    assert waiting.action_url is not None and approved_id in waiting.action_url

    harness.authenticate(approved_id, True)
    harness.authenticate(refused_id, False)

    assert harness.processor.retrieve_charge(approved_id).status == "succeeded"
    refused = harness.processor.retrieve_charge(refused_id)
    assert (refused.status, refused.failure_code) == ("failed", "authentication_failed")


def test_refunds_up_to_the_charged_amount(harness: Harness) -> None:
    customer_id = harness.customer()
    charge_id, _ = harness.charge(customer_id, 3000)
    first = harness.processor.refund(
        charge_id=charge_id, amount=Money.eur(1000), idempotency_key=f"re-{uuid.uuid4().hex}"
    )
    assert (first.charge_id, first.amount, first.status) == (
        charge_id,
        Money.eur(1000),
        "succeeded",
    )
    with pytest.raises(RefundRefused):
        harness.processor.refund(
            charge_id=charge_id, amount=Money.eur(2001), idempotency_key=f"re-{uuid.uuid4().hex}"
        )
    rest = harness.processor.refund(
        charge_id=charge_id, amount=Money.eur(2000), idempotency_key=f"re-{uuid.uuid4().hex}"
    )
    refunds = {r.id: r for r in harness.processor.list_refunds()}
    assert refunds[first.id].amount == Money.eur(1000)
    assert refunds[rest.id].charge_id == charge_id


def test_a_failed_charge_cannot_be_refunded(harness: Harness) -> None:
    customer_id = harness.customer(DECLINED_ON_CHARGE)
    charge_id, _ = harness.charge(customer_id, 700)
    with pytest.raises(RefundRefused):
        harness.processor.refund(
            charge_id=charge_id, amount=Money.eur(700), idempotency_key=f"re-{uuid.uuid4().hex}"
        )


def test_list_charges_includes_every_outcome(harness: Harness) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    ok_id, _ = harness.charge(harness.customer(SUCCEEDS), 100)
    failed_id, _ = harness.charge(harness.customer(DECLINED_ON_CHARGE), 200)
    waiting_id, _ = harness.charge(harness.customer(NEEDS_AUTHENTICATION), 300)

    listed = {c.id: c for c in harness.processor.list_charges(since=start)}
    assert listed[ok_id].status == "succeeded"
    assert listed[failed_id].status == "failed"
    assert listed[waiting_id].status == "requires_action"
    assert listed[ok_id].amount == Money.eur(100)
    later = harness.processor.list_charges(since=datetime.now(UTC) + timedelta(hours=1))
    assert not {ok_id, failed_id, waiting_id} & {c.id for c in later}


def test_unknown_charge_and_non_positive_amount(harness: Harness) -> None:
    with pytest.raises(ProcessorObjectNotFound):
        harness.processor.retrieve_charge("pi_doesnotexist000")
    with pytest.raises(ProcessorRequestRejected):
        harness.processor.charge(
            customer_id=harness.customer(),
            amount=Money.eur(0),
            idempotency_key=f"zero-{uuid.uuid4().hex}",
            description="zero",
        )
