"""Charts as inline SVG, drawn on the server from the geometry of ``domain/charts.py``.

Each chart is a ``<figure>``: an ``<svg role="img">`` named by its ``<title>`` and ``<desc>``,
a legend, and the same figures as a table in a ``<details>`` for screen readers and for anyone
who would rather read. Every bar or point carries its period and exact value as ``data-``
attributes. Colours are CSS custom properties (``--pz-in``, ``--pz-out``, ``--pz-accent``,
``--pz-muted``, ``--pz-grid``, ``--pz-warn``) with fallbacks, so a theme can restyle them; the
drawing scales to its container through its ``viewBox``. Every text is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from markupsafe import Markup, escape

from payez.domain.charts import BarChart, LineChart, Tick, px
from payez.domain.errors import Language
from payez.domain.money import Money
from payez.entrypoints.web.i18n import BABEL_LOCALES

COLOURS = {
    "in": ("--pz-in", "#0a7a2f"),
    "out": ("--pz-out", "#8a1c1c"),
    "accent": ("--pz-accent", "#0b5cad"),
    "muted": ("--pz-muted", "#555"),
    "grid": ("--pz-grid", "#ddd"),
    "warn": ("--pz-warn", "#b35c00"),
}
_SVG_STYLE = "display:block;width:100%;max-width:30rem;height:auto;overflow:visible"


def colour(name: str) -> str:
    variable, fallback = COLOURS[name]
    return f"var({variable},{fallback})"


@dataclass(frozen=True, slots=True)
class SeriesLook:
    key: str  # data-series, and the CSS class pz-series-<key>
    name: str  # as the legend and the table say it
    colour: str  # a name of COLOURS
    opacity: str = ""  # a second series of the same colour stays apart by its opacity


@dataclass(frozen=True, slots=True)
class TableRow:
    period: str  # the machine key: 2026-03, 2026-03-14
    label: str  # as people read it: mars 2026
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Figures:
    """The chart's figures as a table: a header per column, a row per period."""

    caption: str
    period_heading: str
    headings: tuple[str, ...]
    rows: tuple[TableRow, ...]


def money_text(language: Language) -> Callable[[int], str]:
    return lambda cents: Money.eur(cents).format(language)


def plain_count(language: Language) -> Callable[[int], str]:
    """``1\u202f000`` in French, ``1,000`` in English."""
    if language == "fr":
        return lambda n: f"{n:,}".replace(",", "\u202f")
    return lambda n: f"{n:,}"


def axis_money(language: Language) -> Callable[[int], str]:
    """Axis ticks in whole euros when they are: ``1 000 €`` rather than ``1 000,00 €``."""

    def label(cents: int) -> str:
        text = Money.eur(cents).format(language)
        if cents % 100:
            return text
        return text.replace(",00\u00a0", "\u00a0") if language == "fr" else text[:-3]

    return label


def month_label(month: date, language: Language, *, year: bool = False) -> str:
    """``déc.`` or ``Dec`` (``déc. 2026`` with the year), in the reader's language."""
    pattern = "MMM y" if year else "MMM"
    return format_date(month, pattern, locale=BABEL_LOCALES[language])


def day_label(day: date, language: Language, *, month: bool = True) -> str:
    """``6 déc.`` or ``6 Dec`` (the day number alone without ``month``)."""
    return format_date(day, "d MMM" if month else "d", locale=BABEL_LOCALES[language])


def _attrs(values: dict[str, str | int]) -> str:
    return "".join(f' {name}="{escape(str(v))}"' for name, v in values.items())


def _head(chart_id: str, title: str, desc: str, width: int, height: int, font: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img"'
        f' aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc"'
        f' viewBox="0 0 {width} {height}" style="{_SVG_STYLE}"'
        f' font-family="system-ui,sans-serif" font-size="{font}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def _axis(ticks: Sequence[Tick], left: float, right: float) -> list[str]:
    out = [f'<g class="pz-chart-grid" style="stroke:{colour("grid")};stroke-width:1">']
    out += [
        f'<line x1="{px(left)}" x2="{px(right)}" y1="{px(t.y)}" y2="{px(t.y)}"/>' for t in ticks
    ]
    out.append("</g>")
    out.append(f'<g class="pz-chart-axis" style="fill:{colour("muted")}" text-anchor="end">')
    out += [
        f'<text x="{px(left - 4)}" y="{px(t.y + 4)}" data-tick="{t.value}">{escape(t.label)}</text>'
        for t in ticks
    ]
    out.append("</g>")
    return out


def _legend(series: Sequence[SeriesLook]) -> str:
    items = []
    for s in series:
        swatch = f"background:{colour(s.colour)}" + (f";opacity:{s.opacity}" if s.opacity else "")
        items.append(
            f'<span class="pz-legend-item"><span aria-hidden="true" class="pz-swatch"'
            f' style="display:inline-block;width:.8em;height:.8em;margin-right:.3em;{swatch}">'
            f"</span>{escape(s.name)}</span>"
        )
    return (
        '<figcaption class="pz-legend muted" style="display:flex;gap:.3rem 1rem;flex-wrap:wrap">'
        + "".join(items)
        + "</figcaption>"
    )


def _table(chart_id: str, figures: Figures, show_figures: str) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in figures.headings)
    rows = "".join(
        f'<tr data-period="{escape(r.period)}"><th scope="row">{escape(r.label)}</th>'
        + "".join(f"<td>{escape(c)}</td>" for c in r.cells)
        + "</tr>"
        for r in figures.rows
    )
    return (
        f'<details class="pz-chart-figures"><summary>{escape(show_figures)}</summary>'
        f'<div style="overflow-x:auto"><table id="{escape(chart_id)}-table">'
        f"<caption>{escape(figures.caption)}</caption>"
        f'<thead><tr><th scope="col">{escape(figures.period_heading)}</th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div></details>"
    )


