"""Velocity rules: patterns of a sender's payments that an operator should look at.

A rule raises a flag on a payment that went through; it never refuses one (the limits in
``policy`` do that). The service layer gathers each sender's recent activity in one grouped
query and this module decides, from plain figures, which rules the activity trips. Every
threshold is configurable; a threshold of 0 turns its rule off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum


class VelocityRule(StrEnum):
    BURST = "burst"  # many payments within a few minutes
    NEW_RECIPIENTS = "new_recipients"  # many recipients paid for the first time in a day
    NEAR_LIMIT = "near_limit"  # amounts just under the per-payment limit, again and again


@dataclass(frozen=True, slots=True)
class VelocityRules:
    burst_count: int = 10  # flag beyond this many payments ...
    burst_window: timedelta = timedelta(minutes=10)  # ... within this window
    new_recipients_per_day: int = 5  # flag beyond this many first-time recipients in 24 h
    near_limit_percent: int = 90  # "just under the limit": at least this share of it
    near_limit_count: int = 3  # flag from this many such payments in 24 h
    # How far back a recipient counts as already known (older payments are not read).
    lookback: timedelta = timedelta(days=30)

    def near_limit_floor(self, limit_cents: int) -> int:
        """The smallest amount that counts as just under ``limit_cents`` (integer cents)."""
        return -(-limit_cents * self.near_limit_percent // 100)


@dataclass(frozen=True, slots=True)
class SenderActivity:
    """One sender's payments that went through, counted by the service layer (this batch
    included)."""

    in_burst_window: int = 0
    new_recipients_today: int = 0
    near_limit_today: int = 0


@dataclass(frozen=True, slots=True)
class Flag:
    rule: VelocityRule
    detail: str  # the figures behind the flag, for the reviewer (not translated: codes)


def velocity_flags(rules: VelocityRules, activity: SenderActivity) -> list[Flag]:
    """The rules ``activity`` trips, in a fixed order."""
    flags: list[Flag] = []
    minutes = int(rules.burst_window.total_seconds() // 60)
    if rules.burst_count and activity.in_burst_window > rules.burst_count:
        flags.append(
            Flag(VelocityRule.BURST, f"{activity.in_burst_window} payments in {minutes} min")
        )
    new_limit = rules.new_recipients_per_day
    if new_limit and activity.new_recipients_today > new_limit:
        flags.append(
            Flag(
                VelocityRule.NEW_RECIPIENTS,
                f"{activity.new_recipients_today} new recipients in 24 h",
            )
        )
    if rules.near_limit_count and activity.near_limit_today >= rules.near_limit_count:
        flags.append(
            Flag(
                VelocityRule.NEAR_LIMIT,
                f"{activity.near_limit_today} payments of {rules.near_limit_percent}%+ "
                "of the limit in 24 h",
            )
        )
    return flags


# A payment's recipient as the rules tell recipients apart: (user id, network account id).
RecipientKey = tuple[int | None, str | None]


@dataclass(slots=True)
class RecentActivity:
    """One sender's payments that went through within the lookback, kept as the rules count
    them: read once before a batch is decided, then :meth:`add` counts the batch's own."""

    # Every recipient paid within the lookback, and how many of them were first paid today.
    known: set[RecipientKey] = field(default_factory=set)
    new_recipients_today: int = 0
    in_burst_window: int = 0
    near_limit_today: int = 0

    def add(
        self, recipient: RecipientKey, amount_cents: int | None, rules: VelocityRules,
        limit_cents: int,
    ) -> None:  # fmt: skip
        """Count a payment made now."""
        if recipient not in self.known:
            self.known.add(recipient)
            self.new_recipients_today += 1
        self.in_burst_window += 1
        floor = rules.near_limit_floor(limit_cents)
        if amount_cents is not None and floor <= amount_cents <= limit_cents:
            self.near_limit_today += 1

    def counts(self) -> SenderActivity:
        return SenderActivity(
            self.in_burst_window, self.new_recipients_today, self.near_limit_today
        )
