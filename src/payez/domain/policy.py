"""The payment policy, in one place: limits, caps and when a payment needs confirmation.

Pure functions over plain figures; the service layer gathers the figures (a sender's totals,
the time since the last confirmation) and writes the outcome. Every refusal is a stable code
that the replies module explains in French and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

ConfirmMode = Literal["psd2", "always", "never"]


class RecipientKind(StrEnum):
    PERSON = "person"
    ASSOCIATION = "association"
    MERCHANT = "merchant"
    NEWCOMER = "newcomer"  # not on Payez yet: the money waits for a claim


class Refusal(StrEnum):
    AMOUNT_OVER_LIMIT = "amount_over_limit"
    AMOUNT_BELOW_MINIMUM = "amount_below_minimum"
    DAILY_CAP_EXCEEDED = "daily_cap_exceeded"
    MONTHLY_CAP_EXCEEDED = "monthly_cap_exceeded"
    SELF_PAYMENT = "self_payment"
    SENDER_UNKNOWN = "sender_unknown"
    SENDER_UNVERIFIED = "sender_unverified"
    SENDER_FROZEN = "sender_frozen"
    RECIPIENT_UNKNOWN = "recipient_unknown"
    RECIPIENT_FROZEN = "recipient_frozen"
    FUNDING_FAILED = "funding_failed"
    LISTING_PRICE_MISMATCH = "listing_price_mismatch"
    LISTING_SOLD_OUT = "listing_sold_out"
    NOT_A_LISTING = "not_a_listing"
    CONFIRMATION_EXPIRED = "confirmation_expired"
    CURRENCY_UNSUPPORTED = "currency_unsupported"
    TOO_MANY_ORDERS = "too_many_orders"
    REQUEST_CLOSED = "request_closed"  # the memo names a request paid, cancelled or expired


class ConfirmReason(StrEnum):
    ALWAYS = "always"
    FIRST_PAYMENT = "first_payment"
    NEW_MERCHANT = "new_merchant"
    STALE_POST = "stale_post"
    EDITED_POST = "edited_post"
    OVER_LOW_VALUE_LIMIT = "over_low_value_limit"
    CUMULATIVE_LIMIT = "cumulative_limit"


@dataclass(frozen=True, slots=True)
class Limits:
    max_person_cents: int = 25_000
    max_association_cents: int = 50_000
    min_cents: int = 50
    daily_cap_cents: int = 100_000
    monthly_cap_cents: int = 250_000
    confirm: ConfirmMode = "psd2"
    psd2_single_cents: int = 3_000
    psd2_cumulative_cents: int = 10_000
    psd2_cumulative_count: int = 5
    stale_after: timedelta = timedelta(minutes=10)
    # What a sender who has not passed the identity check may still pay: payment kinds
    # ("send", "donation", "purchase"). EU rules allow no anonymous person-to-person e-money.
    unverified_may: frozenset[str] = frozenset({"donation", "purchase"})
    # Payment orders one sender may post in an hour, whatever becomes of them (0: no limit):
    # a flood of tiny payments or spam memos is refused here, not only flagged.
    orders_per_hour: int = 100

    def max_for(self, recipient: RecipientKind) -> int:
        if recipient is RecipientKind.ASSOCIATION:
            return self.max_association_cents
        return self.max_person_cents


@dataclass(frozen=True, slots=True)
class SenderTotals:
    """What a sender has already committed, gathered by the service layer."""

    last_24h_cents: int = 0
    last_30d_cents: int = 0
    # Since the last strong confirmation (PSD2 low-value exemption counters).
    since_confirmation_cents: int = 0
    since_confirmation_count: int = 0
    has_paid_before: bool = False
    # Payment orders in the last hour, whatever their outcome (the flood limit).
    orders_last_hour: int = 0


def over_order_limit(limits: Limits, totals: SenderTotals) -> bool:
    """True when the sender has already posted as many orders this hour as the policy allows."""
    return 0 < limits.orders_per_hour <= totals.orders_last_hour


def refusal_for_amount(
    limits: Limits, amount_cents: int, recipient: RecipientKind, totals: SenderTotals
) -> Refusal | None:
    """The first rule an amount breaks, or None when it may be paid."""
    if amount_cents < limits.min_cents:
        return Refusal.AMOUNT_BELOW_MINIMUM
    if amount_cents > limits.max_for(recipient):
        return Refusal.AMOUNT_OVER_LIMIT
    if totals.last_24h_cents + amount_cents > limits.daily_cap_cents:
        return Refusal.DAILY_CAP_EXCEEDED
    if totals.last_30d_cents + amount_cents > limits.monthly_cap_cents:
        return Refusal.MONTHLY_CAP_EXCEEDED
    return None


def confirmation_reason(
    limits: Limits,
    amount_cents: int,
    totals: SenderTotals,
    *,
    posted_at: datetime,
    seen_at: datetime,
    edited: bool = False,
    new_merchant: bool = False,
) -> ConfirmReason | None:
    """Why this payment must wait for the sender's confirmation, or None to pay at once.

    Stale and edited posts are confirmed whatever the mode: a post seen long after it was
    written (a backfill after an outage) may no longer be what its author wants.
    """
    if seen_at - posted_at > limits.stale_after:
        return ConfirmReason.STALE_POST
    if edited:
        return ConfirmReason.EDITED_POST
    if limits.confirm == "never":
        return None
    if limits.confirm == "always":
        return ConfirmReason.ALWAYS
    if not totals.has_paid_before:
        return ConfirmReason.FIRST_PAYMENT
    if new_merchant:
        return ConfirmReason.NEW_MERCHANT
    if amount_cents > limits.psd2_single_cents:
        return ConfirmReason.OVER_LOW_VALUE_LIMIT
    if (
        totals.since_confirmation_cents + amount_cents > limits.psd2_cumulative_cents
        or totals.since_confirmation_count + 1 > limits.psd2_cumulative_count
    ):
        return ConfirmReason.CUMULATIVE_LIMIT
    return None
