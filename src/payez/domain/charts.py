"""Chart geometry: series of amounts or counts turned into bars, lines and axis ticks.

Values stay exact integers (cents, or counts) from end to end: the axis is scaled by an integer
top tick, and only pixel positions are floats. Drawing (SVG markup, words, colours) is left to
the caller: this module knows nothing of languages or of HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate

from payez.domain.errors import InvalidInput
from payez.domain.money import Money

# Steps an axis may take, times a power of ten: 1, 2, 5, 10, 20, 50, ...
_NICE_MULTIPLIERS = (1, 2, 5)
# A character of the axis font is about this wide, in font sizes (system-ui digits and letters).
_CHAR_WIDTH = 0.62


class ChartValueInvalid(InvalidInput):
    code = "chart_value_invalid"
    message_fr = "Un graphique ne montre que des montants ou des nombres positifs ou nuls."
    message_en = "A chart only shows amounts or counts that are zero or more."


Value = Money | int


def plain_values(values: Sequence[Value]) -> tuple[int, ...]:
    """Integer cents (or counts) of ``values``: one currency, nothing negative, no float."""
    currencies = {v.currency for v in values if isinstance(v, Money)}
    if len(currencies) > 1:
        raise ChartValueInvalid("several currencies: " + ", ".join(sorted(currencies)))
    out: list[int] = []
    for v in values:
        cents = v.cents if isinstance(v, Money) else v
        # bool is an int: True must not become one.
        if type(cents) is not int or cents < 0:
            raise ChartValueInvalid(repr(v)[:40])
        out.append(cents)
    return tuple(out)


def cumulative(values: Sequence[int]) -> tuple[int, ...]:
    """Running totals: what a campaign had raised at the end of each period."""
    return tuple(accumulate(values))


def nice_step(maximum: int, intervals: int = 4) -> int:
    """The smallest step of 1, 2 or 5 times a power of ten with ``intervals`` steps reaching
    ``maximum`` (1 for an empty or all-zero series)."""
    if maximum < 0 or intervals < 1:
        raise ChartValueInvalid(f"{maximum}/{intervals}")
    raw = -(-maximum // intervals)  # ceiling, in integers: no float ever touches the values
    power = 1
    while True:
        for multiplier in _NICE_MULTIPLIERS:
            if multiplier * power >= raw:
                return multiplier * power
        power *= 10


def nice_ticks(maximum: int, intervals: int = 4) -> tuple[int, ...]:
    """Axis ticks from 0, evenly spaced by a nice step, the last one at or above ``maximum``."""
    step = nice_step(maximum, intervals)
    count = max(1, -(-maximum // step))
    return tuple(step * i for i in range(count + 1))


@dataclass(frozen=True, slots=True)
class Layout:
    """The drawing's size in viewBox units; the page scales it to its width."""

    width: int = 400
    height: int = 220
    font_size: int = 12
    top: int = 12
    right: int = 8
    bottom: int = 22  # room for the category labels under the plot
    gap: float = 0.25  # share of a category's width left empty between groups of bars


@dataclass(frozen=True, slots=True)
class Tick:
    value: int
    label: str
    y: float


@dataclass(frozen=True, slots=True)
class Plot:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.right - self.left


@dataclass(frozen=True, slots=True)
class Bar:
    series: int
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Column:
    """One category (a month, a day) and its bars, one per series."""

    index: int
    label: str
    x: float  # the centre of the category
    show_label: bool  # crowded labels are shown one in every few
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class BarChart:
    layout: Layout
    plot: Plot
    ticks: tuple[Tick, ...]
    columns: tuple[Column, ...]

    @property
    def empty(self) -> bool:
        return all(bar.value == 0 for c in self.columns for bar in c.bars)


@dataclass(frozen=True, slots=True)
class LinePoint:
    index: int
    label: str
    value: int
    x: float
    y: float
    show_label: bool


@dataclass(frozen=True, slots=True)
class LineChart:
    layout: Layout
    plot: Plot
    ticks: tuple[Tick, ...]
    points: tuple[LinePoint, ...]
    reference: int | None  # a level to reach (a campaign's goal), drawn across the plot
    reference_y: float | None

    @property
    def path(self) -> str:
        """The line as SVG path data."""
        return " ".join(
            f"{'M' if i == 0 else 'L'}{px(p.x)},{px(p.y)}" for i, p in enumerate(self.points)
        )


