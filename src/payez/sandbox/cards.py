"""The sandbox card processor: Stripe's behaviour for Stripe's test cards, with no network.

Test cards (the numbers Stripe documents for its test mode, with the same behaviour):

===================  ===========================================================
4242424242424242     saved; every charge succeeds (Visa)
5555555555554444     saved; every charge succeeds (Mastercard)
4000000000000002     refused when saved: ``card_declined``
4000000000009995     refused when saved: ``insufficient_funds``
4000000000000341     saved; every charge is declined: ``card_declined``
4000002500003155     saved; every charge requires authentication (3-D Secure)
===================  ===========================================================

Any expiry date and CVC are accepted; only the number matters, and only the brand and the
last four digits are kept. A charge that requires authentication carries an ``action_url``
to ``/sandbox/cards/authenticate/{charge_id}``, where the web page calls
:meth:`SandboxCardProcessor.complete_authentication`.

State lives in the application database (``sandbox_card_*`` tables), not in memory: saved
cards and charges awaiting authentication must survive a restart of ``make run``, and the web
process and a worker must see the same charges. Like Stripe, the sandbox honours idempotency
keys. Events are signed like Stripe's webhooks and handed to ``webhook_sink`` after the change
is committed.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from payez.adapters.cards.webhooks import parse_signed_event, signature_header
from payez.adapters.db.tables.sandbox_cards import (
    sandbox_card_charges,
    sandbox_card_customers,
    sandbox_card_methods,
    sandbox_card_refunds,
    sandbox_card_setups,
)
from payez.domain.money import Money
from payez.ports.cards import (
    CardDeclined,
    CardMissing,
    CardSetup,
    Charge,
    ChargeStatus,
    ProcessorObjectNotFound,
    ProcessorRequestRejected,
    Refund,
    RefundRefused,
    SavedCard,
    WebhookEvent,
)
from payez.ports.clock import Clock, SystemClock

log = logging.getLogger(__name__)

WebhookSink = Callable[[bytes, str], None]
AUTHENTICATION_PATH = "/sandbox/cards/authenticate/{charge_id}"


@dataclass(frozen=True, slots=True)
class TestCard:
    number: str
    brand: str
    behaviour: str  # succeed | decline_on_save | decline_on_charge | authenticate
    decline_code: str | None = None


TEST_CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa", "succeed"),
        TestCard("5555555555554444", "mastercard", "succeed"),
        TestCard("4000000000000002", "visa", "decline_on_save", "card_declined"),
        TestCard("4000000000009995", "visa", "decline_on_save", "insufficient_funds"),
        TestCard("4000000000000341", "visa", "decline_on_charge", "card_declined"),
        TestCard("4000002500003155", "visa", "authenticate"),
    )
}
# Stripe's named test payment methods, so code written against Stripe's docs works here too.
NAMED_TOKENS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequired": "4000002500003155",
}


def _new_id(prefix: str) -> str:
    return f"{prefix}_sbx_{secrets.token_hex(10)}"


class SandboxCardProcessor:
    """A :class:`payez.ports.cards.CardProcessor` backed by the application database."""

    name = "sandbox"

    def __init__(
        self,
        engine: Engine,
        *,
        webhook_secret: str = "whsec_sandbox",
        base_url: str = "",
        clock: Clock | None = None,
        webhook_sink: WebhookSink | None = None,
    ) -> None:
        self._engine = engine
        self._secret = webhook_secret
        self._base_url = base_url.rstrip("/")
        self._clock = clock or SystemClock()
        self.webhook_sink = webhook_sink

    # -- customers and cards -------------------------------------------------------------

    def create_customer(self, *, reference: str, email: str | None, idempotency_key: str) -> str:
        with self._engine.begin() as conn:
            existing = conn.execute(
                sa.select(sandbox_card_customers.c.id).where(
                    sandbox_card_customers.c.idempotency_key == idempotency_key
                )
            ).scalar_one_or_none()
            if existing is not None:
                return str(existing)
            customer_id = _new_id("cus")
            conn.execute(
                sandbox_card_customers.insert().values(
                    id=customer_id,
                    reference=reference,
                    email=email,
                    idempotency_key=idempotency_key,
                    created_at=self._clock.now(),
                )
            )
            return customer_id

    def start_card_setup(self, *, customer_id: str, idempotency_key: str) -> CardSetup:
        with self._engine.begin() as conn:
            self._customer(conn, customer_id)
            row = conn.execute(
                sa.select(sandbox_card_setups).where(
                    sandbox_card_setups.c.idempotency_key == idempotency_key
                )
            ).one_or_none()
            if row is not None:
                return CardSetup(row.id, row.client_secret, row.customer_id)
            setup_id = _new_id("seti")
            secret = f"{setup_id}_secret_{secrets.token_hex(12)}"
            conn.execute(
                sandbox_card_setups.insert().values(
                    id=setup_id,
                    customer_id=customer_id,
                    client_secret=secret,
                    idempotency_key=idempotency_key,
                    created_at=self._clock.now(),
                )
            )
            return CardSetup(setup_id, secret, customer_id)

    def attach_card(self, *, customer_id: str, card_token: str) -> SavedCard:
        number = "".join(NAMED_TOKENS.get(card_token, card_token).split())
        card = TEST_CARDS.get(number)
        if card is None:
            raise ProcessorRequestRejected(
                "the sandbox accepts only its test cards: " + ", ".join(TEST_CARDS)
            )
        if card.behaviour == "decline_on_save":
            raise CardDeclined(decline_code=card.decline_code or "card_declined")
        with self._engine.begin() as conn:
            self._customer(conn, customer_id)
            method_id = _new_id("pm")
            conn.execute(
                sandbox_card_methods.insert().values(
                    id=method_id,
                    customer_id=customer_id,
                    behaviour=card.behaviour,
                    brand=card.brand,
                    last4=number[-4:],
                    created_at=self._clock.now(),
                )
            )
            conn.execute(
                sandbox_card_customers.update()
                .where(sandbox_card_customers.c.id == customer_id)
                .values(default_method_id=method_id)
            )
        return SavedCard(method_id, card.brand, number[-4:])

    # -- charges -------------------------------------------------------------------------

    def charge(
        self, *, customer_id: str, amount: Money, idempotency_key: str, description: str
    ) -> Charge:
        if amount.cents <= 0:
            raise ProcessorRequestRejected("amount must be positive")
        with self._engine.begin() as conn:
            existing = conn.execute(
                sa.select(sandbox_card_charges).where(
                    sandbox_card_charges.c.idempotency_key == idempotency_key
                )
            ).one_or_none()
            if existing is not None:
                if (existing.customer_id, existing.amount_cents, existing.currency) != (
                    customer_id,
                    amount.cents,
                    amount.currency,
                ):
                    raise ProcessorRequestRejected("idempotency key reused with other parameters")
                return self._charge_from_row(existing)
            customer = self._customer(conn, customer_id)
            if customer.default_method_id is None:
                raise CardMissing(customer_id)
            method = conn.execute(
                sa.select(sandbox_card_methods).where(
                    sandbox_card_methods.c.id == customer.default_method_id
                )
            ).one()
            status: ChargeStatus = "succeeded"
            failure_code = None
            if method.behaviour == "decline_on_charge":
                status, failure_code = "failed", "card_declined"
            elif method.behaviour == "authenticate":
                status = "requires_action"
            now = self._clock.now()
            charge_id = _new_id("pi")
            conn.execute(
                sandbox_card_charges.insert().values(
                    id=charge_id,
                    customer_id=customer_id,
                    method_id=method.id,
                    idempotency_key=idempotency_key,
                    amount_cents=amount.cents,
                    currency=amount.currency,
                    status=status,
                    failure_code=failure_code,
                    description=description[:500],
                    created_at=now,
                    updated_at=now,
                )
            )
            charge = self._load_charge(conn, charge_id)
        self._emit_charge_event(charge)
        return charge

    def complete_authentication(self, charge_id: str, approve: bool) -> Charge:
        """The cardholder's answer on the sandbox authentication page.

        Only a charge still awaiting authentication changes; answering twice changes nothing
        the second time and sends no second event.
        """
        with self._engine.begin() as conn:
            self._load_charge(conn, charge_id)
            changed = conn.execute(
                sandbox_card_charges.update()
                .where(
                    sandbox_card_charges.c.id == charge_id,
                    sandbox_card_charges.c.status == "requires_action",
                )
                .values(
                    status="succeeded" if approve else "failed",
                    failure_code=None if approve else "authentication_failed",
                    updated_at=self._clock.now(),
                )
            ).rowcount
            charge = self._load_charge(conn, charge_id)
        if changed:
            self._emit_charge_event(charge)
        return charge

    def retrieve_charge(self, charge_id: str) -> Charge:
        with self._engine.connect() as conn:
            return self._load_charge(conn, charge_id)

    def list_charges(self, *, since: datetime | None = None) -> list[Charge]:
        query = sa.select(sandbox_card_charges).order_by(
            sandbox_card_charges.c.created_at, sandbox_card_charges.c.id
        )
        if since is not None:
            query = query.where(sandbox_card_charges.c.created_at >= since)
        with self._engine.connect() as conn:
            return [self._charge_from_row(row) for row in conn.execute(query)]

    # -- refunds -------------------------------------------------------------------------

    def refund(self, *, charge_id: str, amount: Money, idempotency_key: str) -> Refund:
        if amount.cents <= 0:
            raise ProcessorRequestRejected("amount must be positive")
        with self._engine.begin() as conn:
            existing = conn.execute(
                sa.select(sandbox_card_refunds).where(
                    sandbox_card_refunds.c.idempotency_key == idempotency_key
                )
            ).one_or_none()
            if existing is not None:
                return self._refund_from_row(existing)
            # Lock the charge so two concurrent refunds cannot both fit under its amount.
            charge = conn.execute(
                sa.select(sandbox_card_charges)
                .where(sandbox_card_charges.c.id == charge_id)
                .with_for_update()
            ).one_or_none()
            if charge is None:
                raise ProcessorObjectNotFound(charge_id)
            if charge.status != "succeeded" or charge.currency != amount.currency:
                raise RefundRefused(f"charge {charge_id} is {charge.status}")
            refunded = conn.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(sandbox_card_refunds.c.amount_cents), 0)
                ).where(sandbox_card_refunds.c.charge_id == charge_id)
            ).scalar_one()
            if int(refunded) + amount.cents > charge.amount_cents:
                raise RefundRefused(f"{refunded} already refunded of {charge.amount_cents}")
            refund_id = _new_id("re")
            conn.execute(
                sandbox_card_refunds.insert().values(
                    id=refund_id,
                    charge_id=charge_id,
                    idempotency_key=idempotency_key,
                    amount_cents=amount.cents,
                    currency=amount.currency,
                    status="succeeded",
                    created_at=self._clock.now(),
                )
            )
            row = conn.execute(
                sa.select(sandbox_card_refunds).where(sandbox_card_refunds.c.id == refund_id)
            ).one()
        refund = self._refund_from_row(row)
        self._emit(
            "charge.refunded",
            {
                "id": refund.id,
                "object": "refund",
                "payment_intent": refund.charge_id,
                "amount": refund.amount.cents,
                "currency": refund.amount.currency.lower(),
                "status": refund.status,
            },
        )
        return refund

    def list_refunds(self, *, since: datetime | None = None) -> list[Refund]:
        query = sa.select(sandbox_card_refunds).order_by(
            sandbox_card_refunds.c.created_at, sandbox_card_refunds.c.id
        )
        if since is not None:
            query = query.where(sandbox_card_refunds.c.created_at >= since)
        with self._engine.connect() as conn:
            return [self._refund_from_row(row) for row in conn.execute(query)]

    # -- webhooks ------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent:
        return parse_signed_event(payload, signature_header, self._secret, clock=self._clock)

    def signed_event(self, event_type: str, obj: dict[str, Any]) -> tuple[bytes, str]:
        """A Stripe-shaped event about ``obj`` and its signature header."""
        created = int(self._clock.now().timestamp())
        payload = json.dumps(
            {
                "id": _new_id("evt"),
                "object": "event",
                "type": event_type,
                "created": created,
                "data": {"object": obj},
            },
            sort_keys=True,
        ).encode("utf-8")
        return payload, signature_header(payload, self._secret, created)

    def _emit(self, event_type: str, obj: dict[str, Any]) -> None:
        if self.webhook_sink is None:
            return
        payload, header = self.signed_event(event_type, obj)
        try:
            self.webhook_sink(payload, header)
        except Exception:
            # As with Stripe, a failed delivery never undoes the charge; reconciliation and
            # charge_once's own rows still see it.
            log.exception("sandbox webhook delivery failed for %s", event_type)

    def _emit_charge_event(self, charge: Charge) -> None:
        event_type = {
            "succeeded": "payment_intent.succeeded",
            "failed": "payment_intent.payment_failed",
            "requires_action": "payment_intent.requires_action",
        }[charge.status]
        self._emit(event_type, charge_payload(charge))

    # -- rows ----------------------------------------------------------------------------

    def _customer(self, conn: Connection, customer_id: str) -> sa.Row[Any]:
        row = conn.execute(
            sa.select(sandbox_card_customers).where(sandbox_card_customers.c.id == customer_id)
        ).one_or_none()
        if row is None:
            raise ProcessorObjectNotFound(f"customer {customer_id}")
        return row

    def _load_charge(self, conn: Connection, charge_id: str) -> Charge:
        row = conn.execute(
            sa.select(sandbox_card_charges).where(sandbox_card_charges.c.id == charge_id)
        ).one_or_none()
        if row is None:
            raise ProcessorObjectNotFound(f"charge {charge_id}")
        return self._charge_from_row(row)

    def _charge_from_row(self, row: sa.Row[Any]) -> Charge:
        status: ChargeStatus = row.status
        return Charge(
            id=row.id,
            amount=Money(int(row.amount_cents), row.currency),
            status=status,
            failure_code=row.failure_code,
            action_url=(
                self._base_url + AUTHENTICATION_PATH.format(charge_id=row.id)
                if status == "requires_action"
                else None
            ),
            idempotency_key=row.idempotency_key,
            created_at=row.created_at,
        )

    @staticmethod
    def _refund_from_row(row: sa.Row[Any]) -> Refund:
        return Refund(
            id=row.id,
            charge_id=row.charge_id,
            amount=Money(int(row.amount_cents), row.currency),
            status=row.status,
            created_at=row.created_at,
        )


def charge_payload(charge: Charge) -> dict[str, Any]:
    """The event object for ``charge``, shaped like Stripe's PaymentIntent."""
    return {
        "id": charge.id,
        "object": "payment_intent",
        "amount": charge.amount.cents,
        "currency": charge.amount.currency.lower(),
        "status": charge.status,
        "failure_code": charge.failure_code,
        "metadata": {"payez_key": charge.idempotency_key},
    }
