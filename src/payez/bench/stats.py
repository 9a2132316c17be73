"""Several runs of a measure, summed up as a median and a spread, and the JSON rows.

Every benchmark prints one object ``{"results": [...]}``; each row names its ``bench`` and its
``db`` (``null`` for a measure without a database), carries the median of each figure over the
runs, and ``runs`` and ``spread`` (the largest relative distance of a run from the median of
the row's main figure, so "±4 %" reads as ``0.04``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

Row = dict[str, Any]


def median_row(runs: Sequence[Row], main: str) -> Row:
    """One row from several runs of the same case: numbers are medians, the rest is kept."""
    first = runs[0]
    row: Row = {}
    for key, value in first.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            middle = statistics.median(r[key] for r in runs)
            row[key] = round(middle, 3) if isinstance(value, float) else round(middle)
        else:
            row[key] = value
    row["runs"] = len(runs)
    row["spread"] = spread([r[main] for r in runs])
    return row


def spread(values: Sequence[float]) -> float:
    """The largest relative distance of a value from their median (0 for a single value)."""
    middle = statistics.median(values)
    if middle == 0:
        return 0.0
    return round(max(abs(v - middle) for v in values) / middle, 3)


def repeated(
    runs: int, measure: Callable[[], list[Row]], key: Callable[[Row], Any], main: str
) -> list[Row]:
    """Run ``measure`` ``runs`` times; one median row per case (rows matched by ``key``)."""
    by_case: dict[Any, list[Row]] = {}
    for _ in range(max(1, runs)):
        for row in measure():
            by_case.setdefault(key(row), []).append(row)
    return [median_row(rows, main) for rows in by_case.values()]


def with_ratio(rows: list[Row], baseline: list[Row], main: str) -> list[Row]:
    """Add ``baseline_per_s`` and ``ratio_to_baseline`` to each row that has a baseline row of
    the same database and batch size: its main figure over the baseline's commands/s."""
    limits = {(b["db"], b["batch"]): b["commands_per_s"] for b in baseline}
    for row in rows:
        if row.get("offered_per_s", "saturation") != "saturation":
            continue  # at an offered rate, the rate achieved is the rate offered
        limit = limits.get((row.get("db"), row.get("batch")))
        if limit:
            row["baseline_per_s"] = limit
            row["ratio_to_baseline"] = round(row[main] / limit, 3)
    return rows


def percentile(ordered: Sequence[float], share: float) -> float:
    """The value below which ``share`` of the sorted ``ordered`` values fall (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def p50_p99(values_ms: Sequence[float], prefix: str = "") -> Row:
    """``<prefix>p50_ms`` and ``<prefix>p99_ms`` of latencies in milliseconds (0 for none)."""
    ordered = sorted(values_ms)
    if not ordered:
        return {f"{prefix}p50_ms": 0.0, f"{prefix}p99_ms": 0.0}
    return {
        f"{prefix}p50_ms": round(statistics.median(ordered), 1),
        f"{prefix}p99_ms": round(percentile(ordered, 0.99), 1),
    }
