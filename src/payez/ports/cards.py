"""The card processor port: save a card, charge it off-session, refund, list, verify webhooks.

Two implementations pass the same conformance tests: the Stripe adapter
(``payez.adapters.cards.stripe``) and the sandbox processor (``payez.sandbox.cards``).

Contract, in short:

- ``charge`` never raises for a refusal by the bank: it returns a :class:`Charge` whose status
  is ``failed`` with a ``failure_code`` (``card_declined``, ``insufficient_funds``, ...), or
  ``requires_action`` with an ``action_url`` when the bank asks the cardholder to authenticate.
  It raises :class:`ProcessorError` only when no decision was made (processor unreachable, no
  saved card, bad request).
- ``attach_card`` raises :class:`CardDeclined` when the bank refuses to save the card (Stripe's
  documented test cards 4000000000000002 and 4000000000009995 are refused at this step).
- Every call that moves money takes the caller's idempotency key, and the processor records it
  on the charge (``Charge.idempotency_key``) so a caller that crashed can find its charge again.

Errors::

    ProcessorError                  processor_error
    ├── ProcessorUnavailable        processor_unavailable   (retry later with the same key)
    ├── ProcessorRequestRejected    processor_request_rejected
    ├── ProcessorObjectNotFound     processor_object_not_found
    ├── CardMissing                 card_missing
    ├── CardDeclined                card_declined           (.decline_code)
    ├── RefundRefused               refund_refused
    └── WebhookSignatureInvalid     webhook_signature_invalid
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from payez.domain.errors import PayezError
from payez.domain.money import Money

ChargeStatus = Literal["succeeded", "requires_action", "failed"]
FINAL_CHARGE_STATUSES: frozenset[str] = frozenset({"succeeded", "failed"})


class ProcessorError(PayezError):
    code = "processor_error"
    message_fr = "Le service de paiement par carte a renvoyé une erreur."
    message_en = "The card payment service returned an error."


class ProcessorUnavailable(ProcessorError):
    code = "processor_unavailable"
    message_fr = "Le service de paiement par carte est indisponible ; réessayez plus tard."
    message_en = "The card payment service is unavailable; please try again later."


class ProcessorRequestRejected(ProcessorError):
    code = "processor_request_rejected"
    message_fr = "Le service de paiement par carte a refusé la demande."
    message_en = "The card payment service refused the request."


class ProcessorObjectNotFound(ProcessorError):
    code = "processor_object_not_found"
    message_fr = "Paiement par carte introuvable."
    message_en = "Card payment not found."


class CardMissing(ProcessorError):
    code = "card_missing"
    message_fr = "Aucune carte n'est enregistrée : ajoutez une carte dans votre espace Payez."
    message_en = "No card is saved: add a card in your Payez dashboard."


class CardDeclined(ProcessorError):
    code = "card_declined"
    message_fr = "La banque a refusé cette carte."
    message_en = "The bank declined this card."

    def __init__(self, detail: str | None = None, *, decline_code: str = "card_declined") -> None:
        super().__init__(detail or decline_code)
        self.decline_code = decline_code


class RefundRefused(ProcessorError):
    code = "refund_refused"
    message_fr = "Ce remboursement est impossible (montant trop élevé ou paiement non abouti)."
    message_en = "This refund is not possible (amount too high or payment not completed)."


class WebhookSignatureInvalid(ProcessorError):
    code = "webhook_signature_invalid"
    message_fr = "Signature de notification invalide."
    message_en = "Invalid notification signature."


@dataclass(frozen=True, slots=True)
class CardSetup:
    """What the browser needs to save a card with the processor's own page or script."""

    setup_id: str
    client_secret: str
    customer_id: str


@dataclass(frozen=True, slots=True)
class SavedCard:
    payment_method_id: str
    brand: str
    last4: str


@dataclass(frozen=True, slots=True)
class Charge:
    """One off-session card payment as the processor sees it.

    ``action_url`` is set when ``status`` is ``requires_action``: the page where the cardholder
    completes strong authentication. ``idempotency_key`` is the caller's key, echoed back from
    the processor's metadata.
    """

    id: str
    amount: Money
    status: ChargeStatus
    failure_code: str | None = None
    action_url: str | None = None
    idempotency_key: str | None = None
    created_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_CHARGE_STATUSES


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    charge_id: str
    amount: Money
    status: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified notification. ``object_id`` names the charge (or refund) it is about."""

    id: str
    type: str
    object_id: str
    data: Mapping[str, object]


class CardProcessor(Protocol):
    name: str

    def create_customer(self, *, reference: str, email: str | None, idempotency_key: str) -> str:
        """A processor customer for one Payez user; returns its id."""
        ...

    def start_card_setup(self, *, customer_id: str, idempotency_key: str) -> CardSetup:
        """Begin saving a card: the browser completes it with ``client_secret``."""
        ...

    def attach_card(self, *, customer_id: str, card_token: str) -> SavedCard:
        """Attach a card (a payment method id, or a test card number) as the default card."""
        ...

    def charge(
        self, *, customer_id: str, amount: Money, idempotency_key: str, description: str
    ) -> Charge:
        """Charge the default card off-session; refusals come back as ``failed``."""
        ...

    def retrieve_charge(self, charge_id: str) -> Charge: ...

    def refund(self, *, charge_id: str, amount: Money, idempotency_key: str) -> Refund: ...

    def list_charges(self, *, since: datetime | None = None) -> list[Charge]:
        """Every charge created at or after ``since`` (all when None), for reconciliation."""
        ...

    def list_refunds(self, *, since: datetime | None = None) -> list[Refund]: ...

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent:
        """The verified event; raises :class:`WebhookSignatureInvalid` otherwise."""
        ...
