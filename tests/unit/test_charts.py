"""Chart geometry: nice ticks, exact scaling in integer cents, and the odd series."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from markupsafe import Markup

from payez.domain.charts import (
    ChartValueInvalid,
    Layout,
    bar_chart,
    cumulative,
    line_chart,
    month_starts,
    nice_step,
    nice_ticks,
    periods,
    plain_values,
)
from payez.domain.money import Money
from payez.entrypoints.web.charts import (
    Figures,
    SeriesLook,
    TableRow,
    axis_money,
    bar_chart_svg,
    plain_count,
)


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, (0, 1)),
        (1, (0, 1)),
        (7, (0, 2, 4, 6, 8)),
        (10, (0, 5, 10)),
        (350, (0, 100, 200, 300, 400)),
        (1_000, (0, 500, 1_000)),
        (1_001, (0, 500, 1_000, 1_500)),
        (12_345, (0, 5_000, 10_000, 15_000)),
    ],
)
def test_nice_ticks_start_at_zero_and_reach_the_maximum(
    maximum: int, ticks: tuple[int, ...]
) -> None:
    assert nice_ticks(maximum) == ticks


def test_ticks_are_integers_with_a_step_of_one_two_or_five_times_a_power_of_ten() -> None:
    for maximum in [*range(0, 2_000, 7), 10**15 + 3, 2**62]:
        ticks = nice_ticks(maximum)
        step = nice_step(maximum)
        assert all(type(t) is int for t in ticks)
        assert ticks[0] == 0 and ticks[-1] >= maximum
        assert ticks[-1] - step < maximum or maximum == 0
        assert 2 <= len(ticks) <= 6
        digits = str(step).rstrip("0")
        assert digits in ("1", "2", "5")


def _layout() -> Layout:
    return Layout(width=400, height=220)


def test_bars_are_proportional_to_the_cents() -> None:
    chart = bar_chart(
        ["a", "b", "c"],
        [[Money.eur(100), Money.eur(250), Money.eur(0)], [Money.eur(400), Money.eur(50), 0]],
        layout=_layout(),
    )
    assert [t.value for t in chart.ticks] == [0, 100, 200, 300, 400]
    plot = chart.plot
    bars = [b for c in chart.columns for b in c.bars]
    assert [b.value for b in bars] == [100, 400, 250, 50, 0, 0]
    for bar in bars:
        assert bar.height == pytest.approx(plot.height * bar.value / 400)
        assert bar.y + bar.height == pytest.approx(plot.bottom)
    # Side by side within their column, the columns left to right.
    first, second = chart.columns[0].bars
    assert second.x == pytest.approx(first.x + first.width)
    assert chart.columns[0].x < chart.columns[1].x < chart.columns[2].x
    assert plot.left > 0 and plot.right <= 400


def test_an_empty_series_draws_flat_bars_on_a_zero_to_one_axis() -> None:
    chart = bar_chart(["a", "b"], [[0, 0]])
    assert chart.empty
    assert [t.value for t in chart.ticks] == [0, 1]
    assert all(b.height == 0 for c in chart.columns for b in c.bars)
    nothing = bar_chart([], [[]])
    assert nothing.columns == () and nothing.empty


def test_a_single_huge_value_keeps_its_exact_cents_and_small_ones_stay_visible() -> None:
    huge = 10**15 + 1  # ten thousand billion euros and a cent: past a float's exact cents
    chart = bar_chart(["a", "b"], [[Money.eur(huge), Money.eur(1)]])
    big, small = (c.bars[0] for c in chart.columns)
    assert big.value == huge and type(big.value) is int
    assert chart.ticks[-1].value >= huge
    assert 0 < big.height <= chart.plot.height
    assert small.value == 1 and small.height == pytest.approx(1)  # drawn one unit high


def test_negative_mixed_or_float_values_are_refused() -> None:
    with pytest.raises(ChartValueInvalid):
        bar_chart(["a"], [[-1]])
    with pytest.raises(ChartValueInvalid):
        bar_chart(["a"], [[Money.eur(-100)]])
    with pytest.raises(ChartValueInvalid):
        plain_values([Money.eur(1), Money(1, "USD")])
    with pytest.raises(ChartValueInvalid):
        plain_values([1.5])  # type: ignore[list-item]
    with pytest.raises(ChartValueInvalid):
        plain_values([True])
    with pytest.raises(ChartValueInvalid):
        bar_chart(["a", "b"], [[1]])  # one value short
    with pytest.raises(ChartValueInvalid):
        nice_ticks(-5)


def test_crowded_labels_show_one_in_every_few_counting_from_the_newest() -> None:
    labels = [f"label {i}" for i in range(30)]
    chart = bar_chart(labels, [[1] * 30])
    shown = [c.index for c in chart.columns if c.show_label]
    assert shown[-1] == 29 and 2 < len(shown) < 30
    stride = shown[1] - shown[0]
    assert all(b - a == stride for a, b in pairwise(shown))
    roomy = bar_chart(["a", "b", "c"], [[1, 2, 3]])
    assert all(c.show_label for c in roomy.columns)


def test_a_line_reaches_its_goal_level_and_keeps_cents() -> None:
    chart = line_chart(["1", "2", "3"], cumulative([500, 0, 1_500]), reference=Money.eur(5_000))
    assert [p.value for p in chart.points] == [500, 500, 2_000]
    assert chart.reference == 5_000
    assert chart.ticks[-1].value >= 5_000
    assert chart.reference_y is not None
    assert chart.reference_y < chart.points[-1].y < chart.points[0].y + 0.001
    assert chart.path.startswith("M") and chart.path.count("L") == 2
    assert line_chart([], [], reference=100).points == ()


def test_month_starts_cross_the_year() -> None:
    assert month_starts(date(2026, 2, 17), 3) == (
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    )
    assert len(month_starts(date(2026, 12, 31), 12)) == 13
    with pytest.raises(ChartValueInvalid):
        month_starts(date(2026, 1, 1), 0)


def test_periods_by_day_week_or_month() -> None:
    kind, days = periods(date(2026, 3, 1), date(2026, 3, 11))
    assert kind == "day" and len(days) == 11 and days[-1] == date(2026, 3, 11)
    kind, weeks = periods(date(2026, 1, 1), date(2026, 6, 1))
    assert kind == "week" and weeks[0] == date(2026, 1, 1) and weeks[-1] == date(2026, 6, 1)
    assert all((b - a).days == 7 for a, b in pairwise(weeks[:-1]))
    kind, months = periods(date(2025, 1, 15), date(2026, 12, 7))
    assert kind == "month" and months[:3] == (date(2025, 1, 15), date(2025, 2, 1), date(2025, 3, 1))
    assert months[-1] == date(2026, 12, 7) and len(months) == 25
    assert periods(date(2026, 3, 1), date(2026, 3, 1)) == ("day", (date(2026, 3, 1),))


def test_svg_escapes_every_text_and_carries_the_figures() -> None:
    chart = bar_chart(["<b>"], [[Money.eur(1_250)]], tick_label=axis_money("fr"))
    nasty = '"><script>alert(1)</script>'
    svg = bar_chart_svg(
        chart,
        chart_id="c",
        title=nasty,
        desc=nasty,
        series=[SeriesLook("in", nasty, "in")],
        periods=["2026-01"],
        unit="cents",
        value_text=lambda c: Money.eur(c).format("fr"),
        figures=Figures(nasty, nasty, (nasty,), (TableRow("2026-01", nasty, (nasty,)),)),
        show_figures=nasty,
    )
    assert isinstance(svg, Markup)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert 'data-cents="1250"' in svg and 'data-period="2026-01"' in svg
    assert svg.count('data-period="2026-01"') == 3  # the group, its bar, its table row
    assert "var(--pz-in,#0a7a2f)" in svg and "viewBox=" in svg
    assert "12,50\u00a0€" in svg


def test_axis_and_count_labels_in_each_language() -> None:
    assert axis_money("fr")(100_000) == "1\u202f000\u00a0€"
    assert axis_money("en")(100_000) == "€1,000"
    assert axis_money("fr")(150) == "1,50\u00a0€"
    assert axis_money("en")(150) == "€1.50"
    assert plain_count("fr")(12_345) == "12\u202f345"
    assert plain_count("en")(12_345) == "12,345"
