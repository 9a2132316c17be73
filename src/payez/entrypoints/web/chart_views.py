"""The charts of the pages: each use case's figures put in words (the viewer's language) and
drawn by ``charts.py``."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from payez.domain.charts import Layout, bar_chart, cumulative, line_chart
from payez.domain.errors import Language
from payez.domain.money import Money
from payez.entrypoints.web.charts import (
    Figures,
    SeriesLook,
    TableRow,
    axis_money,
    bar_chart_svg,
    day_label,
    line_chart_svg,
    money_text,
    month_label,
    plain_count,
)
from payez.entrypoints.web.i18n import texts
from payez.service.backoffice_activity import DayActivity
from payez.service.campaign_timeline import CampaignTimeline
from payez.service.merchant_sales import MonthSales
from payez.service.money_by_month import MonthFlow

# Thirty days of bars want a little more height per label than twelve months.
_DAILY = Layout(height=200)


def _total(amounts: Sequence[Money]) -> Money:
    return sum(amounts, Money.eur(0))


def money_by_month_chart(flows: Sequence[MonthFlow], language: Language) -> Markup:
    t = texts(language)
    money = money_text(language)
    labels = [month_label(f.month, language) for f in flows]
    chart = bar_chart(
        labels,
        [[f.received for f in flows], [f.sent for f in flows]],
        tick_label=axis_money(language),
    )
    received = _total([f.received for f in flows])
    sent = _total([f.sent for f in flows])
    incoming = SeriesLook("in", t["chart_in"], "in")
    outgoing = SeriesLook("out", t["chart_out"], "out")
    return bar_chart_svg(
        chart,
        chart_id="chart-money",
        title=t["chart_money_title"],
        desc=t["chart_money_desc"].format(
            months=len(flows), received=money(received.cents), sent=money(sent.cents)
        ),
        series=[incoming, outgoing],
        periods=[f.month.strftime("%Y-%m") for f in flows],
        unit="cents",
        value_text=money,
        figures=Figures(
            t["chart_money_title"],
            t["chart_month"],
            (incoming.name, outgoing.name),
            tuple(
                TableRow(
                    f.month.strftime("%Y-%m"),
                    month_label(f.month, language, year=True),
                    (f.received.format(language), f.sent.format(language)),
                )
                for f in flows
            ),
        ),
        show_figures=t["chart_show_figures"],
    )


def campaign_chart(timeline: CampaignTimeline, language: Language) -> Markup | None:
    """None before the campaign's first day: nothing to draw yet."""
    if not timeline.periods:
        return None
    t = texts(language)
    money = money_text(language)
    campaign = timeline.campaign
    by_month = timeline.kind == "month"
    labels = [
        month_label(p.first_day, language) if by_month else day_label(p.first_day, language)
        for p in timeline.periods
    ]
    totals = cumulative([p.given.cents for p in timeline.periods])
    chart = line_chart(labels, totals, reference=campaign.goal, tick_label=axis_money(language))
    raised = SeriesLook("raised", t["chart_raised"], "accent")
    goal = SeriesLook("goal", t["chart_goal"], "muted")
    chart_id = f"chart-campaign-{campaign.id}"
    first, last = timeline.periods[0].first_day, timeline.periods[-1].last_day
    return line_chart_svg(
        chart,
        chart_id=chart_id,
        title=t["chart_campaign_title"],
        desc=t["chart_campaign_desc"].format(
            raised=money(totals[-1]),
            goal=campaign.goal.format(language),
            first=day_label(first, language),
            last=day_label(last, language),
        ),
        line=raised,
        reference=goal,
        periods=[p.first_day.isoformat() for p in timeline.periods],
        value_text=money,
        figures=Figures(
            t["chart_campaign_title"],
            t["chart_period_" + timeline.kind],
            (t["chart_given"], raised.name),
            tuple(
                TableRow(
                    p.first_day.isoformat(),
                    month_label(p.first_day, language, year=True)
                    if by_month
                    else day_label(p.first_day, language),
                    (p.given.format(language), money(total)),
                )
                for p, total in zip(timeline.periods, totals, strict=True)
            ),
        ),
        show_figures=t["chart_show_figures"],
    )


