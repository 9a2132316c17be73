"""charge_once: exactly-once card charges on our own rows, on SQLite and PostgreSQL.

Run against Stripe's adapter on localstripe (which ignores idempotency keys, so only our rows
stand between a retry and a second charge) and against the sandbox.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from payez.adapters.cards.stripe import StripeCardProcessor
from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.card_charges import card_charges
from payez.domain.money import Money
from payez.ports.cards import CardProcessor, Charge, ProcessorUnavailable
from payez.ports.clock import ManualClock
from payez.sandbox.cards import SandboxCardProcessor
from payez.service.card_charges import (
    ChargeInProgress,
    ChargeTransition,
    IdempotencyKeyReused,
    charge_once,
)
from tests.integration.localstripe_server import LocalStripe, localstripe  # noqa: F401


class SimulatedCrash(BaseException):
    """Like a killed process: no ``except Exception`` handler runs."""


class Recording:
    """The processor under test, counting charge calls and optionally failing around them."""

    def __init__(self, inner: CardProcessor) -> None:
        self.inner = inner
        self.name = inner.name
        self.charge_calls = 0
        self.crash_after_charge = False
        self.fail_before_charge = False

    def charge(self, **kwargs: Any) -> Charge:
        if self.fail_before_charge:
            raise ProcessorUnavailable("connection reset")
        self.charge_calls += 1
        charge = self.inner.charge(**kwargs)
        if self.crash_after_charge:
            raise SimulatedCrash
        return charge

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(params=["stripe", "sandbox"])
def processor_and_engine(
    request: pytest.FixtureRequest, database_url: str
) -> tuple[Recording, Engine, Any]:
    engine = make_engine(database_url)
    inner: CardProcessor
    if request.param == "stripe":
        server: LocalStripe = request.getfixturevalue("localstripe")
        inner = StripeCardProcessor(
            server.api_key, webhook_secret="whsec_x", api_base=server.base_url
        )

        def authenticate(charge_id: str) -> None:
            server.authenticate(charge_id, approve=True)
    else:
        sandbox = SandboxCardProcessor(engine)
        inner = sandbox

        def authenticate(charge_id: str) -> None:
            sandbox.complete_authentication(charge_id, True)

    return Recording(inner), engine, authenticate


def _customer(processor: CardProcessor, card: str = "4242424242424242") -> str:
    tag = uuid.uuid4().hex
    customer_id = processor.create_customer(reference=tag, email=None, idempotency_key=f"cus-{tag}")
    processor.attach_card(customer_id=customer_id, card_token=card)
    return customer_id


def _charges_with_key(processor: CardProcessor, key: str) -> list[Charge]:
    return [c for c in processor.list_charges() if c.idempotency_key == key]


def _row(engine: Engine, key: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(card_charges).where(card_charges.c.idempotency_key == key)
        ).one()


def test_same_key_twice_charges_once(processor_and_engine: tuple[Recording, Engine, Any]) -> None:
    processor, engine, _ = processor_and_engine
    customer_id = _customer(processor)
    key = f"payment-{uuid.uuid4().hex}"
    first = charge_once(
        engine, processor, key=key, customer_id=customer_id, amount=Money.eur(1500), description="x"
    )
    second = charge_once(
        engine, processor, key=key, customer_id=customer_id, amount=Money.eur(1500), description="x"
    )
    assert first.status == second.status == "succeeded"
    assert first.id == second.id
    assert processor.charge_calls == 1
    assert len(_charges_with_key(processor, key)) == 1
    row = _row(engine, key)
    assert (row.status, row.processor_charge_id, row.amount_cents) == ("succeeded", first.id, 1500)


def test_crash_between_charge_and_record_does_not_charge_twice(
    processor_and_engine: tuple[Recording, Engine, Any],
) -> None:
    processor, engine, _ = processor_and_engine
    clock = ManualClock(datetime.now(UTC))
    customer_id = _customer(processor)
    key = f"payment-{uuid.uuid4().hex}"
    args: dict[str, Any] = {
        "key": key,
        "customer_id": customer_id,
        "amount": Money.eur(2200),
        "description": "crash",
        "clock": clock,
    }
    processor.crash_after_charge = True
    with pytest.raises(SimulatedCrash):
        charge_once(engine, processor, **args)
    processor.crash_after_charge = False
    assert _row(engine, key).status == "pending"

    # The crashed caller's claim still stands: nobody charges while it might be running.
    with pytest.raises(ChargeInProgress):
        charge_once(engine, processor, **args)

    clock.advance(timedelta(minutes=10))
    recovered = charge_once(engine, processor, **args)
    assert recovered.status == "succeeded"
    assert processor.charge_calls == 1
    charges = _charges_with_key(processor, key)
    assert [c.id for c in charges] == [recovered.id]
    assert _row(engine, key).processor_charge_id == recovered.id


def test_processor_error_releases_the_claim_and_retry_charges_once(
    processor_and_engine: tuple[Recording, Engine, Any],
) -> None:
    processor, engine, _ = processor_and_engine
    customer_id = _customer(processor)
    key = f"payment-{uuid.uuid4().hex}"
    processor.fail_before_charge = True
    with pytest.raises(ProcessorUnavailable):
        charge_once(
            engine,
            processor,
            key=key,
            customer_id=customer_id,
            amount=Money.eur(300),
            description="x",
        )
    processor.fail_before_charge = False
    charge = charge_once(
        engine, processor, key=key, customer_id=customer_id, amount=Money.eur(300), description="x"
    )
    assert charge.status == "succeeded"
    assert len(_charges_with_key(processor, key)) == 1
    assert _row(engine, key).attempts == 2


def test_declined_outcome_is_final_and_answered_from_our_row(
    processor_and_engine: tuple[Recording, Engine, Any],
) -> None:
    processor, engine, _ = processor_and_engine
    customer_id = _customer(processor, "4000000000000341")
    key = f"payment-{uuid.uuid4().hex}"
    for _ in range(3):
        charge = charge_once(
            engine,
            processor,
            key=key,
            customer_id=customer_id,
            amount=Money.eur(800),
            description="x",
        )
        assert (charge.status, charge.failure_code) == ("failed", "card_declined")
    assert processor.charge_calls == 1


def test_same_key_with_another_amount_is_refused(
    processor_and_engine: tuple[Recording, Engine, Any],
) -> None:
    processor, engine, _ = processor_and_engine
    customer_id = _customer(processor)
    key = f"payment-{uuid.uuid4().hex}"
    charge_once(
        engine, processor, key=key, customer_id=customer_id, amount=Money.eur(500), description="x"
    )
    with pytest.raises(IdempotencyKeyReused):
        charge_once(
            engine,
            processor,
            key=key,
            customer_id=customer_id,
            amount=Money.eur(501),
            description="x",
        )
    assert processor.charge_calls == 1


def test_authentication_completes_on_a_later_call_and_the_hook_sees_each_change_once(
    processor_and_engine: tuple[Recording, Engine, Any],
) -> None:
    processor, engine, authenticate = processor_and_engine
    customer_id = _customer(processor, "4000002500003155")
    key = f"payment-{uuid.uuid4().hex}"
    changes: list[tuple[str, str]] = []

    def on_change(conn: Connection, change: ChargeTransition) -> None:
        assert conn.in_transaction()
        changes.append((change.previous_status, change.record.status))

    args: dict[str, Any] = {
        "key": key,
        "customer_id": customer_id,
        "amount": Money.eur(6000),
        "description": "auth",
        "on_change": on_change,
    }
    waiting = charge_once(engine, processor, **args)
    assert waiting.status == "requires_action" and waiting.action_url
    assert charge_once(engine, processor, **args).status == "requires_action"
    authenticate(waiting.id)
    assert charge_once(engine, processor, **args).status == "succeeded"
    assert charge_once(engine, processor, **args).status == "succeeded"
    assert changes == [("pending", "requires_action"), ("requires_action", "succeeded")]
    assert processor.charge_calls == 1


@pytest.mark.postgres
def test_concurrent_callers_with_one_key_charge_once(
    postgres_url: str,
    localstripe: LocalStripe,  # noqa: F811
) -> None:
    engine = make_engine(postgres_url)
    processor = Recording(
        StripeCardProcessor(
            localstripe.api_key, webhook_secret="whsec_x", api_base=localstripe.base_url
        )
    )
    customer_id = _customer(processor)
    key = f"payment-{uuid.uuid4().hex}"
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def call() -> None:
        barrier.wait()
        try:
            charge = charge_once(
                engine,
                processor,
                key=key,
                customer_id=customer_id,
                amount=Money.eur(999),
                description="x",
            )
            outcomes.append(charge.status)
        except ChargeInProgress:
            outcomes.append("in_progress")

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4 and "succeeded" in outcomes
    assert set(outcomes) <= {"succeeded", "in_progress"}
    assert len(_charges_with_key(processor, key)) == 1