def bar_chart_svg(
    chart: BarChart,
    *,
    chart_id: str,
    title: str,
    desc: str,
    series: Sequence[SeriesLook],
    periods: Sequence[str],
    unit: str,
    value_text: Callable[[int], str],
    figures: Figures,
    show_figures: str,
    extra: Sequence[dict[str, str | int]] = (),
) -> Markup:
    """``unit`` names the bars' value attribute: ``cents`` (data-cents) or ``count``.
    ``extra`` adds attributes to each period's group (a count next to an amount, say)."""
    layout, plot = chart.layout, chart.plot
    out = [f'<figure class="pz-chart" id="{escape(chart_id)}" style="margin:0 0 1rem">']
    out += _head(chart_id, title, desc, layout.width, layout.height, layout.font_size)
    out += _axis(chart.ticks, plot.left, plot.right)
    out.append('<g class="pz-chart-bars">')
    for column, period in zip(chart.columns, periods, strict=True):
        more = extra[column.index] if extra else {}
        out.append(f"<g{_attrs({'data-period': period, 'data-label': column.label, **more})}>")
        for bar in column.bars:
            look = series[bar.series]
            style = f"fill:{colour(look.colour)}" + (
                f";fill-opacity:{look.opacity}" if look.opacity else ""
            )
            tip = f"{column.label} · {look.name} : {value_text(bar.value)}"
            out.append(
                f'<rect class="pz-bar pz-series-{escape(look.key)}" data-period="{escape(period)}"'
                f' data-series="{escape(look.key)}" data-{unit}="{bar.value}"'
                f' x="{px(bar.x)}" y="{px(bar.y)}" width="{px(bar.width)}"'
                f' height="{px(bar.height)}" style="{style}"><title>{escape(tip)}</title></rect>'
            )
        out.append("</g>")
    out.append("</g>")
    out += _category_labels(
        [(c.x, c.label, c.show_label) for c in chart.columns], layout.height - 6
    )
    out.append(_baseline(plot.left, plot.right, plot.bottom))
    out.append("</svg>")
    out.append(_legend(series))
    out.append(_table(chart_id, figures, show_figures))
    out.append("</figure>")
    return Markup("".join(out))


def line_chart_svg(
    chart: LineChart,
    *,
    chart_id: str,
    title: str,
    desc: str,
    line: SeriesLook,
    reference: SeriesLook | None,
    periods: Sequence[str],
    value_text: Callable[[int], str],
    figures: Figures,
    show_figures: str,
) -> Markup:
    """A line of exact amounts (data-cents on each point) and, when given, a dashed level."""
    layout, plot = chart.layout, chart.plot
    out = [f'<figure class="pz-chart" id="{escape(chart_id)}" style="margin:0 0 1rem">']
    out += _head(chart_id, title, desc, layout.width, layout.height, layout.font_size)
    out += _axis(chart.ticks, plot.left, plot.right)
    if reference is not None and chart.reference is not None and chart.reference_y is not None:
        y = px(chart.reference_y)
        out.append(
            f'<line class="pz-reference" data-cents="{chart.reference}" x1="{px(plot.left)}"'
            f' x2="{px(plot.right)}" y1="{y}" y2="{y}" style="stroke:{colour(reference.colour)};'
            f'stroke-width:2;stroke-dasharray:6 4"><title>{escape(reference.name)} : '
            f"{escape(value_text(chart.reference))}</title></line>"
        )
    if chart.points:
        out.append(
            f'<path class="pz-line" d="{chart.path}" style="fill:none;'
            f'stroke:{colour(line.colour)};stroke-width:2.5;stroke-linejoin:round"/>'
        )
    out.append('<g class="pz-chart-points">')
    for point, period in zip(chart.points, periods, strict=True):
        tip = f"{point.label} · {line.name} : {value_text(point.value)}"
        out.append(
            f'<circle class="pz-point" data-period="{escape(period)}"'
            f' data-label="{escape(point.label)}" data-cents="{point.value}"'
            f' cx="{px(point.x)}" cy="{px(point.y)}" r="3" style="fill:{colour(line.colour)}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    out.append("</g>")
    out += _category_labels([(p.x, p.label, p.show_label) for p in chart.points], layout.height - 6)
    out.append(_baseline(plot.left, plot.right, plot.bottom))
    out.append("</svg>")
    out.append(_legend([line, reference] if reference is not None else [line]))
    out.append(_table(chart_id, figures, show_figures))
    out.append("</figure>")
    return Markup("".join(out))


def _category_labels(labels: Sequence[tuple[float, str, bool]], y: float) -> list[str]:
    out = [f'<g class="pz-chart-axis" style="fill:{colour("muted")}" text-anchor="middle">']
    out += [
        f'<text x="{px(x)}" y="{px(y)}">{escape(text)}</text>' for x, text, shown in labels if shown
    ]
    out.append("</g>")
    return out


def _baseline(left: float, right: float, y: float) -> str:
    return (
        f'<line class="pz-chart-baseline" x1="{px(left)}" x2="{px(right)}" y1="{px(y)}"'
        f' y2="{px(y)}" style="stroke:{colour("muted")};stroke-width:1"/>'
    )