def sales_chart(months: Sequence[MonthSales], language: Language) -> Markup:
    t = texts(language)
    money = money_text(language)
    labels = [month_label(m.month, language) for m in months]
    chart = bar_chart(labels, [[m.amount for m in months]], tick_label=axis_money(language))
    sales = SeriesLook("sales", t["chart_sales"], "accent")
    total = _total([m.amount for m in months])
    return bar_chart_svg(
        chart,
        chart_id="chart-sales",
        title=t["chart_sales_title"],
        desc=t["chart_sales_desc"].format(
            months=len(months), amount=money(total.cents), orders=sum(m.orders for m in months)
        ),
        series=[sales],
        periods=[m.month.strftime("%Y-%m") for m in months],
        unit="cents",
        value_text=money,
        figures=Figures(
            t["chart_sales_title"],
            t["chart_month"],
            (sales.name, t["chart_orders"]),
            tuple(
                TableRow(
                    m.month.strftime("%Y-%m"),
                    month_label(m.month, language, year=True),
                    (m.amount.format(language), str(m.orders)),
                )
                for m in months
            ),
        ),
        show_figures=t["chart_show_figures"],
        extra=[{"data-count": m.orders} for m in months],
    )


def backoffice_charts(days: Sequence[DayActivity], language: Language) -> tuple[Markup, Markup]:
    """The volume that moved, and the refusals and flags, per day."""
    t = texts(language)
    money = money_text(language)
    labels = [day_label(d.day, language, month=False) for d in days]
    periods = [d.day.isoformat() for d in days]
    rows_heading = t["chart_day"]
    full = [day_label(d.day, language) for d in days]
    volume = SeriesLook("volume", t["chart_volume"], "accent")
    volume_chart = bar_chart_svg(
        bar_chart(
            labels, [[d.volume for d in days]], tick_label=axis_money(language), layout=_DAILY
        ),
        chart_id="chart-volume",
        title=t["chart_volume_title"].format(days=len(days)),
        desc=t["chart_volume_desc"].format(
            days=len(days),
            amount=money(_total([d.volume for d in days]).cents),
            payments=sum(d.moved for d in days),
        ),
        series=[volume],
        periods=periods,
        unit="cents",
        value_text=money,
        figures=Figures(
            t["chart_volume_title"].format(days=len(days)),
            rows_heading,
            (volume.name, t["chart_payments"]),
            tuple(
                TableRow(p, f, (d.volume.format(language), str(d.moved)))
                for p, f, d in zip(periods, full, days, strict=True)
            ),
        ),
        show_figures=t["chart_show_figures"],
        extra=[{"data-count": d.moved} for d in days],
    )
    refusals = SeriesLook("refused", t["chart_refusals"], "warn")
    flags = SeriesLook("flagged", t["chart_flags"], "warn", opacity=".45")
    alerts_chart = bar_chart_svg(
        bar_chart(
            labels,
            [[d.refused for d in days], [d.flagged for d in days]],
            tick_label=plain_count(language),
            layout=_DAILY,
        ),
        chart_id="chart-alerts",
        title=t["chart_alerts_title"].format(days=len(days)),
        desc=t["chart_alerts_desc"].format(
            days=len(days),
            refused=sum(d.refused for d in days),
            flagged=sum(d.flagged for d in days),
        ),
        series=[refusals, flags],
        periods=periods,
        unit="count",
        value_text=plain_count(language),
        figures=Figures(
            t["chart_alerts_title"].format(days=len(days)),
            rows_heading,
            (refusals.name, flags.name),
            tuple(
                TableRow(p, f, (str(d.refused), str(d.flagged)))
                for p, f, d in zip(periods, full, days, strict=True)
            ),
        ),
        show_figures=t["chart_show_figures"],
    )
    return volume_chart, alerts_chart
