"""Use case: what operators see at a glance on the back-office home, day by day.

For each of the last days, on a clock in the operator's time zone: the volume that moved
(payments ``settled`` or ``claimed``: amount and number), the payments refused (``rejected``),
and the payments the velocity rules flagged. Two grouped queries, one per table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from payez.adapters.db.tables.backoffice import payment_flags
from payez.adapters.db.tables.payments import payments
from payez.domain.money import Money
from payez.domain.payments import PaymentState
from payez.service.chart_periods import period_index, utc_bounds, within
from payez.service.context import ServiceContext
from payez.service.operators import check_operator

DAYS = 30
MOVED_STATES = (PaymentState.SETTLED.value, PaymentState.CLAIMED.value)
REFUSED = PaymentState.REJECTED.value


@dataclass(frozen=True, slots=True)
class DayActivity:
    day: date
    volume: Money
    moved: int  # payments that moved money
    refused: int
    flagged: int


def daily_activity(
    ctx: ServiceContext, operator_user_id: int, zone: ZoneInfo, days: int = DAYS
) -> tuple[DayActivity, ...]:
    today = ctx.now().astimezone(zone).date()
    starts = [today - timedelta(days=days - 1 - k) for k in range(days + 1)]
    bounds = utc_bounds(starts, zone)
    moved = sa.case((payments.c.state == REFUSED, "refused"), else_="moved")
    decided = (
        sa.select(
            period_index(payments.c.created_at, bounds).label("period"),
            moved.label("outcome"),
            payments.c.amount_cents,
        )
        .where(
            payments.c.state.in_((*MOVED_STATES, REFUSED)),
            within(payments.c.created_at, bounds),
        )
        .subquery()
    )
    by_outcome = sa.select(
        decided.c.period,
        decided.c.outcome,
        sa.func.coalesce(sa.func.sum(decided.c.amount_cents), 0),
        sa.func.count(),
    ).group_by(decided.c.period, decided.c.outcome)
    flagged = (
        sa.select(
            period_index(payment_flags.c.created_at, bounds).label("period"),
            payment_flags.c.id,
        )
        .where(within(payment_flags.c.created_at, bounds))
        .subquery()
    )
    by_flag = sa.select(flagged.c.period, sa.func.count()).group_by(flagged.c.period)
    with ctx.engine.connect() as conn:
        check_operator(conn, operator_user_id)
        outcomes = {
            (int(p), str(o)): (int(total), int(n)) for p, o, total, n in conn.execute(by_outcome)
        }
        flags = {int(p): int(n) for p, n in conn.execute(by_flag)}
    return tuple(
        DayActivity(
            day,
            Money.eur(outcomes.get((i, "moved"), (0, 0))[0]),
            outcomes.get((i, "moved"), (0, 0))[1],
            outcomes.get((i, "refused"), (0, 0))[1],
            flags.get(i, 0),
        )
        for i, day in enumerate(starts[:-1])
    )
