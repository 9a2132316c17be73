"""The Stripe card processor, with the official ``stripe`` package.

- A Customer per Payez user; cards saved through a SetupIntent in the browser (Stripe.js), or
  attached directly by :meth:`StripeCardProcessor.attach_card` (a ``pm_...`` id, Stripe's named
  test payment methods, or a test card number in test mode).
- A charge is an off-session PaymentIntent confirmed at once. ``Charge.id`` is the
  PaymentIntent id: a payment awaiting authentication has no Stripe charge yet.
- Stripe reports "the bank wants the cardholder" in two ways: an ``authentication_required``
  card error (real Stripe, off-session) or a ``requires_action`` status (localstripe). Both
  become ``requires_action``; the cardholder finishes on ``authentication_url``, our page that
  confirms the PaymentIntent with Stripe.js.
- Every call that moves money carries the caller's idempotency key, and the key is written in
  the PaymentIntent's metadata (``payez_key``) so a caller that crashed can find its charge with
  :meth:`list_charges`. Our own exactly-once guarantee never rests on Stripe's key handling
  (see ``payez.service.card_charges``).
- The description goes into metadata (``payez_description``) rather than ``description``,
  and no payment-method-type list is sent (the API renamed it; the explicit ``payment_method``
  already restricts the PaymentIntent to the saved card): localstripe refuses both fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import stripe

from payez.adapters.cards.webhooks import parse_signed_event
from payez.domain.money import Money
from payez.ports.cards import (
    CardDeclined,
    CardMissing,
    CardSetup,
    Charge,
    ChargeStatus,
    ProcessorError,
    ProcessorObjectNotFound,
    ProcessorRequestRejected,
    ProcessorUnavailable,
    Refund,
    RefundRefused,
    SavedCard,
    WebhookEvent,
)
from payez.ports.clock import Clock

KEY_METADATA = "payez_key"
DEFAULT_AUTHENTICATION_URL = "/cards/authenticate/{charge_id}"
_PAGE_SIZE = 100


def _decline_code(error: Any) -> str:
    """Our failure code from a Stripe error object (or ``last_payment_error``) as a dict."""
    decline = error.get("decline_code")
    if decline and decline != "generic_decline":
        return str(decline)
    return str(error.get("code") or "card_declined")


def _created(obj: dict[str, Any]) -> datetime | None:
    created = obj.get("created")
    return datetime.fromtimestamp(int(created), UTC) if created is not None else None


@contextmanager
def _translated() -> Iterator[None]:
    """Stripe's error tree mapped onto ours, so callers never import ``stripe``."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise ProcessorUnavailable(str(exc.user_message or exc)) from exc
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            raise ProcessorObjectNotFound(str(exc.user_message or exc)) from exc
        raise ProcessorRequestRejected(str(exc.user_message or exc)) from exc
    except stripe.APIError as exc:
        raise ProcessorUnavailable(str(exc.user_message or exc)) from exc
    except stripe.StripeError as exc:
        if exc.http_status is not None and exc.http_status >= 500:
            raise ProcessorUnavailable(str(exc.user_message or exc)) from exc
        raise ProcessorError(str(exc.user_message or exc)) from exc


