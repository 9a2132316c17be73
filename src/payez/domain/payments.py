"""The payment state machine.

A payment is born when a command post is processed and ends in exactly one final state::

    (new post) ──► ignored                       not a command, a repost, a quote
               ──► rejected                      refused, with a reason code
               ──► awaiting_confirmation ──► settled | held_for_claim | rejected | cancelled
               ──► settled                       the recipient had Payez: money moved
               ──► held_for_claim ──► claimed    the recipient joined and proved the account
                                  ──► refunded   the claim window closed: money went back
                                  ──► cancelled  the post was deleted before the claim

Every transition is written in the same database transaction as its ledger transfers and the
replies it sends, so a crash can never leave money moved without the state saying so.
"""

from __future__ import annotations

from enum import StrEnum

from payez.domain.errors import PayezError


class PaymentState(StrEnum):
    IGNORED = "ignored"
    REJECTED = "rejected"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    SETTLED = "settled"
    HELD_FOR_CLAIM = "held_for_claim"
    CLAIMED = "claimed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class PaymentKind(StrEnum):
    SEND = "send"
    DONATION = "donation"
    PURCHASE = "purchase"


FINAL_STATES = frozenset(
    {
        PaymentState.IGNORED,
        PaymentState.REJECTED,
        PaymentState.SETTLED,
        PaymentState.CLAIMED,
        PaymentState.REFUNDED,
        PaymentState.CANCELLED,
    }
)

_ALLOWED: dict[PaymentState, frozenset[PaymentState]] = {
    PaymentState.AWAITING_CONFIRMATION: frozenset(
        {
            PaymentState.SETTLED,
            PaymentState.HELD_FOR_CLAIM,
            PaymentState.REJECTED,
            PaymentState.CANCELLED,
        }
    ),
    PaymentState.HELD_FOR_CLAIM: frozenset(
        {PaymentState.CLAIMED, PaymentState.REFUNDED, PaymentState.CANCELLED}
    ),
}


class TransitionRefused(PayezError):
    code = "payment_transition_refused"
    message_fr = "Ce paiement n'est plus dans un état qui permet cette action."
    message_en = "This payment is no longer in a state that allows this action."


def can_move(current: PaymentState, target: PaymentState) -> bool:
    return target in _ALLOWED.get(current, frozenset())


def ensure_can_move(current: PaymentState, target: PaymentState) -> None:
    if not can_move(current, target):
        raise TransitionRefused(f"{current} -> {target}")
