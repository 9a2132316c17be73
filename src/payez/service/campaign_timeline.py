"""Use case: how a campaign's donations added up over time, for its chart.

The same donations as the campaign's total (``campaigns._donations_filter``: settled or
claimed donations to the association from the campaign's first day to its last, days in Paris
time), summed by day, week or month from the first day up to today or the last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from payez.adapters.db.tables.campaigns import campaigns
from payez.adapters.db.tables.payments import payments
from payez.domain.charts import periods
from payez.domain.money import Money
from payez.service.campaigns import (
    PARIS,
    Campaign,
    CampaignUnknown,
    _campaign,
    _donations_filter,
    paris_today,
)
from payez.service.chart_periods import period_index, utc_bounds, within
from payez.service.context import ServiceContext


@dataclass(frozen=True, slots=True)
class PeriodGifts:
    first_day: date
    last_day: date
    given: Money
    gifts: int


@dataclass(frozen=True, slots=True)
class CampaignTimeline:
    campaign: Campaign
    kind: str  # day | week | month: how long each period is
    periods: tuple[PeriodGifts, ...]  # oldest first; none before the campaign starts


def timeline_of(ctx: ServiceContext, campaign: Campaign) -> CampaignTimeline:
    today = paris_today(ctx)
    last = min(campaign.ends_on, today) if campaign.ends_on is not None else today
    kind, days = periods(campaign.starts_on, last + timedelta(days=1))
    if len(days) < 2:
        return CampaignTimeline(campaign, kind, ())
    bounds = utc_bounds(days, PARIS)
    counted = sa.select(
        period_index(payments.c.created_at, bounds).label("period"), payments.c.amount_cents
    ).where(*_donations_filter(campaign.association_user_id, campaign))
    gifts = counted.where(within(payments.c.created_at, bounds)).subquery()
    query = sa.select(gifts.c.period, sa.func.sum(gifts.c.amount_cents), sa.func.count()).group_by(
        gifts.c.period
    )
    with ctx.engine.connect() as conn:
        sums = {int(p): (int(total), int(n)) for p, total, n in conn.execute(query)}
    return CampaignTimeline(
        campaign,
        kind,
        tuple(
            PeriodGifts(
                days[i],
                days[i + 1] - timedelta(days=1),
                Money.eur(sums.get(i, (0, 0))[0]),
                sums.get(i, (0, 0))[1],
            )
            for i in range(len(days) - 1)
        ),
    )


def campaign_timeline(ctx: ServiceContext, campaign_id: int) -> CampaignTimeline:
    with ctx.engine.connect() as conn:
        row = conn.execute(sa.select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise CampaignUnknown(str(campaign_id))
    return timeline_of(ctx, _campaign(row))