class StripeCardProcessor:
    """A :class:`payez.ports.cards.CardProcessor` on the Stripe API (or localstripe)."""

    name = "stripe"

    def __init__(
        self,
        api_key: str,
        *,
        webhook_secret: str,
        api_base: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        authentication_url: str = DEFAULT_AUTHENTICATION_URL,
        currency: str = "EUR",
        max_network_retries: int = 2,
        clock: Clock | None = None,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=http_client,
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret
        self._authentication_url = authentication_url
        self._currency = currency
        self._clock = clock

    # -- customers and cards -------------------------------------------------------------

    def create_customer(self, *, reference: str, email: str | None, idempotency_key: str) -> str:
        params: dict[str, Any] = {"metadata": {"payez_reference": reference}}
        if email:
            params["email"] = email
        with _translated():
            customer = self._client.v1.customers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return str(customer.id)

    def start_card_setup(self, *, customer_id: str, idempotency_key: str) -> CardSetup:
        with _translated():
            setup = self._client.v1.setup_intents.create(
                params={
                    "customer": customer_id,
                    "usage": "off_session",
                },
                options={"idempotency_key": idempotency_key},
            )
        return CardSetup(str(setup.id), str(setup.client_secret), customer_id)

    def attach_card(self, *, customer_id: str, card_token: str) -> SavedCard:
        token = "".join(card_token.split())
        try:
            with _translated():
                if token.isdigit():
                    # Raw numbers are accepted in test mode only; production cards arrive as
                    # payment methods created by Stripe.js in the browser.
                    created = self._client.v1.payment_methods.create(
                        params={
                            "type": "card",
                            "card": {
                                "number": token,
                                "exp_month": 12,
                                "exp_year": date.today().year + 3,
                                "cvc": "123",
                            },
                        }
                    )
                    token = str(created.id)
                method = self._client.v1.payment_methods.attach(
                    token, params={"customer": customer_id}
                ).to_dict()
                self._client.v1.customers.update(
                    customer_id,
                    params={"invoice_settings": {"default_payment_method": method["id"]}},
                )
        except ProcessorError as exc:
            cause = exc.__cause__
            if isinstance(cause, stripe.CardError) and cause.error is not None:
                raise CardDeclined(decline_code=_decline_code(cause.error.to_dict())) from cause
            raise
        card = method.get("card") or {}
        return SavedCard(str(method["id"]), str(card.get("brand", "")), str(card.get("last4", "")))

    # -- charges -------------------------------------------------------------------------

    def charge(
        self, *, customer_id: str, amount: Money, idempotency_key: str, description: str
    ) -> Charge:
        if amount.cents <= 0:
            raise ProcessorRequestRejected("amount must be positive")
        with _translated():
            customer = self._client.v1.customers.retrieve(customer_id).to_dict()
        method = (customer.get("invoice_settings") or {}).get("default_payment_method")
        if not method:
            raise CardMissing(customer_id)
        if isinstance(method, dict):
            method = method["id"]
        try:
            with _translated():
                intent = self._client.v1.payment_intents.create(
                    params={
                        "amount": amount.cents,
                        "currency": amount.currency.lower(),
                        "customer": customer_id,
                        "payment_method": str(method),
                        "confirm": True,
                        "off_session": True,
                        "metadata": {
                            KEY_METADATA: idempotency_key,
                            "payez_description": description[:500],
                        },
                    },
                    options={"idempotency_key": idempotency_key},
                )
                return self._to_charge(intent.to_dict())
        except ProcessorError as exc:
            cause = exc.__cause__
            if isinstance(cause, stripe.CardError) and cause.error is not None:
                return self._charge_after_card_error(cause.error.to_dict())
            raise

    def _charge_after_card_error(self, error: dict[str, Any]) -> Charge:
        """The PaymentIntent behind a card error, read back so the outcome is Stripe's record."""
        intent = error.get("payment_intent")
        with _translated():
            if isinstance(intent, dict) and intent.get("id"):
                loaded = self._client.v1.payment_intents.retrieve(str(intent["id"])).to_dict()
            elif error.get("charge"):
                # localstripe names only the failed charge: find its PaymentIntent through it.
                charge = self._client.v1.charges.retrieve(str(error["charge"])).to_dict()
                loaded = self._client.v1.payment_intents.retrieve(
                    str(charge["payment_intent"])
                ).to_dict()
            else:
                raise ProcessorError(f"card error without a payment: {error.get('code')}")
        loaded.setdefault("last_payment_error", error)
        return self._to_charge(loaded, error=error)

    def authentication(self, charge_id: str) -> tuple[str, str]:
        """(client secret, customer id) of a charge, for Stripe.js to finish its authentication
        in the cardholder's browser."""
        with _translated():
            intent = self._client.v1.payment_intents.retrieve(charge_id).to_dict()
        return str(intent["client_secret"]), str(intent.get("customer") or "")

    def retrieve_charge(self, charge_id: str) -> Charge:
        with _translated():
            return self._to_charge(self._client.v1.payment_intents.retrieve(charge_id).to_dict())

    def list_charges(self, *, since: datetime | None = None) -> list[Charge]:
        # Filtered here rather than with created[gte]: localstripe refuses list filters, and a
        # reconciliation that silently missed charges would be worse than a slower one.
        charges = [
            self._to_charge(intent)
            for intent in self._all("payment_intents")
            if since is None or int(intent.get("created", 0)) >= int(since.timestamp())
        ]
        return sorted(charges, key=lambda c: c.created_at or datetime.min.replace(tzinfo=UTC))

    def _to_charge(self, intent: dict[str, Any], error: dict[str, Any] | None = None) -> Charge:
        status = str(intent.get("status"))
        last_error = intent.get("last_payment_error") or error or {}
        failure_code: str | None = None
        action_url: str | None = None
        mapped: ChargeStatus
        if status == "succeeded":
            mapped = "succeeded"
        elif status == "requires_action" or (
            status == "requires_payment_method"
            and last_error.get("code") == "authentication_required"
        ):
            mapped = "requires_action"
            next_action = intent.get("next_action") or {}
            redirect = (next_action.get("redirect_to_url") or {}).get("url")
            action_url = (
                str(redirect)
                if redirect
                else self._authentication_url.format(charge_id=intent["id"])
            )
        elif status in {"requires_payment_method", "canceled"}:
            mapped = "failed"
            code = last_error.get("code")
            if code == "payment_intent_authentication_failure":
                failure_code = "authentication_failed"
            elif last_error:
                failure_code = _decline_code(last_error)
            else:
                failure_code = "canceled" if status == "canceled" else "card_declined"
        else:
            # processing, requires_confirmation, requires_capture: never produced by an
            # automatic-capture card charge confirmed at creation.
            raise ProcessorError(f"payment {intent.get('id')} in unexpected state {status}")
        metadata = intent.get("metadata") or {}
        return Charge(
            id=str(intent["id"]),
            amount=Money(int(intent["amount"]), str(intent["currency"]).upper()),
            status=mapped,
            failure_code=failure_code,
            action_url=action_url,
            idempotency_key=metadata.get(KEY_METADATA),
            created_at=_created(intent),
        )

    # -- refunds -------------------------------------------------------------------------

    def refund(self, *, charge_id: str, amount: Money, idempotency_key: str) -> Refund:
        if amount.cents <= 0:
            raise ProcessorRequestRejected("amount must be positive")
        with _translated():
            intent = self._client.v1.payment_intents.retrieve(
                charge_id, params={"expand": ["latest_charge"]}
            ).to_dict()
        latest = intent.get("latest_charge")
        if intent.get("status") != "succeeded" or not isinstance(latest, dict):
            raise RefundRefused(f"payment {charge_id} is {intent.get('status')}")
        # Stripe refuses an over-refund itself; checking first gives the same clear error
        # from every Stripe-compatible server.
        remaining = int(latest.get("amount", 0)) - int(latest.get("amount_refunded", 0))
        if amount.cents > remaining or amount.currency.lower() != intent.get("currency"):
            raise RefundRefused(f"{remaining} refundable on {charge_id}")
        try:
            with _translated():
                refund = self._client.v1.refunds.create(
                    params={
                        "payment_intent": charge_id,
                        "amount": amount.cents,
                        "metadata": {KEY_METADATA: idempotency_key},
                    },
                    options={"idempotency_key": idempotency_key},
                ).to_dict()
        except ProcessorRequestRejected as exc:
            raise RefundRefused(exc.detail) from exc
        return self._to_refund(refund, charge_id)

    def list_refunds(self, *, since: datetime | None = None) -> list[Refund]:
        refunds = [
            self._to_refund(refund)
            for refund in self._all("refunds")
            if since is None or int(refund.get("created", 0)) >= int(since.timestamp())
        ]
        return sorted(refunds, key=lambda r: r.created_at or datetime.min.replace(tzinfo=UTC))

    @staticmethod
    def _to_refund(refund: dict[str, Any], charge_id: str | None = None) -> Refund:
        return Refund(
            id=str(refund["id"]),
            charge_id=str(charge_id or refund.get("payment_intent") or refund.get("charge")),
            amount=Money(int(refund["amount"]), str(refund["currency"]).upper()),
            status=str(refund.get("status")),
            created_at=_created(refund),
        )

    def _all(self, resource: str) -> Iterator[dict[str, Any]]:
        service = getattr(self._client.v1, resource)
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": _PAGE_SIZE}
            if after:
                params["starting_after"] = after
            with _translated():
                page = service.list(params=params).to_dict()
            items: list[dict[str, Any]] = page.get("data") or []
            yield from items
            if not page.get("has_more") or not items:
                return
            after = str(items[-1]["id"])

    # -- webhooks ------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent:
        return parse_signed_event(
            payload, signature_header, self._webhook_secret, clock=self._clock
        )
