"""Reply budgets: what the service account may post on a network, and who gets it first.

Every network caps what one account posts: X per 15 minutes and per 24 hours by access tier,
Bluesky in points (5,000 an hour, 35,000 a day, 3 a post), Mastodon 300 statuses in 3 hours by
default. A budget is a set of sliding windows and the cost of one post. The outbox spends it on
replies that need the user first (confirmation and claim links, refusals, help), and keeps a
reserve for them: a plain acknowledgement ("done: payment sent") is sent only while the budget
stays above the reserve, and otherwise becomes an in-app notification instead of waiting hours.
A reply that needs the user is never dropped: when the budget is spent it waits for the window
to free room. Money never waits for any of this: payments are decided before replies are sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final, Literal

from payez.domain.errors import InvalidInput


class ReplyBudgetInvalid(InvalidInput):
    code = "reply_budget_invalid"
    message_fr = (
        "Budget de réponses illisible : écrivez par exemple « 300/3h » ou « 100/15m,1667/24h »."
    )
    message_en = "Unreadable reply budget: write for instance “300/3h” or “100/15m,1667/24h”."


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` points spent in any ``period``."""

    limit: int
    period: timedelta

    @property
    def label(self) -> str:
        seconds = int(self.period.total_seconds())
        for unit, size in (("h", 3_600), ("m", 60)):
            if seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"


# How a network's private messages count: drawn on the same budget as posts (Mastodon: a direct
# message is a status), on a budget of their own, or not available at all.
PrivateMessages = Literal["spend", "separate", "none"]


@dataclass(frozen=True, slots=True)
class ReplyBudget:
    windows: tuple[Window, ...] = ()
    cost: int = 1  # points one post spends
    private_messages: PrivateMessages = "spend"

    @property
    def unlimited(self) -> bool:
        return not self.windows

    @property
    def longest(self) -> timedelta:
        return max((w.period for w in self.windows), default=timedelta(0))


UNLIMITED: Final = ReplyBudget()

_UNITS: Final = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
_WINDOW: Final = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{0,6})\s*([smhd])\s*$")


def parse_windows(text: str, *, cost: int = 1) -> tuple[Window, ...]:
    """``"100/15m,1667/24h"`` → two windows; empty text is no limit at all.

    Each window must afford one post (``limit >= cost``), else nothing could ever be sent.
    """
    if not text.strip():
        return ()
    windows: list[Window] = []
    for part in text.split(","):
        found = _WINDOW.match(part)
        if found is None:
            raise ReplyBudgetInvalid(f"unreadable window {part.strip()!r}")
        limit, count, unit = int(found[1]), int(found[2] or 1), found[3]
        if count == 0:
            raise ReplyBudgetInvalid(f"empty period in {part.strip()!r}")
        if limit < cost:
            raise ReplyBudgetInvalid(f"{part.strip()!r} cannot afford one post ({cost} points)")
        windows.append(Window(limit, timedelta(seconds=count * _UNITS[unit])))
    return tuple(sorted(windows, key=lambda w: w.period))


class Priority(Enum):
    NEEDS_USER = "needs_user"  # a link to follow, a refusal to understand: sent, even if late
    ACKNOWLEDGEMENT = "acknowledgement"  # good news the dashboard also shows: may be downgraded


# Outcomes that only tell the user something went through: the dashboard shows the same.
ACKNOWLEDGEMENTS: Final = frozenset(
    {
        "settled",
        "donation_settled",
        "purchase_settled",
        "received",
        "account_linked",
        "refunded",
    }
)


def priority_of(outcome: str | None) -> Priority:
    return Priority.ACKNOWLEDGEMENT if outcome in ACKNOWLEDGEMENTS else Priority.NEEDS_USER


@dataclass(frozen=True, slots=True)
class Spend:
    at: datetime
    cost: int


@dataclass(frozen=True, slots=True)
class Send:
    pass


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime


@dataclass(frozen=True, slots=True)
class Downgrade:
    pass


Verdict = Send | Defer | Downgrade


def remaining(budget: ReplyBudget, spends: Iterable[Spend], now: datetime) -> dict[Window, int]:
    """Points left in each window at ``now`` (never below zero)."""
    spent = list(spends)
    return {
        w: max(0, w.limit - sum(s.cost for s in spent if s.at > now - w.period))
        for w in budget.windows
    }


def reserve(window: Window, percent: int) -> int:
    """Points of ``window`` kept for replies that need the user."""
    return math.ceil(window.limit * percent / 100)


def _free_at(window: Window, spends: Sequence[Spend], now: datetime, needed: int) -> datetime:
    """When ``needed`` points will be free in ``window``: as its oldest spends leave it."""
    inside = sorted((s for s in spends if s.at > now - window.period), key=lambda s: s.at)
    left = window.limit - sum(s.cost for s in inside)
    for spend in inside:
        if left >= needed:
            break
        left += spend.cost
        if left >= needed:
            return spend.at + window.period
    return now


def plan(
    budget: ReplyBudget,
    spends: Sequence[Spend],
    now: datetime,
    priorities: Sequence[Priority],
    *,
    reserve_percent: int,
) -> list[Verdict]:
    """What to do with each message of a batch, in the order given (oldest first).

    Replies that need the user are served before acknowledgements, whatever their order; an
    acknowledgement is sent only if what is left after it stays above every window's reserve.
    """
    if budget.unlimited:
        return [Send() for _ in priorities]
    ledger = list(spends)
    verdicts: list[Verdict | None] = [None] * len(priorities)
    order = sorted(
        range(len(priorities)), key=lambda i: (priorities[i] is Priority.ACKNOWLEDGEMENT, i)
    )
    for index in order:
        left = remaining(budget, ledger, now)
        needs_user = priorities[index] is Priority.NEEDS_USER
        kept = {w: 0 if needs_user else reserve(w, reserve_percent) for w in budget.windows}
        if all(left[w] - budget.cost >= kept[w] for w in budget.windows):
            ledger.append(Spend(now, budget.cost))
            verdicts[index] = Send()
        elif needs_user:
            short = [w for w in budget.windows if left[w] < budget.cost]
            until = max(_free_at(w, ledger, now, budget.cost) for w in short)
            verdicts[index] = Defer(until)
        else:
            verdicts[index] = Downgrade()
    return [v for v in verdicts if v is not None]