def px(value: float) -> str:
    """A pixel position, short: two decimals are finer than any screen."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _scale(plot: Plot, top: int) -> Callable[[int], float]:
    def y_of(value: int) -> float:
        # The only float step: a pixel height from an exact ratio of integers.
        return plot.bottom - plot.height * value / top

    return y_of


def _ticks(
    maximum: int, tick_label: Callable[[int], str], layout: Layout
) -> tuple[list[int], list[str], Plot]:
    values = list(nice_ticks(maximum))
    labels = [tick_label(v) for v in values]
    widest = max(len(label) for label in labels)
    left = 6 + widest * layout.font_size * _CHAR_WIDTH
    plot = Plot(left, layout.top, layout.width - layout.right, layout.height - layout.bottom)
    return values, labels, plot


def _label_stride(labels: Sequence[str], slot: float, font_size: int) -> int:
    """Show one label in every ``stride`` categories so that none overlaps its neighbour."""
    if not labels or slot <= 0:
        return 1
    widest = max(len(label) for label in labels) * font_size * _CHAR_WIDTH + 4
    stride = 1
    while widest > slot * stride:
        stride += 1
    return stride


def _check_lengths(labels: Sequence[str], series: Sequence[Sequence[Value]]) -> None:
    if not series or any(len(s) != len(labels) for s in series):
        raise ChartValueInvalid("every series needs one value per label")


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Sequence[Value]],
    *,
    tick_label: Callable[[int], str] = str,
    layout: Layout = Layout(),
) -> BarChart:
    """Grouped bars: for each label, one bar per series, side by side, from a zero baseline.

    A value that is not zero is drawn at least one unit high, so a small amount next to a
    large one still shows.
    """
    _check_lengths(labels, series)
    plain = [plain_values(s) for s in series]
    maximum = max((v for s in plain for v in s), default=0)
    values, tick_labels, plot = _ticks(maximum, tick_label, layout)
    y_of = _scale(plot, values[-1])
    slot = plot.width / max(1, len(labels))
    inner = slot * (1 - layout.gap)
    bar_width = inner / len(plain)
    stride = _label_stride(labels, slot, layout.font_size)
    last = len(labels) - 1
    columns = []
    for i, label in enumerate(labels):
        start = plot.left + slot * i + (slot - inner) / 2
        bars = []
        for k, s in enumerate(plain):
            value = s[i]
            y = y_of(value)
            if value and plot.bottom - y < 1:
                y = plot.bottom - 1
            bars.append(Bar(k, value, start + bar_width * k, y, bar_width, plot.bottom - y))
        # Count labels from the newest, the one people look for.
        show = (last - i) % stride == 0
        columns.append(Column(i, label, plot.left + slot * (i + 0.5), show, tuple(bars)))
    ticks = tuple(Tick(v, t, y_of(v)) for v, t in zip(values, tick_labels, strict=True))
    return BarChart(layout, plot, ticks, tuple(columns))


def line_chart(
    labels: Sequence[str],
    values: Sequence[Value],
    *,
    reference: Value | None = None,
    tick_label: Callable[[int], str] = str,
    layout: Layout = Layout(),
) -> LineChart:
    """One line through a point per label, on an axis tall enough for ``reference`` too."""
    _check_lengths(labels, [values])
    plain = plain_values(list(values) + ([reference] if reference is not None else []))
    level = plain[-1] if reference is not None else None
    points_values = plain[: len(labels)]
    maximum = max(plain, default=0)
    ticks, tick_labels, plot = _ticks(maximum, tick_label, layout)
    y_of = _scale(plot, ticks[-1])
    count = len(labels)
    # Points sit mid-slot, as bars do: the first and last labels stay inside the drawing.
    slot = plot.width / max(1, count)
    stride = _label_stride(labels, slot, layout.font_size)
    points = tuple(
        LinePoint(i, label, v, plot.left + slot * (i + 0.5), y_of(v), (count - 1 - i) % stride == 0)
        for i, (label, v) in enumerate(zip(labels, points_values, strict=True))
    )
    return LineChart(
        layout,
        plot,
        tuple(Tick(v, t, y_of(v)) for v, t in zip(ticks, tick_labels, strict=True)),
        points,
        level,
        y_of(level) if level is not None else None,
    )


def month_starts(today: date, months: int) -> tuple[date, ...]:
    """The first days of the ``months`` months ending with ``today``'s, and of the next one:
    ``months + 1`` boundaries, oldest first."""
    if months < 1:
        raise ChartValueInvalid(str(months))
    index = today.year * 12 + today.month - 1 - (months - 1)
    return tuple(date((index + k) // 12, (index + k) % 12 + 1, 1) for k in range(months + 1))


def periods(first: date, end: date) -> tuple[str, tuple[date, ...]]:
    """Boundaries cutting ``first`` up to ``end`` (excluded) into at most about sixty periods:
    days for two months or less, weeks (from ``first``) up to sixty-two of them, else calendar
    months (the first one starting on ``first``). Returns the period's kind and the
    boundaries, oldest first; no period when ``end`` is not after ``first``."""
    if end <= first:
        return "day", (first,)
    span = (end - first).days
    if span <= 62:
        return "day", tuple(date.fromordinal(first.toordinal() + k) for k in range(span + 1))
    if span <= 62 * 7:
        weeks = -(-span // 7)
        bounds = [date.fromordinal(first.toordinal() + 7 * k) for k in range(weeks)]
        return "week", (*bounds, end)
    starts = [first]
    index = first.year * 12 + first.month  # the month after first's, counted from year 0
    while (nxt := date(index // 12, index % 12 + 1, 1)) < end:
        starts.append(nxt)
        index += 1
    return "month", (*starts, end)
