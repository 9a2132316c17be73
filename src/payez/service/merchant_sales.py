"""Use case: a merchant's sales month by month, for the chart of the merchant area.

A sale is an order still ``paid``: orders are only written once the buyer's money reached the
merchant (settled), and a refunded order gave it back, so it is left out. Each counts in the
month it was bought, on a clock in the merchant's time zone. One grouped query on the
``(merchant_user_id, created_at)`` index of orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from payez.adapters.db.tables.payments import orders
from payez.domain.charts import month_starts
from payez.domain.money import Money
from payez.service.chart_periods import period_index, utc_bounds, within
from payez.service.context import ServiceContext
from payez.service.create_listing import require_merchant

MONTHS = 12


@dataclass(frozen=True, slots=True)
class MonthSales:
    month: date  # the month's first day
    amount: Money
    orders: int


def sales_by_month(
    ctx: ServiceContext, merchant_user_id: int, zone: ZoneInfo, months: int = MONTHS
) -> tuple[MonthSales, ...]:
    starts = month_starts(ctx.now().astimezone(zone).date(), months)
    bounds = utc_bounds(starts, zone)
    sold = (
        sa.select(period_index(orders.c.created_at, bounds).label("period"), orders.c.amount_cents)
        .where(
            orders.c.merchant_user_id == merchant_user_id,
            orders.c.state == "paid",
            within(orders.c.created_at, bounds),
        )
        .subquery()
    )
    query = sa.select(sold.c.period, sa.func.sum(sold.c.amount_cents), sa.func.count()).group_by(
        sold.c.period
    )
    with ctx.engine.connect() as conn:
        require_merchant(conn, merchant_user_id)
        sums = {int(p): (int(total), int(n)) for p, total, n in conn.execute(query)}
    return tuple(
        MonthSales(first, Money.eur(sums.get(i, (0, 0))[0]), sums.get(i, (0, 0))[1])
        for i, first in enumerate(starts[:-1])
    )
