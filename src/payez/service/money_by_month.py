"""Use case: a member's money in and money out, month by month, for the dashboard's chart.

It counts what the history lists as done: payments in state ``settled`` or ``claimed`` (the
money reached its recipient; the ledger posted it), each in the month it was made, as the
history dates it, on a clock in the member's time zone. Payments refused, cancelled, awaiting
confirmation, waiting to be claimed or refunded moved no money for good and are left out.
Card top-ups and payouts are not payments: the chart shows what was paid and received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from payez.adapters.db.tables.payments import payments
from payez.domain.charts import month_starts
from payez.domain.money import Money
from payez.domain.payments import PaymentState
from payez.service.chart_periods import period_index, utc_bounds, within
from payez.service.context import ServiceContext

MONTHS = 12
MOVED_STATES = (PaymentState.SETTLED.value, PaymentState.CLAIMED.value)


@dataclass(frozen=True, slots=True)
class MonthFlow:
    month: date  # the month's first day
    received: Money
    sent: Money
    received_count: int
    sent_count: int


def money_by_month(
    ctx: ServiceContext, user_id: int, zone: ZoneInfo, months: int = MONTHS
) -> tuple[MonthFlow, ...]:
    """The last ``months`` months, this one included, oldest first; months with nothing too."""
    starts = month_starts(ctx.now().astimezone(zone).date(), months)
    bounds = utc_bounds(starts, zone)
    moved = sa.and_(
        payments.c.state.in_(MOVED_STATES),
        payments.c.amount_cents.is_not(None),
        within(payments.c.created_at, bounds),
    )
    # Two branches rather than an OR: the sent one reads the (sender, created_at) index.
    mine = sa.union_all(
        sa.select(
            period_index(payments.c.created_at, bounds).label("period"),
            sa.literal("out").label("direction"),
            payments.c.amount_cents,
        ).where(payments.c.sender_user_id == user_id, moved),
        sa.select(
            period_index(payments.c.created_at, bounds).label("period"),
            sa.literal("in").label("direction"),
            payments.c.amount_cents,
        ).where(payments.c.recipient_user_id == user_id, moved),
    ).subquery()
    query = sa.select(
        mine.c.period, mine.c.direction, sa.func.sum(mine.c.amount_cents), sa.func.count()
    ).group_by(mine.c.period, mine.c.direction)
    sums: dict[tuple[int, str], tuple[int, int]] = {}
    with ctx.engine.connect() as conn:
        for period, direction, total, count in conn.execute(query):
            sums[(int(period), str(direction))] = (int(total), int(count))
    out = []
    for i, first in enumerate(starts[:-1]):
        got, got_n = sums.get((i, "in"), (0, 0))
        gave, gave_n = sums.get((i, "out"), (0, 0))
        out.append(MonthFlow(first, Money.eur(got), Money.eur(gave), got_n, gave_n))
    return tuple(out)
